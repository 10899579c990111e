from __future__ import annotations

import pytest

from channels.base import ErrorKind
from channels.sms_twilio import TwilioConfig, TwilioSmsChannel, verify_twilio_signature
from tests.channels.conftest import MessageFactory
from tests.channels.fakes.twilio import FakeTwilio

SID = "AC" + "0" * 32
CALLBACK = "https://journeys.example.com/receipts/twilio"


def channel(url: str, token: str = "twilio-token", **extra: str) -> TwilioSmsChannel:
    config = TwilioConfig(
        account_sid=SID,
        auth_token=token,
        status_callback=CALLBACK,
        base_url=url,
        timeout=0.3,
        **({"from_number": "+15005550006"} | extra),
    )
    return TwilioSmsChannel(config)


async def test_send_posts_form_with_basic_auth(
    twilio: tuple[FakeTwilio, str], message: MessageFactory
) -> None:
    fake, url = twilio
    sms = channel(url)
    msg = message("+14155550100")
    result = await sms.send(msg)
    await sms.aclose()

    assert result.accepted and (result.provider_message_id or "").startswith("SM")
    assert fake.received == [
        {"To": "+14155550100", "From": "+15005550006", "Body": msg.body, "StatusCallback": CALLBACK}
    ]


async def test_messaging_service_replaces_from(
    twilio: tuple[FakeTwilio, str], message: MessageFactory
) -> None:
    fake, url = twilio
    sms = TwilioSmsChannel(
        TwilioConfig(
            account_sid=SID, auth_token="twilio-token", messaging_service_sid="MG1", base_url=url
        )
    )
    assert (await sms.send(message("+14155550100"))).accepted
    await sms.aclose()
    assert fake.received[0]["MessagingServiceSid"] == "MG1" and "From" not in fake.received[0]


def test_config_needs_a_sender() -> None:
    with pytest.raises(ValueError, match="From"):
        TwilioConfig(account_sid=SID, auth_token="t")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (21610, ErrorKind.OPTED_OUT),
        (21211, ErrorKind.PERMANENT),
        (21614, ErrorKind.PERMANENT),
        (21606, ErrorKind.BAD_CONFIG),
        (30007, ErrorKind.BAD_CONTENT),
        (20429, ErrorKind.RATE_LIMITED),
    ],
)
async def test_error_codes(
    twilio: tuple[FakeTwilio, str], message: MessageFactory, code: int, kind: ErrorKind
) -> None:
    fake, url = twilio
    fake.script.errors["+14155550199"] = code
    sms = channel(url)
    result = await sms.send(message("+14155550199"))
    await sms.aclose()
    assert result.error is not None
    assert result.error.kind is kind
    if code == 20429:
        assert result.error.retry_after == 7.0  # from the Retry-After header
    else:
        assert result.error.provider_code == str(code)


async def test_wrong_token_is_bad_config(
    twilio: tuple[FakeTwilio, str], message: MessageFactory
) -> None:
    fake, url = twilio
    sms = channel(url, token="wrong")
    result = await sms.send(message("+14155550100"))
    await sms.aclose()
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (ErrorKind.BAD_CONFIG, "20003")
    assert fake.received == []


async def test_timeout_and_5xx_are_transient(
    twilio: tuple[FakeTwilio, str], message: MessageFactory
) -> None:
    fake, url = twilio
    fake.script.delays["+14155550101"] = 1.0
    fake.script.statuses["+14155550102"] = 500
    sms = channel(url)
    slow = await sms.send(message("+14155550101"))
    broken = await sms.send(message("+14155550102"))
    await sms.aclose()
    assert slow.error is not None and slow.error.kind is ErrorKind.TRANSIENT
    assert broken.error is not None and broken.error.kind is ErrorKind.TRANSIENT


# The worked example from twilio-php's request-validation documentation.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_TOKEN = "12345"
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_signature_matches_twilio_documentation() -> None:
    assert verify_twilio_signature(DOC_URL, DOC_PARAMS, DOC_SIGNATURE, DOC_TOKEN)


@pytest.mark.parametrize(
    ("url", "params", "signature", "token"),
    [
        (DOC_URL, DOC_PARAMS, DOC_SIGNATURE, "other-token"),
        (DOC_URL, {**DOC_PARAMS, "Digits": "9999"}, DOC_SIGNATURE, DOC_TOKEN),
        (DOC_URL.replace("foo=1", "foo=2"), DOC_PARAMS, DOC_SIGNATURE, DOC_TOKEN),
        (DOC_URL, DOC_PARAMS, "not-a-signature", DOC_TOKEN),
    ],
)
def test_tampered_signature_is_rejected(
    url: str, params: dict[str, str], signature: str, token: str
) -> None:
    assert not verify_twilio_signature(url, params, signature, token)
