"""Delivery receipts pushed back by providers, parsed into one shape.

Pure functions over the request body: the web layer authenticates the push (see
``verify_twilio_signature`` / ``verify_wechat_signature``), hands the body here, and
matches a :class:`Receipt` to its send by ``provider_message_id`` (the id the adapter
returned) or, where the provider echoes it, by ``correlation_id`` (our idempotency key).
Malformed input raises :class:`ReceiptError` so the route can answer 400 and the
provider retries or alerts, rather than the receipt being silently dropped.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "Receipt",
    "ReceiptError",
    "ReceiptStatus",
    "parse_aliyun_reports",
    "parse_tencent_reports",
    "parse_twilio_status",
    "parse_wechat_template_event",
]


class ReceiptStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Receipt:
    provider_message_id: str
    status: ReceiptStatus
    reason: str | None = None
    correlation_id: str | None = None
    recipient: str | None = None


class ReceiptError(ValueError):
    """The push is not a receipt we understand."""


def _json_list(body: str | bytes) -> list[dict[str, Any]]:
    try:
        items = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReceiptError(f"not JSON: {exc}") from exc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ReceiptError("expected a JSON list of objects")
    return items


def _required(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise ReceiptError(f"missing {key!r}")
    return str(value)


def parse_aliyun_reports(body: str | bytes) -> list[Receipt]:
    """Aliyun SmsReport push: ``success`` plus ``err_code``; ``out_id`` is our key."""
    receipts = []
    for item in _json_list(body):
        success = item.get("success")
        if not isinstance(success, bool):
            raise ReceiptError("'success' must be a boolean")
        receipts.append(
            Receipt(
                provider_message_id=_required(item, "biz_id"),
                status=ReceiptStatus.DELIVERED if success else ReceiptStatus.FAILED,
                reason=None if success else str(item.get("err_code") or "unknown"),
                correlation_id=item.get("out_id") or None,
                recipient=item.get("phone_number"),
            )
        )
    return receipts


def parse_tencent_reports(body: str | bytes) -> list[Receipt]:
    """Tencent status callback: ``sid`` is the SerialNo that SendSms returned."""
    receipts = []
    for item in _json_list(body):
        report = item.get("report_status")
        if report not in ("SUCCESS", "FAIL"):
            raise ReceiptError(f"unknown report_status {report!r}")
        receipts.append(
            Receipt(
                provider_message_id=_required(item, "sid"),
                status=ReceiptStatus.DELIVERED if report == "SUCCESS" else ReceiptStatus.FAILED,
                reason=None if report == "SUCCESS" else str(item.get("errmsg") or "unknown"),
                recipient=item.get("mobile"),
            )
        )
    return receipts


_TWILIO_FINAL = {
    "delivered": ReceiptStatus.DELIVERED,
    "read": ReceiptStatus.DELIVERED,
    "undelivered": ReceiptStatus.FAILED,
    "failed": ReceiptStatus.FAILED,
    "canceled": ReceiptStatus.FAILED,
}
_TWILIO_INTERIM = frozenset({"accepted", "scheduled", "queued", "sending", "sent"})


def parse_twilio_status(params: Mapping[str, str]) -> Receipt | None:
    """A StatusCallback form; ``None`` for interim statuses (queued, sent...), which
    Twilio also posts but which say nothing final about delivery."""
    status = params.get("MessageStatus", "")
    if status in _TWILIO_INTERIM:
        return None
    if status not in _TWILIO_FINAL:
        raise ReceiptError(f"unknown MessageStatus {status!r}")
    final = _TWILIO_FINAL[status]
    return Receipt(
        provider_message_id=_required(params, "MessageSid"),
        status=final,
        reason=(params.get("ErrorCode") or status) if final is ReceiptStatus.FAILED else None,
        recipient=params.get("To"),
    )


def parse_wechat_template_event(body: str | bytes) -> Receipt | None:
    """A TEMPLATESENDJOBFINISH push; ``None`` for any other event on the same URL.

    Status is ``success``, ``failed:user block`` (the member blocked the account) or
    ``failed: system failed``; the failure text after ``failed:`` becomes the reason.
    """
    text = body.decode() if isinstance(body, bytes) else body
    if "<!DOCTYPE" in text.upper():
        raise ReceiptError("DTDs are not accepted")  # no entity-expansion games
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ReceiptError(f"not XML: {exc}") from exc
    if root.findtext("Event") != "TEMPLATESENDJOBFINISH":
        return None
    status = (root.findtext("Status") or "").strip()
    if status == "success":
        final, reason = ReceiptStatus.DELIVERED, None
    elif status.startswith("failed:"):
        final, reason = ReceiptStatus.FAILED, status.removeprefix("failed:").strip()
    else:
        raise ReceiptError(f"unknown Status {status!r}")
    return Receipt(
        provider_message_id=_required({"MsgID": root.findtext("MsgID")}, "MsgID"),
        status=final,
        reason=reason,
        recipient=root.findtext("FromUserName"),
    )
