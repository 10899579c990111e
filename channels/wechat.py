"""WeChat official-account template messages.

Every call needs an access token, and tokens are scarce (a daily quota per app), so one
:class:`WeChatTokenCache` serves every sender in the process: it fetches from
``/cgi-bin/stable_token`` once, keeps the token until shortly before it expires, and lets
a single coroutine refresh at a time. When WeChat rejects a token (40001/42001/40014) the
send force-refreshes it and retries once; a second rejection is a configuration problem.

``client_msg_id`` carries our idempotency key, so WeChat drops a retried send it has
already accepted.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from channels.base import ErrorKind, OutboundMessage, SendResult
from channels.provider import CodeTable, ProviderClient, json_object, status_failure, unparseable

__all__ = ["WeChatChannel", "WeChatConfig", "WeChatTokenCache", "verify_wechat_signature"]

TOKEN_REJECTED = frozenset({40001, 42001, 40014})
KEYWORD_PREFIX = "kw."

ERRORS = CodeTable(
    exact={
        "-1": ErrorKind.TRANSIENT,  # system busy
        "43004": ErrorKind.OPTED_OUT,  # not following the account
        "43101": ErrorKind.OPTED_OUT,  # user refused these messages
        "40003": ErrorKind.PERMANENT,  # invalid openid
        "45009": ErrorKind.RATE_LIMITED,  # daily API quota reached
        "45047": ErrorKind.RATE_LIMITED,  # too many messages to this user
        "40037": ErrorKind.BAD_CONTENT,  # invalid template_id
        "47003": ErrorKind.BAD_CONTENT,  # template data does not fit the template
        "40013": ErrorKind.BAD_CONFIG,  # invalid appid
        "40125": ErrorKind.BAD_CONFIG,  # invalid secret
        "40164": ErrorKind.BAD_CONFIG,  # caller IP not whitelisted
        "48001": ErrorKind.BAD_CONFIG,  # API not authorised for this account
        **{str(code): ErrorKind.BAD_CONFIG for code in TOKEN_REJECTED},
    },
    retry_after={"45009": 3600.0, "45047": 60.0},
)


@dataclass(frozen=True)
class WeChatConfig:
    appid: str
    secret: str = field(repr=False)
    base_url: str = "https://api.weixin.qq.com"
    timeout: float = 10.0
    refresh_margin: float = 300.0
    """Seconds before ``expires_in`` runs out at which a cached token is renewed."""


def _failure(body: dict[str, Any]) -> SendResult:
    return ERRORS.failed(str(body.get("errcode")), str(body.get("errmsg", "")))


class WeChatTokenCache:
    def __init__(
        self,
        config: WeChatConfig,
        http: ProviderClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def _fresh(self) -> str | None:
        return self._token if self._clock() < self._expires_at else None

    async def get(self) -> str | SendResult:
        """A valid token, or the failure that prevented fetching one."""
        if token := self._fresh():
            return token
        async with self._lock:
            return self._fresh() or await self._fetch(force=False)

    async def replace(self, rejected: str) -> str | SendResult:
        """A new token after WeChat rejected ``rejected``; concurrent senders that saw the
        same rejection share one forced refresh instead of each burning quota."""
        async with self._lock:
            current = self._fresh()
            if current is not None and current != rejected:
                return current
            return await self._fetch(force=True)

    async def _fetch(self, *, force: bool) -> str | SendResult:
        response = await self._http.request(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self._config.appid,
                "secret": self._config.secret,
                "force_refresh": force,
            },
        )
        if isinstance(response, SendResult):
            return response
        if failure := status_failure(response):
            return failure
        body = json_object(response)
        if body is None:
            return unparseable(response)
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int):
            return _failure(body)
        self._token = token
        self._expires_at = self._clock() + expires_in - self._config.refresh_margin
        return token


def verify_wechat_signature(token: str, timestamp: str, nonce: str, signature: str) -> bool:
    """WeChat signs pushes with sha1 over the sorted concatenation of token, timestamp and
    nonce; checking it proves the push came from WeChat and not a forger."""
    expected = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return hmac.compare_digest(expected, signature)


def template_payload(message: OutboundMessage) -> dict[str, Any]:
    data = message.data
    payload: dict[str, Any] = {
        "touser": message.to,
        "template_id": data.get("template_id", ""),
        "client_msg_id": message.idempotency_key,
        "data": {
            key.removeprefix(KEYWORD_PREFIX): {"value": value}
            for key, value in data.items()
            if key.startswith(KEYWORD_PREFIX)
        },
    }
    if url := data.get("url"):
        payload["url"] = url
    if data.get("miniprogram_appid"):
        payload["miniprogram"] = {
            "appid": data["miniprogram_appid"],
            "pagepath": data.get("miniprogram_pagepath", ""),
        }
    return payload


class WeChatChannel:
    """Sends template messages; ``data`` supplies ``template_id``, optional ``url`` or
    ``miniprogram_appid`` / ``miniprogram_pagepath``, and ``kw.<keyword>`` values."""

    name = "wechat"

    def __init__(
        self,
        config: WeChatConfig,
        *,
        tokens: WeChatTokenCache | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._http = ProviderClient(config.base_url, config.timeout, client, transport)
        self.tokens = tokens or WeChatTokenCache(config, self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, message: OutboundMessage) -> SendResult:
        if not message.data.get("template_id"):
            return SendResult.failed(ErrorKind.BAD_CONTENT, "WeChat needs data['template_id']")
        payload = template_payload(message)
        token = await self.tokens.get()
        if isinstance(token, SendResult):
            return token
        result, rejected = await self._post(token, payload)
        if not rejected:
            return result
        token = await self.tokens.replace(token)
        if isinstance(token, SendResult):
            return token
        result, _ = await self._post(token, payload)
        return result

    async def _post(self, token: str, payload: dict[str, Any]) -> tuple[SendResult, bool]:
        """The send's result and whether the token was rejected (worth one retry)."""
        response = await self._http.request(
            "POST", "/cgi-bin/message/template/send", params={"access_token": token}, json=payload
        )
        if isinstance(response, SendResult):
            return response, False
        if failure := status_failure(response):
            return failure, False
        body = json_object(response)
        if body is None:
            return unparseable(response), False
        if body.get("errcode") == 0 and body.get("msgid") is not None:
            return SendResult.ok(str(body["msgid"])), False
        return _failure(body), body.get("errcode") in TOKEN_REJECTED
