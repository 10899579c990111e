"""A local Tencent Cloud SMS SendSms that verifies TC3-HMAC-SHA256 like the real API."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.channels.fakes.common import Script

AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>[^/]+)/(?P<service>[^/]+)/tc3_request,"
    r" SignedHeaders=(?P<headers>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class FakeTencent:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.script = Script()
        """``errors`` maps a number to ``("request" | "number", code)``."""
        self.received: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/", self.endpoint, methods=["POST"])])

    @staticmethod
    def _error(code: str) -> Response:
        return JSONResponse(
            {"Response": {"Error": {"Code": code, "Message": f"fake {code}"}, "RequestId": "r"}}
        )

    def _auth_error(self, request: Request, payload: bytes) -> str | None:
        match = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
        if match is None:
            return "AuthFailure.InvalidAuthorization"
        secret = self.secrets.get(match["id"])
        if secret is None:
            return "AuthFailure.SecretIdNotFound"
        timestamp = int(request.headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > 300:
            return "AuthFailure.SignatureExpire"
        if match["date"] != datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d"):
            return "AuthFailure.InvalidAuthorization"
        names = match["headers"].split(";")
        if "host" not in names or "content-type" not in names:
            return "AuthFailure.InvalidAuthorization"
        canonical_headers = "".join(f"{n}:{request.headers[n].strip().lower()}\n" for n in names)
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                canonical_headers,
                match["headers"],
                hashlib.sha256(payload).hexdigest(),
            ]
        )
        scope = f"{match['date']}/{match['service']}/tc3_request"
        to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n"
            + hashlib.sha256(canonical.encode()).hexdigest()
        )
        key = _sign(_sign(_sign(("TC3" + secret).encode(), match["date"]), "sms"), "tc3_request")
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if match["service"] != "sms" or not hmac.compare_digest(expected, match["signature"]):
            return "AuthFailure.SignatureFailure"
        return None

    async def endpoint(self, request: Request) -> Response:
        payload = await request.body()
        if code := self._auth_error(request, payload):
            return self._error(code)
        if request.headers.get("x-tc-action") != "SendSms":
            return self._error("InvalidAction")
        if request.headers.get("x-tc-version") != "2021-01-11" or not request.headers.get(
            "x-tc-region"
        ):
            return self._error("InvalidParameter")
        body = json.loads(payload)
        phone = body["PhoneNumberSet"][0]
        if failure := self.script.status_response(phone):
            return failure
        level, code = self.script.errors.get(phone, ("number", "Ok"))
        if level == "request":
            return self._error(code)
        self.received.append(body)
        status = {
            "SerialNo": f"2019:{uuid.uuid4().int % 10**19}",
            "PhoneNumber": phone,
            "Fee": 1,
            "SessionContext": body.get("SessionContext", ""),
            "Code": code,
            "Message": "send success" if code == "Ok" else f"fake {code}",
            "IsoCode": "CN",
        }
        await self.script.delay(phone)
        return JSONResponse({"Response": {"SendStatusSet": [status], "RequestId": "r"}})
