"""One place for every setting, read from the environment (``JOURNEY_*`` and the
two well-known names ``DATABASE_URL`` and ``TEMPORAL_ADDRESS``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engine.delivery.pressure import Cap, parse_caps, parse_rate_limits
from engine.delivery.templating import DEFAULT_OPT_OUT_LINE
from journeys.model import QuietHours

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOURNEY_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/journey.db",
        validation_alias=AliasChoices("DATABASE_URL", "JOURNEY_DATABASE_URL"),
    )
    temporal_address: str = Field(
        default="127.0.0.1:7233",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "JOURNEY_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = "default"
    task_queue: str = "journeys"
    api_keys: str = Field(
        default="",
        description="Comma-separated API keys accepted in the X-API-Key header.",
    )
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="Multiplies every wait; below 1 compresses days for test runs and demos.",
    )
    workflow_pollers: int = 40
    activity_pollers: int = 20
    max_cached_workflows: int = 20000
    max_concurrent_activities: int = 200
    quiet_hours: QuietHours = Field(
        default="",
        description="Brand default quiet hours, e.g. 21:00-09:00 in each member's timezone;"
        " journeys may override it. Empty: none.",
    )
    caps: Annotated[tuple[Cap, ...], NoDecode] = Field(
        default=(),
        description="Frequency caps across all journeys, e.g. sms:day=1,sms:week=3,all:week=5.",
    )
    rate_limits: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict,
        description="Sends per second per provider account, e.g. sms=50,wechat=100,email=20.",
    )
    sms_opt_out_line: str = Field(
        default=DEFAULT_OPT_OUT_LINE,
        description="Appended to marketing SMS that do not already carry it.",
    )

    public_base_url: str = Field(
        default="",
        description="Where the web app is reachable from outside, e.g. https://crm.example.com;"
        " unsubscribe links start with it and Twilio signs callbacks against it."
        " Empty: webhooks use the request URL, links use http://127.0.0.1:8000.",
    )
    secret_key: str = Field(
        default="",
        repr=False,
        description="Signs unsubscribe links; every web and worker process needs the same"
        " one. Empty: a random key per process, so links die with the process.",
    )
    webhook_token: str = Field(
        default="",
        repr=False,
        description="Shared secret in the ?token= of the Aliyun and Tencent SMS callbacks,"
        " which carry no signature. Empty: those webhooks answer 503.",
    )
    twilio_auth_token: str = Field(
        default="", repr=False, description="Verifies X-Twilio-Signature on Twilio callbacks."
    )
    wechat_token: str = Field(
        default="",
        repr=False,
        description="The Token set in the WeChat official-account server configuration.",
    )

    @field_validator("caps", mode="before")
    @classmethod
    def _parse_caps(cls, value: Any) -> Any:
        return parse_caps(value) if isinstance(value, str) else value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: Any) -> Any:
        return parse_rate_limits(value) if isinstance(value, str) else value

    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())


@lru_cache
def get_settings() -> Settings:
    return Settings()
