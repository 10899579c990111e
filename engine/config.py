"""One place for every setting, read from the environment (``JOURNEY_*`` and the
two well-known names ``DATABASE_URL`` and ``TEMPORAL_ADDRESS``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    def api_key_set(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())


@lru_cache
def get_settings() -> Settings:
    return Settings()
