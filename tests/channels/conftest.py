from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from channels.base import OutboundMessage
from tests.channels.fakes.aliyun import FakeAliyun
from tests.channels.fakes.tencent import FakeTencent
from tests.channels.fakes.twilio import FakeTwilio
from tests.channels.fakes.wechat import FakeWeChat
from tests.channels.http_server import serve

MessageFactory = Callable[..., OutboundMessage]


@pytest.fixture
def message() -> MessageFactory:
    counter = iter(range(1_000_000))

    def make(to: str = "+8613800000000", **overrides: Any) -> OutboundMessage:
        base = OutboundMessage(
            channel="sms",
            to=to,
            body="Your coupon is ready. Reply T to unsubscribe",
            idempotency_key=f"journey:j1:member:m1:node-sms:{next(counter)}",
        )
        return replace(base, **overrides)

    return make


@pytest.fixture
def aliyun() -> Iterator[tuple[FakeAliyun, str]]:
    fake = FakeAliyun({"LTAI-test": "aliyun-secret"})
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def tencent() -> Iterator[tuple[FakeTencent, str]]:
    fake = FakeTencent({"AKID-test": "tencent-secret"})
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def twilio() -> Iterator[tuple[FakeTwilio, str]]:
    fake = FakeTwilio("AC" + "0" * 32, "twilio-token")
    with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def wechat() -> Iterator[tuple[FakeWeChat, str]]:
    fake = FakeWeChat("wx-app", "wx-secret")
    with serve(fake.app) as url:
        yield fake, url
