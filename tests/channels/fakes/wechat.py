"""A local WeChat official-account API: stable_token and template/send."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.channels.fakes.common import Script


class FakeWeChat:
    def __init__(self, appid: str, secret: str) -> None:
        self.appid = appid
        self.secret = secret
        self.script = Script()
        """``errors`` maps an openid to an errcode (int)."""
        self.expires_in = 7200
        self.token_delay = 0.05
        self.token_requests: list[dict[str, Any]] = []
        self.current_token: str | None = None
        self.reject_every_token = False
        self.send_attempts = 0
        self.accepted: list[dict[str, Any]] = []
        self._msgids: dict[tuple[str, str], int] = {}
        self._counter = itertools.count(1000)
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/stable_token", self.stable_token, methods=["POST"]),
                Route("/cgi-bin/message/template/send", self.send, methods=["POST"]),
            ]
        )

    @staticmethod
    def _err(code: int, message: str) -> Response:
        return JSONResponse({"errcode": code, "errmsg": message})

    def revoke(self) -> None:
        """Invalidate the issued token, as a refresh by another system would."""
        self.current_token = None

    async def stable_token(self, request: Request) -> Response:
        body = await request.json()
        self.token_requests.append(body)
        await asyncio.sleep(self.token_delay)
        if body.get("grant_type") != "client_credential":
            return self._err(40002, "invalid grant_type")
        if body.get("appid") != self.appid:
            return self._err(40013, "invalid appid")
        if body.get("secret") != self.secret:
            return self._err(40125, "invalid appsecret")
        if body.get("force_refresh") or self.current_token is None:
            self.current_token = f"token-{next(self._counter)}"
        return JSONResponse({"access_token": self.current_token, "expires_in": self.expires_in})

    async def send(self, request: Request) -> Response:
        self.send_attempts += 1
        token = request.query_params.get("access_token")
        if self.reject_every_token or token is None or token != self.current_token:
            return self._err(40001, "invalid credential, access_token is invalid or not latest")
        body = await request.json()
        openid = body.get("touser", "")
        if failure := self.script.status_response(openid):
            return failure
        if code := self.script.errors.get(openid):
            return self._err(code, f"fake error {code}")
        data = body.get("data")
        if not body.get("template_id") or not isinstance(data, dict):
            return self._err(47001, "data format error")
        if not all(isinstance(v, dict) and "value" in v for v in data.values()):
            return self._err(47003, "argument invalid")
        key = (openid, body.get("client_msg_id") or f"none-{self.send_attempts}")
        if key not in self._msgids:
            self._msgids[key] = next(self._counter)
            self.accepted.append(body)
        await self.script.delay(openid)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": self._msgids[key]})
