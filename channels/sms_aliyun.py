"""Aliyun (Alibaba Cloud) SMS: Dysmsapi ``SendSms`` over the RPC-style signed API.

Chinese SMS carriers only accept pre-approved templates, so the message body is not sent:
``data["template_id"]`` picks the approved template and every other ``data`` entry fills
one of its ``${name}`` variables. ``OutId`` carries our idempotency key, which Aliyun
echoes in delivery reports (``out_id``) so a receipt finds its send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from channels.base import ErrorKind, OutboundMessage, SendResult
from channels.provider import CodeTable, ProviderClient, json_object, status_failure, unparseable

__all__ = ["AliyunSmsChannel", "AliyunSmsConfig", "percent_encode", "rpc_signature"]

API_VERSION = "2017-05-25"
TEMPLATE_KEY = "template_id"

ERRORS = CodeTable(
    exact={
        "isv.BUSINESS_LIMIT_CONTROL": ErrorKind.RATE_LIMITED,
        "isv.DAY_LIMIT_CONTROL": ErrorKind.RATE_LIMITED,
        "Throttling.User": ErrorKind.RATE_LIMITED,
        "isv.MOBILE_NUMBER_ILLEGAL": ErrorKind.PERMANENT,
        "isv.AMOUNT_NOT_ENOUGH": ErrorKind.HALTED,
        "isv.OUT_OF_SERVICE": ErrorKind.HALTED,
        "isv.ACCOUNT_ABNORMAL": ErrorKind.HALTED,
        "isv.TEMPLATE_MISSING_PARAMETERS": ErrorKind.BAD_CONTENT,
        "isv.TEMPLATE_PARAMS_ILLEGAL": ErrorKind.BAD_CONTENT,
        "isv.INVALID_JSON_PARAM": ErrorKind.BAD_CONTENT,
        "isv.PARAM_LENGTH_LIMIT": ErrorKind.BAD_CONTENT,
        "isv.SMS_TEMPLATE_ILLEGAL": ErrorKind.BAD_CONTENT,
        "isv.SMS_SIGNATURE_ILLEGAL": ErrorKind.BAD_CONTENT,
        "isv.SMS_CONTENT_ILLEGAL": ErrorKind.BAD_CONTENT,
        "isv.BLACK_KEY_CONTROL_LIMIT": ErrorKind.BAD_CONTENT,
        "isv.DENY_IP_RANGE": ErrorKind.BAD_CONFIG,
        "isv.ACCOUNT_NOT_EXISTS": ErrorKind.BAD_CONFIG,
        "isp.RAM_PERMISSION_DENY": ErrorKind.BAD_CONFIG,
        "SignatureDoesNotMatch": ErrorKind.BAD_CONFIG,
        "IncompleteSignature": ErrorKind.BAD_CONFIG,
        "InvalidTimeStamp.Expired": ErrorKind.BAD_CONFIG,
        "MissingParameter": ErrorKind.BAD_CONFIG,
        "SignatureNonceUsed": ErrorKind.TRANSIENT,
        "isp.SYSTEM_ERROR": ErrorKind.TRANSIENT,
        "ServiceUnavailable": ErrorKind.TRANSIENT,
        "InternalError": ErrorKind.TRANSIENT,
    },
    prefixes={
        "InvalidAccessKeyId": ErrorKind.BAD_CONFIG,
        "Forbidden": ErrorKind.BAD_CONFIG,
    },
    # BUSINESS_LIMIT_CONTROL is Aliyun's per-number frequency cap (about one a minute).
    retry_after={"isv.BUSINESS_LIMIT_CONTROL": 60.0, "Throttling.User": 1.0},
)


@dataclass(frozen=True)
class AliyunSmsConfig:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str
    base_url: str = "https://dysmsapi.aliyuncs.com"
    region_id: str = "cn-hangzhou"
    timeout: float = 10.0


def percent_encode(value: str) -> str:
    """Aliyun POP encoding: RFC 3986, UTF-8, only ``A-Za-z0-9-_.~`` left bare."""
    return quote(value, safe="~")


def rpc_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items())
    )
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class AliyunSmsChannel:
    name = "sms"

    def __init__(
        self,
        config: AliyunSmsConfig,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._http = ProviderClient(config.base_url, config.timeout, client, transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _signed_params(self, message: OutboundMessage) -> dict[str, str]:
        template_code = message.data.get(TEMPLATE_KEY, "")
        variables = {k: v for k, v in message.data.items() if k != TEMPLATE_KEY}
        params = {
            "Action": "SendSms",
            "Version": API_VERSION,
            "Format": "JSON",
            "RegionId": self.config.region_id,
            "AccessKeyId": self.config.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "PhoneNumbers": message.to,
            "SignName": self.config.sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(variables, ensure_ascii=False),
            "OutId": message.idempotency_key,
        }
        params["Signature"] = rpc_signature(params, self.config.access_key_secret)
        return params

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.data.get(TEMPLATE_KEY):
            return SendResult.failed(
                ErrorKind.BAD_CONTENT, f"Aliyun SMS needs data[{TEMPLATE_KEY!r}]"
            )
        response = await self._http.request("POST", "/", data=self._signed_params(message))
        if isinstance(response, SendResult):
            return response
        if failure := status_failure(response):
            return failure
        body = json_object(response)
        if body is None or not isinstance(body.get("Code"), str):
            return unparseable(response)
        if body["Code"] == "OK" and body.get("BizId"):
            return SendResult.ok(str(body["BizId"]))
        return ERRORS.failed(body["Code"], str(body.get("Message", "")))
