"""Members' events and profiles coming in: checked, stored once, then routed.

An event is stored before it is routed and marked when routing finished, so a sender
that retries after a failure (same ``event_id``) gets it routed, never stored twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, select

from engine.store.members import upsert_member
from engine.store.models import Event
from journeys.model import is_valid_name

__all__ = ["IncomingEvent", "MemberIn", "store_event"]


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    wechat_openid: str | None = Field(default=None, max_length=64)
    first_name: str | None = Field(default=None, max_length=64)
    timezone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r} (use an IANA name)") from exc
        return value


class IncomingEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=128)
    member: str = Field(min_length=1, max_length=128, description="The member's external id.")
    name: str
    occurred_at: datetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    profile: MemberIn | None = Field(
        default=None, description="Creates or updates the member along with the event."
    )

    @field_validator("name")
    @classmethod
    def _event_name(cls, value: str) -> str:
        if not is_valid_name(value):
            raise ValueError("event name must be 1-64 letters, digits, _ . : - with no spaces")
        return value


def store_event(session: Session, incoming: IncomingEvent) -> tuple[Event, bool]:
    """Returns the stored event and whether it is new. A known ``event_id`` returns the
    first copy untouched."""
    existing = session.exec(select(Event).where(Event.event_id == incoming.event_id)).first()
    if existing is not None:
        return existing, False
    profile = incoming.profile.model_dump(exclude_none=True) if incoming.profile else {}
    member = upsert_member(session, incoming.member, profile)
    assert member.id is not None
    occurred = incoming.occurred_at or datetime.now(UTC)
    if occurred.utcoffset() is None:
        occurred = occurred.replace(tzinfo=UTC)
    event = Event(
        event_id=incoming.event_id,
        member_id=member.id,
        name=incoming.name,
        properties=incoming.properties,
        occurred_at=occurred,
    )
    session.add(event)
    session.flush()
    return event, True
