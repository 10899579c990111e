from __future__ import annotations

import asyncio
import hashlib

import pytest

from channels.base import ErrorKind
from channels.provider import ProviderClient
from channels.wechat import WeChatChannel, WeChatConfig, WeChatTokenCache, verify_wechat_signature
from tests.channels.conftest import MessageFactory
from tests.channels.fakes.wechat import FakeWeChat

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
DATA = {
    "template_id": "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
    "kw.thing1": "Welcome coupon",
    "kw.time2": "2024-06-01",
    "url": "https://shop.example.com/coupons",
    "miniprogram_appid": "wx-mini",
    "miniprogram_pagepath": "pages/coupon?id=1",
    "unrelated": "not sent",
}


def config(url: str, secret: str = "wx-secret", timeout: float = 0.3) -> WeChatConfig:
    return WeChatConfig(appid="wx-app", secret=secret, base_url=url, timeout=timeout)


async def test_send_template_message(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url))
    msg = message(OPENID, channel="wechat", data=DATA)
    result = await channel.send(msg)
    await channel.aclose()

    assert result.accepted and result.provider_message_id
    assert fake.accepted == [
        {
            "touser": OPENID,
            "template_id": DATA["template_id"],
            "client_msg_id": msg.idempotency_key,
            "url": "https://shop.example.com/coupons",
            "miniprogram": {"appid": "wx-mini", "pagepath": "pages/coupon?id=1"},
            "data": {"thing1": {"value": "Welcome coupon"}, "time2": {"value": "2024-06-01"}},
        }
    ]
    assert fake.token_requests == [
        {
            "grant_type": "client_credential",
            "appid": "wx-app",
            "secret": "wx-secret",
            "force_refresh": False,
        }
    ]


async def test_concurrent_senders_share_one_token_fetch(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url, timeout=5))
    results = await asyncio.gather(
        *(channel.send(message(f"{OPENID}{i}", data=DATA)) for i in range(20))
    )
    await channel.aclose()
    assert all(r.accepted for r in results)
    assert len(fake.token_requests) == 1
    assert len(fake.accepted) == 20


async def test_channels_can_share_one_token_cache(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    http = ProviderClient(url, 5)
    tokens = WeChatTokenCache(config(url), http)
    first, second = (
        WeChatChannel(config(url), tokens=tokens),
        WeChatChannel(config(url), tokens=tokens),
    )
    assert (await first.send(message(OPENID, data=DATA))).accepted
    assert (await second.send(message(OPENID, data=DATA))).accepted
    for closable in (first, second, http):
        await closable.aclose()
    assert len(fake.token_requests) == 1


async def test_rejected_token_is_refreshed_and_send_retried_once(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url))
    assert (await channel.send(message(OPENID, data=DATA))).accepted
    fake.revoke()
    result = await channel.send(message(OPENID, data=DATA))
    await channel.aclose()

    assert result.accepted
    assert [r["force_refresh"] for r in fake.token_requests] == [False, True]
    assert fake.send_attempts == 3


async def test_token_rejected_twice_gives_up_as_bad_config(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    fake.reject_every_token = True
    channel = WeChatChannel(config(url))
    result = await channel.send(message(OPENID, data=DATA))
    await channel.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (ErrorKind.BAD_CONFIG, "40001")
    assert fake.send_attempts == 2


async def test_concurrent_rejections_share_one_forced_refresh(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url, timeout=5))
    assert (await channel.send(message(OPENID, data=DATA))).accepted
    fake.revoke()
    results = await asyncio.gather(*(channel.send(message(OPENID, data=DATA)) for _ in range(5)))
    await channel.aclose()
    assert all(r.accepted for r in results)
    assert [r["force_refresh"] for r in fake.token_requests] == [False, True]


async def test_token_is_renewed_before_it_expires(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    now = [1000.0]
    http = ProviderClient(url, 5)
    tokens = WeChatTokenCache(config(url), http, clock=lambda: now[0])
    channel = WeChatChannel(config(url), tokens=tokens)
    assert (await channel.send(message(OPENID, data=DATA))).accepted
    now[0] += 7200 - 301  # still inside the validity window minus the margin
    assert (await channel.send(message(OPENID, data=DATA))).accepted
    assert len(fake.token_requests) == 1
    now[0] += 2
    assert (await channel.send(message(OPENID, data=DATA))).accepted
    assert len(fake.token_requests) == 2
    await channel.aclose()
    await http.aclose()


async def test_bad_secret_is_bad_config(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url, secret="wrong"))
    result = await channel.send(message(OPENID, data=DATA))
    await channel.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (ErrorKind.BAD_CONFIG, "40125")
    assert fake.send_attempts == 0


@pytest.mark.parametrize(
    ("errcode", "kind"),
    [
        (43004, ErrorKind.OPTED_OUT),
        (43101, ErrorKind.OPTED_OUT),
        (45009, ErrorKind.RATE_LIMITED),
        (45047, ErrorKind.RATE_LIMITED),
        (40037, ErrorKind.BAD_CONTENT),
        (40003, ErrorKind.PERMANENT),
        (-1, ErrorKind.TRANSIENT),
    ],
)
async def test_error_codes(
    wechat: tuple[FakeWeChat, str], message: MessageFactory, errcode: int, kind: ErrorKind
) -> None:
    fake, url = wechat
    fake.script.errors["o-scripted"] = errcode
    channel = WeChatChannel(config(url))
    result = await channel.send(message("o-scripted", data=DATA))
    await channel.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (kind, str(errcode))
    if kind is ErrorKind.RATE_LIMITED:
        assert result.error.retry_after is not None


async def test_send_retried_after_timeout_is_delivered_once(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url))
    msg = message(OPENID, data=DATA)
    fake.script.delays[OPENID] = 1.0
    lost = await channel.send(msg)
    fake.script.delays.clear()
    retried = await channel.send(msg)
    await channel.aclose()

    assert lost.error is not None and lost.error.kind is ErrorKind.TRANSIENT
    assert retried.accepted
    assert fake.send_attempts == 2
    assert [m["client_msg_id"] for m in fake.accepted] == [msg.idempotency_key]


async def test_5xx_is_transient(wechat: tuple[FakeWeChat, str], message: MessageFactory) -> None:
    fake, url = wechat
    fake.script.statuses[OPENID] = 503
    channel = WeChatChannel(config(url))
    result = await channel.send(message(OPENID, data=DATA))
    await channel.aclose()
    assert result.error is not None and result.error.kind is ErrorKind.TRANSIENT


async def test_missing_template_is_bad_content(
    wechat: tuple[FakeWeChat, str], message: MessageFactory
) -> None:
    fake, url = wechat
    channel = WeChatChannel(config(url))
    result = await channel.send(message(OPENID, data={"kw.thing1": "x"}))
    await channel.aclose()
    assert result.error is not None and result.error.kind is ErrorKind.BAD_CONTENT
    assert fake.token_requests == []


def _sign(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def test_push_signature_verification() -> None:
    signature = _sign("push-token", "1717171717", "nonce42")
    assert verify_wechat_signature("push-token", "1717171717", "nonce42", signature)
    assert not verify_wechat_signature("other-token", "1717171717", "nonce42", signature)
    assert not verify_wechat_signature("push-token", "1717171718", "nonce42", signature)
    assert not verify_wechat_signature("push-token", "1717171717", "nonce42", "0" * 40)
