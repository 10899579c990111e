"""Delivery receipts applied to the message log.

A send settles as ``accepted`` (the provider took it); the receipt pushed back later says
whether the handset or the WeChat user actually got it. Providers push the same receipt
more than once and not always in order, so a message that already has a final status
keeps it: the first final word wins and a message is never moved back to ``accepted``.
"""

from __future__ import annotations

from typing import Literal

from sqlmodel import Session, select

from channels.base import ErrorKind
from channels.receipts import Receipt, ReceiptStatus
from channels.sms_twilio import ERRORS as TWILIO_ERRORS
from engine.delivery.consent import record_consent
from engine.store.models import MessageLog, utcnow

__all__ = ["ReceiptOutcome", "apply_receipt", "apply_receipts", "find_message"]

ReceiptOutcome = Literal["applied", "duplicate", "unknown"]

_OPEN = frozenset({"sending", "accepted"})
"""``sending`` too: a receipt matched by our own key may beat the settle after the call."""

_WECHAT_REFUSALS = frozenset({"user block"})
"""WeChat's ``failed:user block``: the member blocked the account's template messages."""


def find_message(
    session: Session, receipt: Receipt, channel: str | None = None
) -> MessageLog | None:
    """By the provider's id, else by our idempotency key where the provider echoes it
    (Aliyun ``out_id``). ``channel`` keeps one provider's ids from matching another's."""
    query = select(MessageLog).where(MessageLog.provider_message_id == receipt.provider_message_id)
    if channel is not None:
        query = query.where(MessageLog.channel == channel)
    row = session.exec(query).first()
    if row is None and receipt.correlation_id:
        row = session.exec(
            select(MessageLog).where(MessageLog.idempotency_key == receipt.correlation_id)
        ).first()
    return row


def _refusal_source(channel: str, reason: str | None) -> str | None:
    """The consent source when a failure means the member refused us, else ``None``.

    Only refusals become opt-outs: a dead handset or a carrier filter says nothing about
    what the member wants. Twilio codes are classified by the adapter's own table, so
    21610 (replied STOP) means the same here as on a send.
    """
    if reason is None:
        return None
    refused = (channel == "wechat" and reason in _WECHAT_REFUSALS) or (
        channel == "sms" and TWILIO_ERRORS.kind(reason) is ErrorKind.OPTED_OUT
    )
    return f"{channel}_{reason.replace(' ', '_')}"[:64] if refused else None


def apply_receipt(session: Session, receipt: Receipt, channel: str | None = None) -> ReceiptOutcome:
    """Moves the matching message to ``delivered`` or ``failed`` in the caller's
    transaction; ``duplicate`` when it already has a final status (nothing changes),
    ``unknown`` when no message matches (not ours, or sent before the log existed)."""
    row = find_message(session, receipt, channel)
    if row is None:
        return "unknown"
    if row.status not in _OPEN:
        return "duplicate"
    row.status, row.updated_at = str(receipt.status), utcnow()
    if row.provider_message_id is None:
        row.provider_message_id = receipt.provider_message_id
    if receipt.status is ReceiptStatus.FAILED:
        source = _refusal_source(row.channel, receipt.reason)
        row.error_kind = ErrorKind.OPTED_OUT if source else "undelivered"
        row.error = receipt.reason
        if source is not None:
            record_consent(session, row.member_id, row.channel, source, purpose=row.purpose)
    session.add(row)
    return "applied"


def apply_receipts(session: Session, receipts: list[Receipt], channel: str) -> list[ReceiptOutcome]:
    """One push may carry many receipts (Aliyun, Tencent batch them); all in one
    transaction, so a push the provider retries after a failure is applied whole."""
    return [apply_receipt(session, receipt, channel) for receipt in receipts]
