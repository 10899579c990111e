"""Twilio Programmable Messaging: ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

Unlike the Chinese providers Twilio sends free text, so ``message.body`` is what the
member reads (the journey puts the opt-out line in it). Twilio has no idempotency key on
message creation: a send retried after a timeout may be delivered twice, which is why only
timeouts and 5xx are retried at all. Delivery receipts arrive on ``StatusCallback`` and are
authenticated with :func:`verify_twilio_signature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from channels.base import ErrorKind, OutboundMessage, SendResult
from channels.provider import (
    CodeTable,
    ProviderClient,
    json_object,
    retry_after_seconds,
    status_failure,
    unparseable,
)

__all__ = ["TwilioConfig", "TwilioSmsChannel", "twilio_signature", "verify_twilio_signature"]

ERRORS = CodeTable(
    exact={
        "21610": ErrorKind.OPTED_OUT,  # recipient replied STOP
        "21211": ErrorKind.PERMANENT,  # invalid To number
        "21614": ErrorKind.PERMANENT,  # To is not a mobile number
        "21612": ErrorKind.PERMANENT,  # cannot route to this number
        "30003": ErrorKind.PERMANENT,  # unreachable handset
        "30005": ErrorKind.PERMANENT,  # unknown destination
        "30006": ErrorKind.PERMANENT,  # landline or unreachable carrier
        "20003": ErrorKind.BAD_CONFIG,  # authentication failed
        "20404": ErrorKind.BAD_CONFIG,  # account or resource not found
        "21606": ErrorKind.BAD_CONFIG,  # From is not one of our numbers
        "21408": ErrorKind.BAD_CONFIG,  # region not enabled on the account
        "20005": ErrorKind.HALTED,  # account not active (suspended, unpaid)
        "20429": ErrorKind.RATE_LIMITED,
        "30001": ErrorKind.RATE_LIMITED,  # queue overflow
        "21602": ErrorKind.BAD_CONTENT,  # body required
        "21617": ErrorKind.BAD_CONTENT,  # body too long
        "30007": ErrorKind.BAD_CONTENT,  # carrier filtering
    },
    retry_after={"30001": 60.0},
)


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    base_url: str = "https://api.twilio.com"
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if not (self.from_number or self.messaging_service_sid):
            raise ValueError("Twilio needs a From number or a MessagingServiceSid")


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature: HMAC-SHA1 of the full URL followed by each POST parameter's
    name and value, sorted by name, base64-encoded."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_twilio_signature(
    url: str, params: Mapping[str, str], signature: str, auth_token: str
) -> bool:
    return hmac.compare_digest(twilio_signature(url, params, auth_token), signature)


class TwilioSmsChannel:
    name = "sms"

    def __init__(
        self,
        config: TwilioConfig,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._http = ProviderClient(config.base_url, config.timeout, client, transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _form(self, message: OutboundMessage) -> dict[str, str]:
        form = {"To": message.to, "Body": message.body}
        if self.config.messaging_service_sid:
            form["MessagingServiceSid"] = self.config.messaging_service_sid
        else:
            form["From"] = self.config.from_number or ""
        if self.config.status_callback:
            form["StatusCallback"] = self.config.status_callback
        return form

    async def send(self, message: OutboundMessage) -> SendResult:
        response = await self._http.request(
            "POST",
            f"/2010-04-01/Accounts/{self.config.account_sid}/Messages.json",
            data=self._form(message),
            auth=(self.config.account_sid, self.config.auth_token),
        )
        if isinstance(response, SendResult):
            return response
        if failure := status_failure(response):
            return failure
        body = json_object(response)
        if body is None:
            return unparseable(response)
        if response.is_success and body.get("sid"):
            return SendResult.ok(str(body["sid"]))
        if "code" not in body:
            return unparseable(response)
        return ERRORS.failed(
            str(body["code"]),
            str(body.get("message", "")),
            retry_after=retry_after_seconds(response.headers),
        )
