from __future__ import annotations

import json

import pytest

from channels.base import ErrorKind
from channels.sms_aliyun import AliyunSmsChannel, AliyunSmsConfig
from tests.channels.conftest import MessageFactory
from tests.channels.fakes.aliyun import FakeAliyun
from tests.channels.http_server import closed_port_url

TEMPLATE = {"template_id": "SMS_154950909", "code": "WELCOME10", "name": "李雷"}


def channel(url: str, secret: str = "aliyun-secret", key_id: str = "LTAI-test") -> AliyunSmsChannel:
    config = AliyunSmsConfig(
        access_key_id=key_id, access_key_secret=secret, sign_name="好店", base_url=url, timeout=0.3
    )
    return AliyunSmsChannel(config)


async def test_send_is_signed_and_carries_template_and_out_id(
    aliyun: tuple[FakeAliyun, str], message: MessageFactory
) -> None:
    fake, url = aliyun
    sms = channel(url)
    msg = message(data=TEMPLATE)
    result = await sms.send(msg)
    await sms.aclose()

    assert result.accepted and result.provider_message_id
    params = fake.accepted[msg.idempotency_key]["params"]
    assert result.provider_message_id == fake.accepted[msg.idempotency_key]["BizId"]
    assert params["PhoneNumbers"] == msg.to
    assert params["SignName"] == "好店"
    assert params["TemplateCode"] == "SMS_154950909"
    assert json.loads(params["TemplateParam"]) == {"code": "WELCOME10", "name": "李雷"}


async def test_retried_out_id_is_accepted_once(
    aliyun: tuple[FakeAliyun, str], message: MessageFactory
) -> None:
    fake, url = aliyun
    sms = channel(url)
    msg = message(data=TEMPLATE)
    fake.script.delays[msg.to] = 1.0
    first = await sms.send(msg)
    fake.script.delays.clear()
    second = await sms.send(msg)
    await sms.aclose()

    assert first.error is not None and first.error.kind is ErrorKind.TRANSIENT
    assert second.accepted
    assert list(fake.accepted) == [msg.idempotency_key]
    assert fake.requests == 2


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", ErrorKind.RATE_LIMITED),
        ("isv.MOBILE_NUMBER_ILLEGAL", ErrorKind.PERMANENT),
        ("isv.AMOUNT_NOT_ENOUGH", ErrorKind.HALTED),
        ("isv.TEMPLATE_MISSING_PARAMETERS", ErrorKind.BAD_CONTENT),
        ("isv.SMS_TEMPLATE_ILLEGAL", ErrorKind.BAD_CONTENT),
        ("isv.SMS_SIGNATURE_ILLEGAL", ErrorKind.BAD_CONTENT),
        ("isv.BLACK_KEY_CONTROL_LIMIT", ErrorKind.BAD_CONTENT),
        ("isv.DENY_IP_RANGE", ErrorKind.BAD_CONFIG),
        ("isp.SYSTEM_ERROR", ErrorKind.TRANSIENT),
        ("isv.SOMETHING_NEW", ErrorKind.PERMANENT),
    ],
)
async def test_error_codes(
    aliyun: tuple[FakeAliyun, str], message: MessageFactory, code: str, kind: ErrorKind
) -> None:
    fake, url = aliyun
    fake.script.errors["+8613900000000"] = code
    sms = channel(url)
    result = await sms.send(message("+8613900000000", data=TEMPLATE))
    await sms.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (kind, code)
    if kind is ErrorKind.RATE_LIMITED:
        assert result.error.retry_after == 60.0


@pytest.mark.parametrize(
    ("secret", "key_id", "code"),
    [
        ("wrong-secret", "LTAI-test", "SignatureDoesNotMatch"),
        ("aliyun-secret", "LTAI-unknown", "InvalidAccessKeyId.NotFound"),
    ],
)
async def test_bad_credentials_are_bad_config(
    aliyun: tuple[FakeAliyun, str], message: MessageFactory, secret: str, key_id: str, code: str
) -> None:
    fake, url = aliyun
    sms = channel(url, secret=secret, key_id=key_id)
    result = await sms.send(message(data=TEMPLATE))
    await sms.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (ErrorKind.BAD_CONFIG, code)
    assert fake.accepted == {}


async def test_5xx_is_transient(aliyun: tuple[FakeAliyun, str], message: MessageFactory) -> None:
    fake, url = aliyun
    fake.script.statuses["+8613900000001"] = 503
    sms = channel(url)
    result = await sms.send(message("+8613900000001", data=TEMPLATE))
    await sms.aclose()
    assert result.error is not None and result.error.kind is ErrorKind.TRANSIENT


async def test_connection_refused_is_transient(message: MessageFactory) -> None:
    sms = channel(closed_port_url())
    result = await sms.send(message(data=TEMPLATE))
    await sms.aclose()
    assert result.error is not None and result.error.kind is ErrorKind.TRANSIENT


async def test_missing_template_is_bad_content_without_a_request(
    aliyun: tuple[FakeAliyun, str], message: MessageFactory
) -> None:
    fake, url = aliyun
    sms = channel(url)
    result = await sms.send(message(data={"code": "X"}))
    await sms.aclose()
    assert result.error is not None and result.error.kind is ErrorKind.BAD_CONTENT
    assert fake.requests == 0
