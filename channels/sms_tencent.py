"""Tencent Cloud SMS: ``SendSms`` (API 3.0, version 2021-01-11) signed with TC3-HMAC-SHA256.

Templates are positional (``{1}``, ``{2}``...), so ``data["1"]``, ``data["2"]``... fill
them in order and ``data["template_id"]`` picks the approved template. Tencent answers
HTTP 200 even for errors: a request-level ``Response.Error`` or a per-number
``SendStatusSet[].Code``; both use the same code vocabulary. ``SessionContext`` carries our
idempotency key for tracing; Tencent does not deduplicate on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from channels.base import ErrorKind, OutboundMessage, SendResult
from channels.provider import CodeTable, ProviderClient, json_object, status_failure, unparseable

__all__ = ["TencentSmsChannel", "TencentSmsConfig", "tc3_authorization"]

SERVICE = "sms"
ACTION = "SendSms"
API_VERSION = "2021-01-11"
TEMPLATE_KEY = "template_id"
CONTENT_TYPE = "application/json; charset=utf-8"

ERRORS = CodeTable(
    exact={
        "FailedOperation.InsufficientBalanceInSmsPackage": ErrorKind.HALTED,
        "FailedOperation.TemplateIncorrectOrUnapproved": ErrorKind.BAD_CONTENT,
        "FailedOperation.SignatureIncorrectOrUnapproved": ErrorKind.BAD_CONTENT,
        "FailedOperation.ContainSensitiveWord": ErrorKind.BAD_CONTENT,
        "InvalidParameterValue.TemplateParameterFormatError": ErrorKind.BAD_CONTENT,
        "InvalidParameterValue.TemplateParameterLengthLimit": ErrorKind.BAD_CONTENT,
        "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter": ErrorKind.BAD_CONTENT,
        "FailedOperation.PhoneNumberInBlacklist": ErrorKind.OPTED_OUT,
        "InvalidParameterValue.IncorrectPhoneNumber": ErrorKind.PERMANENT,
        "FailedOperation.PhoneNumberParseFail": ErrorKind.PERMANENT,
        "InvalidParameterValue.SdkAppIdNotExist": ErrorKind.BAD_CONFIG,
        "RequestLimitExceeded": ErrorKind.RATE_LIMITED,
    },
    prefixes={
        "AuthFailure.": ErrorKind.BAD_CONFIG,
        "UnauthorizedOperation.": ErrorKind.BAD_CONFIG,
        "LimitExceeded.": ErrorKind.RATE_LIMITED,
        "InternalError": ErrorKind.TRANSIENT,
    },
    retry_after={"RequestLimitExceeded": 1.0},
)


@dataclass(frozen=True)
class TencentSmsConfig:
    secret_id: str
    secret_key: str = field(repr=False)
    sdk_app_id: str
    sign_name: str
    region: str = "ap-guangzhou"
    base_url: str = "https://sms.tencentcloudapi.com"
    timeout: float = 10.0


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tc3_authorization(
    *, secret_id: str, secret_key: str, host: str, payload: bytes, timestamp: int
) -> str:
    """The Authorization header for a POST of ``payload`` to ``/`` signing content-type
    and host, the two headers Tencent requires to be signed."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            signed_headers,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def _positional(data: dict[str, str]) -> list[str]:
    return [data[k] for k in sorted((k for k in data if k.isdigit()), key=int)]


class TencentSmsChannel:
    name = "sms"

    def __init__(
        self,
        config: TencentSmsConfig,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._http = ProviderClient(config.base_url, config.timeout, client, transport)
        self._host = httpx.URL(config.base_url).netloc.decode()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _request(self, message: OutboundMessage) -> tuple[bytes, dict[str, str]]:
        payload = json.dumps(
            {
                "PhoneNumberSet": [message.to],
                "SmsSdkAppId": self.config.sdk_app_id,
                "SignName": self.config.sign_name,
                "TemplateId": message.data.get(TEMPLATE_KEY, ""),
                "TemplateParamSet": _positional(message.data),
                "SessionContext": message.idempotency_key,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = int(time.time())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": ACTION,
            "X-TC-Version": API_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.config.region,
            "Authorization": tc3_authorization(
                secret_id=self.config.secret_id,
                secret_key=self.config.secret_key,
                host=self._host,
                payload=payload,
                timestamp=timestamp,
            ),
        }
        return payload, headers

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.data.get(TEMPLATE_KEY):
            return SendResult.failed(
                ErrorKind.BAD_CONTENT, f"Tencent SMS needs data[{TEMPLATE_KEY!r}]"
            )
        payload, headers = self._request(message)
        response = await self._http.request("POST", "/", content=payload, headers=headers)
        if isinstance(response, SendResult):
            return response
        if failure := status_failure(response):
            return failure
        body = json_object(response)
        inner = body.get("Response") if body else None
        if not isinstance(inner, dict):
            return unparseable(response)
        return _result(inner, response)


def _result(inner: dict[str, Any], response: httpx.Response) -> SendResult:
    error = inner.get("Error")
    if isinstance(error, dict):
        return ERRORS.failed(str(error.get("Code", "")), str(error.get("Message", "")))
    statuses = inner.get("SendStatusSet")
    if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
        return unparseable(response)
    status: dict[str, Any] = statuses[0]
    code = str(status.get("Code", ""))
    if code == "Ok" and status.get("SerialNo"):
        return SendResult.ok(str(status["SerialNo"]))
    return ERRORS.failed(code, str(status.get("Message", "")))
