"""Sending one journey message exactly once.

The message row is written (status ``sending``) before the provider is called and
settled after. A retry that finds a settled row returns its outcome; one that finds
``sending`` (the worker died mid-call) sends again with the same idempotency key,
which providers that accept one deduplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from channels.base import ErrorKind, OutboundMessage, SendResult
from engine.delivery.consent import ADDRESS_FIELDS, halted_reason, is_opted_out, learn_from_failure
from engine.delivery.pressure import Cap, cap_reached, next_local_day
from engine.delivery.templating import (
    DEFAULT_OPT_OUT_LINE,
    TemplateProblem,
    render,
    render_params,
    with_opt_out_line,
)
from engine.delivery.unsubscribe import unsubscribe_url
from engine.runtime.member_facts import points_balance
from engine.store.models import (
    Coupon,
    CouponTemplate,
    JourneyRecord,
    Member,
    MessageLog,
    MessageTemplate,
    utcnow,
)
from journeys.model import SendMessage

__all__ = ["Prepared", "SendPolicy", "prepare_message", "settle_message"]

_SETTLED_OK = ("accepted", "delivered")


@dataclass(frozen=True)
class SendPolicy:
    """The brand's rules for every send, from the settings: frequency caps across
    journeys and the opt-out line marketing SMS must carry."""

    caps: tuple[Cap, ...] = ()
    sms_opt_out_line: str = DEFAULT_OPT_OUT_LINE


_DEFAULT_POLICY = SendPolicy()


@dataclass(frozen=True)
class Prepared:
    """Either a message to hand to the channel, or the outcome already known; a send
    over a cap in ``defer`` mode has no row yet and says when to try again."""

    message: OutboundMessage | None
    skipped_reason: str | None = None
    defer_until: datetime | None = None


def _context(session: Session, member: Member, workflow_id: str, journey_id: str) -> dict[str, Any]:
    """The variables of ``engine.delivery.templating.sample_context``, for a real member."""
    coupon = session.exec(
        select(Coupon)
        .where(
            Coupon.member_id == member.id,  # indexed; the key prefix narrows to this run
            col(Coupon.idempotency_key).startswith(workflow_id + ":"),
        )
        .order_by(col(Coupon.issued_at).desc(), col(Coupon.id).desc())
    ).first()
    coupon_vars: dict[str, Any] = {}
    if coupon is not None:
        template = session.get(CouponTemplate, coupon.template_id)
        coupon_vars = {
            "code": coupon.code,
            "name": template.name if template else coupon.template_id,
            "value": template.value if template else None,
            "threshold": template.threshold if template else None,
            "expires_at": coupon.expires_at.strftime("%Y-%m-%d"),
        }
    member_id = member.id
    assert member_id is not None

    def journey_name() -> str:
        journey = session.get(JourneyRecord, journey_id)
        return journey.name if journey else journey_id

    return {
        "member": _OnDemand(
            {
                "external_id": member.external_id,
                "first_name": member.first_name or "",
                "phone": member.phone,
                "email": member.email,
                "attributes": member.attributes,
            },
            points=lambda: points_balance(session, member_id),
        ),
        "coupon": coupon_vars,
        "journey": _OnDemand({"id": journey_id}, name=journey_name),
    }


class _OnDemand(dict[str, Any]):
    """Template variables that cost a query, computed only when a template reads them:
    most messages never mention points or the journey's name."""

    def __init__(self, values: dict[str, Any], **loaders: Callable[[], Any]) -> None:
        super().__init__(values)
        self._loaders = loaders

    def __missing__(self, key: str) -> Any:
        if key not in self._loaders:
            raise KeyError(key)
        value = self[key] = self._loaders[key]()
        return value


def _blocked(
    session: Session, node: SendMessage, member_id: int, template: MessageTemplate | None, to: str
) -> str | None:
    """Why this message must not go out at all, checked before anything is rendered."""
    if template is None:
        return "unknown_template"
    if halted_reason(session, node.channel) is not None:
        return "channel_halted"
    if is_opted_out(session, member_id, node.channel, node.purpose):
        return "opted_out"
    if not to:
        return "no_address"
    return None


def prepare_message(
    session: Session,
    node: SendMessage,
    member_id: int,
    key: str,
    workflow_id: str,
    journey_id: str,
    *,
    at: datetime | None = None,
    policy: SendPolicy = _DEFAULT_POLICY,
    on_cap: str = "skip",
) -> Prepared:
    """Writes the message row (or finds it) in the caller's transaction. ``at`` is when
    the journey sends it (the workflow's clock): caps count the member's day around it."""
    existing = session.exec(select(MessageLog).where(MessageLog.idempotency_key == key)).first()
    if existing is not None and existing.status != "sending":
        earlier = None if existing.status in _SETTLED_OK else existing.error_kind or "failed"
        return Prepared(None, earlier)
    at = at or utcnow()
    member = session.get(Member, member_id)
    template = session.get(MessageTemplate, node.template)
    assert member is not None
    recipient = getattr(member, ADDRESS_FIELDS[node.channel]) or ""
    row = existing or MessageLog(
        idempotency_key=key,
        member_id=member_id,
        journey_id=journey_id,
        node_id=node.id,
        channel=node.channel,
        template_id=node.template,
        purpose=node.purpose,
        recipient=recipient,
        body="",
        created_at=at,
        updated_at=at,
    )
    reason = _blocked(session, node, member_id, template, recipient)
    params: dict[str, str] = {}
    if reason is None and template is not None:
        try:
            context = _context(session, member, workflow_id, journey_id)
            row.body = render(template.body, context)
            row.subject = render(template.subject, context) if template.subject else None
            params = render_params(template.params, context)
        except TemplateProblem as exc:
            reason, row.error = "bad_template", str(exc)
    marketing = node.purpose == "marketing"
    if reason is None and node.channel == "sms" and marketing:
        row.body = with_opt_out_line(row.body, policy.sms_opt_out_line)
    # A retry of a row already written passed the cap when it was written.
    if (
        reason is None
        and existing is None
        and marketing
        and cap_reached(session, member_id, node.channel, member.timezone, policy.caps, at)
    ):
        if on_cap == "defer":
            return Prepared(None, "frequency_cap", next_local_day(at, member.timezone))
        reason = "frequency_cap"
    if reason is not None:
        row.status, row.error_kind = "skipped", reason
    session.add(row)
    if reason is not None or template is None:
        return Prepared(None, reason)
    data = {"template_id": template.provider_template or template.id, **params}
    if node.channel == "email" and marketing:  # the SMTP adapter makes List-Unsubscribe of it
        data["unsubscribe_url"] = unsubscribe_url(member_id, node.channel, node.purpose)
    return Prepared(
        OutboundMessage(
            channel=node.channel,
            to=row.recipient,
            body=row.body,
            subject=row.subject,
            idempotency_key=key,
            purpose=node.purpose,
            data=data,
        )
    )


def settle_message(session: Session, key: str, result: SendResult) -> str | None:
    """Records the provider's answer; for a final refusal also what it teaches about the
    member or channel (``consent.learn_from_failure``), returning the skip reason."""
    row = session.exec(select(MessageLog).where(MessageLog.idempotency_key == key)).one()
    row.updated_at = utcnow()
    reason = None
    if result.accepted:
        row.provider_message_id = result.provider_message_id
        if row.status == "sending":  # a receipt may have settled it first (Aliyun OutId)
            row.status = "accepted"
    elif result.error is not None and not result.error.kind.retryable:
        row.status, row.error_kind, row.error = "failed", result.error.kind, result.error.message
        reason = learn_from_failure(session, row.member_id, row.channel, row.purpose, result.error)
    else:
        row.error_kind = result.error.kind if result.error else ErrorKind.TRANSIENT
        row.error = result.error.message if result.error else None
    session.add(row)
    return reason
