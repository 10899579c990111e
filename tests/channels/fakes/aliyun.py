"""A local Dysmsapi SendSms that checks the RPC signature like Aliyun does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.channels.fakes.common import Script

REQUIRED = {
    "Action": "SendSms",
    "Version": "2017-05-25",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureVersion": "1.0",
}


def expected_signature(params: dict[str, str], secret: str) -> str:
    canonical = urlencode(sorted(params.items()), quote_via=quote, safe="~")
    string_to_sign = "POST&%2F&" + quote(canonical, safe="~")
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class FakeAliyun:
    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.script = Script()
        self.accepted: dict[str, dict[str, Any]] = {}
        """OutId -> what was sent; a repeated OutId is not sent again."""
        self.requests = 0
        self._nonces: set[str] = set()
        self.app = Starlette(routes=[Route("/", self.send_sms, methods=["POST"])])

    @staticmethod
    def _error(code: str, status: int = 200) -> Response:
        body = {"Code": code, "Message": f"fake {code}", "RequestId": uuid.uuid4().hex}
        return JSONResponse(body, status_code=status)

    def _auth_error(self, params: dict[str, str]) -> Response | None:
        signature = params.pop("Signature", "")
        secret = self.keys.get(params.get("AccessKeyId", ""))
        if secret is None:
            return self._error("InvalidAccessKeyId.NotFound", 404)
        if not hmac.compare_digest(expected_signature(params, secret), signature):
            return self._error("SignatureDoesNotMatch", 400)
        if any(params.get(k) != v for k, v in REQUIRED.items()):
            return self._error("MissingParameter", 400)
        stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs(datetime.now(UTC) - stamp) > timedelta(minutes=15):
            return self._error("InvalidTimeStamp.Expired", 400)
        if params["SignatureNonce"] in self._nonces:
            return self._error("SignatureNonceUsed", 400)
        self._nonces.add(params["SignatureNonce"])
        return None

    async def send_sms(self, request: Request) -> Response:
        self.requests += 1
        params = {k: str(v) for k, v in (await request.form()).items()}
        if failure := self._auth_error(params):
            return failure
        phone = params["PhoneNumbers"]
        if failure := self.script.status_response(phone):
            return failure
        if code := self.script.errors.get(phone):
            return self._error(code)
        if not isinstance(json.loads(params["TemplateParam"]), dict):
            return self._error("isv.INVALID_JSON_PARAM")
        entry = self.accepted.setdefault(
            params["OutId"], {"BizId": f"{uuid.uuid4().int % 10**18}^0", "params": params}
        )
        await self.script.delay(phone)
        body = {"Code": "OK", "Message": "OK", "BizId": entry["BizId"], "RequestId": "r"}
        return JSONResponse(body)
