"""Sending one journey message exactly once.

The message row is written (status ``sending``) before the provider is called and
settled after. A retry that finds a settled row returns its outcome; one that finds
``sending`` (the worker died mid-call) sends again with the same idempotency key,
which providers that accept one deduplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from channels.base import ErrorKind, OutboundMessage, SendResult
from engine.models import Coupon, CouponTemplate, Member, MessageLog, MessageTemplate, utcnow
from engine.templating import TemplateProblem, render
from journeys.model import SendMessage

__all__ = ["Prepared", "prepare_message", "settle_message"]

_ADDRESS = {"sms": "phone", "email": "email", "wechat": "wechat_openid"}
_SETTLED_OK = ("accepted", "delivered")


@dataclass(frozen=True)
class Prepared:
    """Either a message to hand to the channel, or the outcome already known."""

    message: OutboundMessage | None
    skipped_reason: str | None = None


def _context(session: Session, member: Member, workflow_id: str, journey_id: str) -> dict[str, Any]:
    coupon = session.exec(
        select(Coupon)
        .where(col(Coupon.idempotency_key).startswith(workflow_id + ":"))
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
    return {
        "member": {
            "external_id": member.external_id,
            "first_name": member.first_name or "",
            "phone": member.phone,
            "email": member.email,
            "attributes": member.attributes,
        },
        "coupon": coupon_vars,
        "journey": {"id": journey_id},
    }


def prepare_message(
    session: Session, node: SendMessage, member_id: int, key: str, workflow_id: str, journey_id: str
) -> Prepared:
    existing = session.exec(select(MessageLog).where(MessageLog.idempotency_key == key)).first()
    if existing is not None and existing.status != "sending":
        earlier = None if existing.status in _SETTLED_OK else existing.error_kind or "failed"
        return Prepared(None, earlier)
    member = session.get(Member, member_id)
    template = session.get(MessageTemplate, node.template)
    assert member is not None
    recipient = getattr(member, _ADDRESS[node.channel])
    row = existing or MessageLog(
        idempotency_key=key,
        member_id=member_id,
        journey_id=journey_id,
        node_id=node.id,
        channel=node.channel,
        template_id=node.template,
        recipient=recipient or "",
        body="",
    )
    reason: str | None = None
    if template is None:
        reason = "unknown_template"
    elif not recipient:
        reason = "no_address"
    else:
        try:
            context = _context(session, member, workflow_id, journey_id)
            row.body = render(template.body, context)
            row.subject = render(template.subject, context) if template.subject else None
        except TemplateProblem as exc:
            reason, row.error = "bad_template", str(exc)
    if reason is not None:
        row.status, row.error_kind = "skipped", reason
    session.add(row)
    if reason is not None:
        return Prepared(None, reason)
    data = {"template_id": template.provider_template or template.id} if template else {}
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


def settle_message(session: Session, key: str, result: SendResult) -> None:
    row = session.exec(select(MessageLog).where(MessageLog.idempotency_key == key)).one()
    row.updated_at = utcnow()
    if result.accepted:
        row.status, row.provider_message_id = "accepted", result.provider_message_id
    elif result.error is not None and not result.error.kind.retryable:
        row.status, row.error_kind, row.error = "failed", result.error.kind, result.error.message
    else:
        row.error_kind = result.error.kind if result.error else ErrorKind.TRANSIENT
        row.error = result.error.message if result.error else None
    session.add(row)
