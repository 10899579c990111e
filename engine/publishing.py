"""A journey's life in the store: draft, validated publish into an immutable version,
and status changes (live, paused, stopped).

Publishing never touches members in flight: they keep running the version they
entered, and only new entrants get the new version.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from engine.config import get_settings
from engine.delivery.templating import TemplateIssue, check_template
from engine.store.models import (
    CouponTemplate,
    JourneyRecord,
    JourneyVersion,
    MessageTemplate,
    Tag,
    utcnow,
)
from journeys.model import Journey, SendMessage
from journeys.validate import Catalog, Problem, validate

__all__ = [
    "InvalidJourney",
    "StatusConflict",
    "lint_journey",
    "load_catalog",
    "publish",
    "save_draft",
    "set_status",
    "template_problems",
    "versions",
]

_TRANSITIONS = {
    "pause": ({"live"}, "paused"),
    "resume": ({"paused"}, "live"),
    "stop": ({"live", "paused"}, "stopped"),
}


class InvalidJourney(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


class StatusConflict(ValueError):
    """The journey is not in a state where that change makes sense."""


def load_catalog(session: Session) -> Catalog:
    templates = session.exec(select(MessageTemplate.id, MessageTemplate.channel)).all()
    by_channel: dict[str, set[str]] = {}
    for template_id, channel in templates:
        by_channel.setdefault(channel, set()).add(template_id)
    return Catalog(
        templates=frozenset(t for t, _ in templates),
        coupons=frozenset(session.exec(select(CouponTemplate.id)).all()),
        tags=frozenset(session.exec(select(Tag.name)).all()),
        templates_by_channel={c: frozenset(ids) for c, ids in by_channel.items()},
    )


def _template_issues(session: Session, journey: Journey) -> list[tuple[str, TemplateIssue]]:
    """Each send node's template checked as that node would send it (marketing SMS
    with the opt-out line); unknown templates are reported by ``validate``."""
    found = []
    opt_out_line = get_settings().sms_opt_out_line
    for node in journey.nodes:
        if not isinstance(node, SendMessage):
            continue
        template = session.get(MessageTemplate, node.template)
        if template is None:
            continue
        line = opt_out_line if node.purpose == "marketing" else ""
        for issue in check_template(
            node.channel, template.subject, template.body, opt_out_line=line, params=template.params
        ):
            found.append((node.id, issue))
    return found


def template_problems(session: Session, journey: Journey) -> list[Problem]:
    """Templates that cannot be sent (syntax, unknown variable, sandbox escape): they
    block publishing, code ``template_error`` on the node that uses them."""
    return [
        Problem(node_id, "template_error", f"{issue.code}: {issue.message}")
        for node_id, issue in _template_issues(session, journey)
        if issue.severity == "error"
    ]


def lint_journey(session: Session, journey: Journey) -> list[Problem]:
    """Warnings that do not block publishing (an SMS over one segment, WeChat content
    too long), for the editor to show next to the node."""
    return [
        Problem(node_id, issue.code, issue.message)
        for node_id, issue in _template_issues(session, journey)
        if issue.severity == "warning"
    ]


def save_draft(session: Session, journey: Journey) -> JourneyRecord:
    """Drafts may be incomplete; they are validated on publish (and on demand)."""
    record = session.get(JourneyRecord, journey.id)
    if record is None:
        record = JourneyRecord(id=journey.id, name=journey.name)
    elif record.status == "stopped":
        raise StatusConflict(f"journey {journey.id} is stopped; create a new journey")
    record.name = journey.name
    record.draft = journey.model_dump(mode="json")
    record.updated_at = utcnow()
    session.add(record)
    return record


def publish(session: Session, journey_id: str) -> JourneyVersion:
    record = session.get(JourneyRecord, journey_id)
    if record is None:
        raise LookupError(f"journey {journey_id} does not exist")
    if record.status == "stopped":
        raise StatusConflict(f"journey {journey_id} is stopped and cannot be published")
    journey = Journey.model_validate(record.draft)
    problems = validate(journey, load_catalog(session)) + template_problems(session, journey)
    if problems:
        raise InvalidJourney(problems)
    latest = session.exec(
        select(func.max(JourneyVersion.version)).where(JourneyVersion.journey_id == journey_id)
    ).one()
    version = JourneyVersion(
        journey_id=journey_id,
        version=(latest or 0) + 1,
        definition=journey.model_dump(mode="json"),
    )
    session.add(version)
    record.live_version = version.version
    if record.status == "draft":
        record.status = "live"
    record.updated_at = utcnow()
    session.add(record)
    return version


def set_status(session: Session, journey_id: str, action: str) -> JourneyRecord:
    record = session.get(JourneyRecord, journey_id)
    if record is None:
        raise LookupError(f"journey {journey_id} does not exist")
    allowed, target = _TRANSITIONS[action]
    if record.status not in allowed:
        raise StatusConflict(
            f"cannot {action} journey {journey_id}: it is {record.status}"
            f" (only {', '.join(sorted(allowed))} journeys can be {target})"
        )
    record.status = target
    record.updated_at = utcnow()
    session.add(record)
    return record


def versions(session: Session, journey_id: str) -> list[dict[str, Any]]:
    rows = session.exec(
        select(JourneyVersion)
        .where(JourneyVersion.journey_id == journey_id)
        .order_by(col(JourneyVersion.version))
    ).all()
    return [{"version": v.version, "published_at": v.published_at} for v in rows]
