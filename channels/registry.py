"""Builds the channel adapters a process uses, from environment-style settings.

Secrets are read only from this mapping (normally ``os.environ``), never from files in
the repository. Missing or unknown settings raise :class:`ChannelConfigError` at start-up,
so a misconfigured worker fails before it takes work rather than on its first send.

Provider per channel (default ``fake`` everywhere):

- ``JOURNEY_SMS_PROVIDER``: ``fake`` | ``aliyun`` | ``tencent`` | ``twilio``
- ``JOURNEY_EMAIL_PROVIDER``: ``fake`` | ``smtp``
- ``JOURNEY_WECHAT_PROVIDER``: ``fake`` | ``wechat``
- ``JOURNEY_CHANNEL_TIMEOUT``: seconds per provider call (default 10)

Fake: ``JOURNEY_FAKE_OUTBOX`` (SQLite file shared by the fake channels; in memory if unset).

Aliyun: ``JOURNEY_ALIYUN_ACCESS_KEY_ID``, ``JOURNEY_ALIYUN_ACCESS_KEY_SECRET``,
``JOURNEY_ALIYUN_SIGN_NAME``, optional ``JOURNEY_ALIYUN_REGION`` (cn-hangzhou),
``JOURNEY_ALIYUN_BASE_URL``.

Tencent: ``JOURNEY_TENCENT_SECRET_ID``, ``JOURNEY_TENCENT_SECRET_KEY``,
``JOURNEY_TENCENT_SMS_SDK_APP_ID``, ``JOURNEY_TENCENT_SIGN_NAME``, optional
``JOURNEY_TENCENT_REGION`` (ap-guangzhou), ``JOURNEY_TENCENT_BASE_URL``.

Twilio: ``JOURNEY_TWILIO_ACCOUNT_SID``, ``JOURNEY_TWILIO_AUTH_TOKEN``, one of
``JOURNEY_TWILIO_FROM`` / ``JOURNEY_TWILIO_MESSAGING_SERVICE_SID``, optional
``JOURNEY_TWILIO_STATUS_CALLBACK``, ``JOURNEY_TWILIO_BASE_URL``.

SMTP: ``JOURNEY_SMTP_HOST``, ``JOURNEY_SMTP_SENDER``, optional ``JOURNEY_SMTP_PORT``
(587), ``JOURNEY_SMTP_USERNAME``, ``JOURNEY_SMTP_PASSWORD``, ``JOURNEY_SMTP_STARTTLS``
(true), ``JOURNEY_SMTP_TLS`` (implicit TLS, false), ``JOURNEY_SMTP_CA_FILE``,
``JOURNEY_SMTP_UNSUBSCRIBE_MAILTO``.

WeChat: ``JOURNEY_WECHAT_APPID``, ``JOURNEY_WECHAT_SECRET``, optional
``JOURNEY_WECHAT_BASE_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from channels.base import Channel
from channels.email_smtp import SmtpChannel, SmtpConfig
from channels.fake import FakeChannel
from channels.sms_aliyun import AliyunSmsChannel, AliyunSmsConfig
from channels.sms_tencent import TencentSmsChannel, TencentSmsConfig
from channels.sms_twilio import TwilioConfig, TwilioSmsChannel
from channels.wechat import WeChatChannel, WeChatConfig

__all__ = ["ChannelConfigError", "build_channels", "close_channels"]


class ChannelConfigError(ValueError):
    """The environment does not describe a usable channel set-up."""


class _Env:
    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(f"JOURNEY_{name}") or default

    def require(self, name: str) -> str:
        if value := self.get(name):
            return value
        raise ChannelConfigError(f"JOURNEY_{name} is required")

    def optional(self, **pairs: str) -> dict[str, Any]:
        """Config keyword arguments for the settings that are set, so the config
        dataclass keeps its own defaults for the rest."""
        return {arg: value for arg, name in pairs.items() if (value := self.get(name))}

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        return value.strip().lower() in ("1", "true", "yes", "on")

    def number(self, name: str, default: float) -> float:
        value = self.get(name)
        try:
            return float(value) if value is not None else default
        except ValueError:
            raise ChannelConfigError(f"JOURNEY_{name} must be a number, not {value!r}") from None


def _aliyun(env: _Env, timeout: float) -> Channel:
    return AliyunSmsChannel(
        AliyunSmsConfig(
            access_key_id=env.require("ALIYUN_ACCESS_KEY_ID"),
            access_key_secret=env.require("ALIYUN_ACCESS_KEY_SECRET"),
            sign_name=env.require("ALIYUN_SIGN_NAME"),
            timeout=timeout,
            **env.optional(region_id="ALIYUN_REGION", base_url="ALIYUN_BASE_URL"),
        )
    )


def _tencent(env: _Env, timeout: float) -> Channel:
    return TencentSmsChannel(
        TencentSmsConfig(
            secret_id=env.require("TENCENT_SECRET_ID"),
            secret_key=env.require("TENCENT_SECRET_KEY"),
            sdk_app_id=env.require("TENCENT_SMS_SDK_APP_ID"),
            sign_name=env.require("TENCENT_SIGN_NAME"),
            timeout=timeout,
            **env.optional(region="TENCENT_REGION", base_url="TENCENT_BASE_URL"),
        )
    )


def _twilio(env: _Env, timeout: float) -> Channel:
    try:
        config = TwilioConfig(
            account_sid=env.require("TWILIO_ACCOUNT_SID"),
            auth_token=env.require("TWILIO_AUTH_TOKEN"),
            from_number=env.get("TWILIO_FROM"),
            messaging_service_sid=env.get("TWILIO_MESSAGING_SERVICE_SID"),
            status_callback=env.get("TWILIO_STATUS_CALLBACK"),
            timeout=timeout,
            **env.optional(base_url="TWILIO_BASE_URL"),
        )
    except ValueError as exc:
        raise ChannelConfigError(str(exc)) from exc
    return TwilioSmsChannel(config)


def _smtp(env: _Env, timeout: float) -> Channel:
    return SmtpChannel(
        SmtpConfig(
            host=env.require("SMTP_HOST"),
            sender=env.require("SMTP_SENDER"),
            port=int(env.number("SMTP_PORT", 587)),
            username=env.get("SMTP_USERNAME"),
            password=env.get("SMTP_PASSWORD"),
            start_tls=env.flag("SMTP_STARTTLS", True),
            use_tls=env.flag("SMTP_TLS", False),
            timeout=timeout,
            ca_file=env.get("SMTP_CA_FILE"),
            unsubscribe_mailto=env.get("SMTP_UNSUBSCRIBE_MAILTO"),
        )
    )


def _wechat(env: _Env, timeout: float) -> Channel:
    return WeChatChannel(
        WeChatConfig(
            appid=env.require("WECHAT_APPID"),
            secret=env.require("WECHAT_SECRET"),
            timeout=timeout,
            **env.optional(base_url="WECHAT_BASE_URL"),
        )
    )


_Builder = Callable[[_Env, float], Channel]

PROVIDERS: Mapping[str, Mapping[str, _Builder]] = {
    "sms": {"aliyun": _aliyun, "tencent": _tencent, "twilio": _twilio},
    "email": {"smtp": _smtp},
    "wechat": {"wechat": _wechat},
}


def build_channels(settings: Mapping[str, str] | None = None) -> dict[str, Channel]:
    """One adapter per channel name (``sms``, ``email``, ``wechat``)."""
    env = _Env(os.environ if settings is None else settings)
    timeout = env.number("CHANNEL_TIMEOUT", 10.0)
    channels: dict[str, Channel] = {}
    for channel, builders in PROVIDERS.items():
        provider = (env.get(f"{channel.upper()}_PROVIDER") or "fake").lower()
        if provider == "fake":
            channels[channel] = FakeChannel(channel, env.get("FAKE_OUTBOX"))
        elif provider in builders:
            channels[channel] = builders[provider](env, timeout)
        else:
            known = ", ".join(["fake", *builders])
            raise ChannelConfigError(
                f"JOURNEY_{channel.upper()}_PROVIDER={provider!r}; expected one of {known}"
            )
    return channels


@runtime_checkable
class _Closable(Protocol):
    async def aclose(self) -> Any: ...


async def close_channels(channels: Mapping[str, Channel]) -> None:
    """Release the HTTP connections the adapters hold; call once at shutdown."""
    for channel in channels.values():
        if isinstance(channel, _Closable):
            await channel.aclose()
