"""A local Twilio Messages resource with HTTP basic auth and Twilio's error bodies."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.channels.fakes.common import Script


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.script = Script()
        """``errors`` maps a number to a Twilio error code (int)."""
        self.received: list[dict[str, Any]] = []
        self.app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self.create, methods=["POST"])
            ]
        )

    @staticmethod
    def _error(code: int, status: int, headers: dict[str, str] | None = None) -> Response:
        body = {
            "code": code,
            "message": f"fake error {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
        return JSONResponse(body, status_code=status, headers=headers)

    def _authenticated(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def create(self, request: Request) -> Response:
        if not self._authenticated(request) or request.path_params["sid"] != self.account_sid:
            return self._error(20003, 401)
        form = {k: str(v) for k, v in (await request.form()).items()}
        to = form.get("To", "")
        if failure := self.script.status_response(to):
            return failure
        if code := self.script.errors.get(to):
            if code == 20429:
                return self._error(code, 429, {"Retry-After": "7"})
            return self._error(code, 400)
        if not (form.get("From") or form.get("MessagingServiceSid")) or not form.get("Body"):
            return self._error(21603, 400)
        self.received.append(form)
        await self.script.delay(to)
        body = {"sid": "SM" + uuid.uuid4().hex, "status": "queued", "to": to, "body": form["Body"]}
        return JSONResponse(body, status_code=201)
