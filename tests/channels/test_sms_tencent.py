from __future__ import annotations

import pytest

from channels.base import ErrorKind
from channels.sms_tencent import TencentSmsChannel, TencentSmsConfig
from tests.channels.conftest import MessageFactory
from tests.channels.fakes.tencent import FakeTencent

TEMPLATE = {"template_id": "1110", "2": "3 days", "1": "WELCOME10", "name": "ignored"}
PHONE = "+8613900000000"


def channel(url: str, secret_key: str = "tencent-secret") -> TencentSmsChannel:
    config = TencentSmsConfig(
        secret_id="AKID-test",
        secret_key=secret_key,
        sdk_app_id="1400000000",
        sign_name="好店",
        base_url=url,
        timeout=0.3,
    )
    return TencentSmsChannel(config)


async def test_send_is_tc3_signed_with_positional_params(
    tencent: tuple[FakeTencent, str], message: MessageFactory
) -> None:
    fake, url = tencent
    sms = channel(url)
    msg = message(data=TEMPLATE)
    result = await sms.send(msg)
    await sms.aclose()

    assert result.accepted and result.provider_message_id
    assert fake.received == [
        {
            "PhoneNumberSet": [msg.to],
            "SmsSdkAppId": "1400000000",
            "SignName": "好店",
            "TemplateId": "1110",
            "TemplateParamSet": ["WELCOME10", "3 days"],
            "SessionContext": msg.idempotency_key,
        }
    ]


async def test_wrong_secret_fails_signature_check(
    tencent: tuple[FakeTencent, str], message: MessageFactory
) -> None:
    fake, url = tencent
    sms = channel(url, secret_key="not-the-secret")
    result = await sms.send(message(data=TEMPLATE))
    await sms.aclose()
    assert result.error is not None
    assert result.error.kind is ErrorKind.BAD_CONFIG
    assert result.error.provider_code == "AuthFailure.SignatureFailure"
    assert fake.received == []


@pytest.mark.parametrize(
    ("level", "code", "kind"),
    [
        ("request", "AuthFailure.SecretIdNotFound", ErrorKind.BAD_CONFIG),
        ("request", "LimitExceeded.AppDailyLimit", ErrorKind.RATE_LIMITED),
        ("request", "RequestLimitExceeded", ErrorKind.RATE_LIMITED),
        ("request", "InternalError.Timeout", ErrorKind.TRANSIENT),
        ("request", "FailedOperation.InsufficientBalanceInSmsPackage", ErrorKind.HALTED),
        ("request", "FailedOperation.TemplateIncorrectOrUnapproved", ErrorKind.BAD_CONTENT),
        ("number", "InvalidParameterValue.IncorrectPhoneNumber", ErrorKind.PERMANENT),
        ("number", "LimitExceeded.PhoneNumberDailyLimit", ErrorKind.RATE_LIMITED),
        ("number", "FailedOperation.PhoneNumberInBlacklist", ErrorKind.OPTED_OUT),
        ("number", "FailedOperation.InsufficientBalanceInSmsPackage", ErrorKind.HALTED),
    ],
)
async def test_error_codes(
    tencent: tuple[FakeTencent, str],
    message: MessageFactory,
    level: str,
    code: str,
    kind: ErrorKind,
) -> None:
    fake, url = tencent
    fake.script.errors[PHONE] = (level, code)
    sms = channel(url)
    result = await sms.send(message(PHONE, data=TEMPLATE))
    await sms.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (kind, code)


async def test_timeout_and_5xx_are_transient(
    tencent: tuple[FakeTencent, str], message: MessageFactory
) -> None:
    fake, url = tencent
    fake.script.delays["+8613900000001"] = 1.0
    fake.script.statuses["+8613900000002"] = 502
    sms = channel(url)
    slow = await sms.send(message("+8613900000001", data=TEMPLATE))
    broken = await sms.send(message("+8613900000002", data=TEMPLATE))
    await sms.aclose()
    assert slow.error is not None and slow.error.kind is ErrorKind.TRANSIENT
    assert "timed out" in slow.error.message
    assert broken.error is not None and broken.error.kind is ErrorKind.TRANSIENT
    assert broken.error.provider_code == "502"
