from __future__ import annotations

from pathlib import Path

import pytest

from channels.email_smtp import SmtpChannel
from channels.fake import FakeChannel
from channels.registry import ChannelConfigError, build_channels, close_channels
from channels.sms_aliyun import AliyunSmsChannel
from channels.sms_tencent import TencentSmsChannel
from channels.sms_twilio import TwilioSmsChannel
from channels.wechat import WeChatChannel

ALIYUN = {
    "JOURNEY_SMS_PROVIDER": "aliyun",
    "JOURNEY_ALIYUN_ACCESS_KEY_ID": "id",
    "JOURNEY_ALIYUN_ACCESS_KEY_SECRET": "secret",
    "JOURNEY_ALIYUN_SIGN_NAME": "好店",
    "JOURNEY_ALIYUN_BASE_URL": "http://127.0.0.1:9",
}


async def test_defaults_to_fakes(tmp_path: Path) -> None:
    channels = build_channels({"JOURNEY_FAKE_OUTBOX": str(tmp_path / "o.db")})
    assert set(channels) == {"sms", "email", "wechat"}
    assert all(isinstance(c, FakeChannel) for c in channels.values())
    assert [c.name for c in channels.values()] == ["sms", "email", "wechat"]
    await close_channels(channels)


async def test_real_providers_from_environment() -> None:
    env = {
        **ALIYUN,
        "JOURNEY_CHANNEL_TIMEOUT": "2.5",
        "JOURNEY_EMAIL_PROVIDER": "smtp",
        "JOURNEY_SMTP_HOST": "smtp.example.com",
        "JOURNEY_SMTP_SENDER": "news@example.com",
        "JOURNEY_SMTP_PORT": "2525",
        "JOURNEY_SMTP_STARTTLS": "false",
        "JOURNEY_WECHAT_PROVIDER": "wechat",
        "JOURNEY_WECHAT_APPID": "wx",
        "JOURNEY_WECHAT_SECRET": "s",
    }
    channels = build_channels(env)
    sms, email, wechat = channels["sms"], channels["email"], channels["wechat"]
    assert isinstance(sms, AliyunSmsChannel)
    assert sms.config.base_url == "http://127.0.0.1:9" and sms.config.timeout == 2.5
    assert sms.config.region_id == "cn-hangzhou"
    assert isinstance(email, SmtpChannel)
    assert (email.config.port, email.config.start_tls) == (2525, False)
    assert isinstance(wechat, WeChatChannel)
    assert wechat.config.base_url == "https://api.weixin.qq.com"
    await close_channels(channels)


@pytest.mark.parametrize(
    ("env", "cls"),
    [
        (
            {
                "JOURNEY_SMS_PROVIDER": "tencent",
                "JOURNEY_TENCENT_SECRET_ID": "id",
                "JOURNEY_TENCENT_SECRET_KEY": "k",
                "JOURNEY_TENCENT_SMS_SDK_APP_ID": "1400",
                "JOURNEY_TENCENT_SIGN_NAME": "s",
            },
            TencentSmsChannel,
        ),
        (
            {
                "JOURNEY_SMS_PROVIDER": "twilio",
                "JOURNEY_TWILIO_ACCOUNT_SID": "AC1",
                "JOURNEY_TWILIO_AUTH_TOKEN": "t",
                "JOURNEY_TWILIO_FROM": "+15005550006",
            },
            TwilioSmsChannel,
        ),
    ],
)
async def test_other_sms_providers(env: dict[str, str], cls: type) -> None:
    channels = build_channels(env)
    assert isinstance(channels["sms"], cls)
    await close_channels(channels)


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"JOURNEY_SMS_PROVIDER": "carrier-pigeon"}, "JOURNEY_SMS_PROVIDER"),
        ({**ALIYUN, "JOURNEY_ALIYUN_ACCESS_KEY_SECRET": ""}, "JOURNEY_ALIYUN_ACCESS_KEY_SECRET"),
        ({"JOURNEY_CHANNEL_TIMEOUT": "soon"}, "JOURNEY_CHANNEL_TIMEOUT"),
        (
            {
                "JOURNEY_SMS_PROVIDER": "twilio",
                "JOURNEY_TWILIO_ACCOUNT_SID": "AC1",
                "JOURNEY_TWILIO_AUTH_TOKEN": "t",
            },
            "From",
        ),
    ],
)
def test_bad_settings_fail_at_start_up(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ChannelConfigError, match=problem):
        build_channels(env)


def test_secrets_stay_out_of_reprs() -> None:
    channels = build_channels(ALIYUN)
    assert "secret" not in repr(channels["sms"].config)  # type: ignore[attr-defined]
