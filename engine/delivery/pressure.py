"""Frequency caps: how many marketing messages one member may get per day and per week,
per channel and over all channels, whichever journeys send them.

Periods are the member's own calendar (their timezone, weeks start on Monday), so a
member in Los Angeles is not capped by what counted as "today" in Shanghai. The count
and the new message row are written in one transaction under a per-member lock, so two
journeys racing for the same member cannot both pass the last free slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from engine.runtime.steps import next_local_time
from engine.store.models import MessageLog

__all__ = [
    "COUNTED_STATUSES",
    "Cap",
    "cap_reached",
    "next_local_day",
    "parse_caps",
    "parse_rate_limits",
    "period_start",
]

Period = Literal["day", "week"]
SCOPES = frozenset({"sms", "email", "wechat", "all"})

COUNTED_STATUSES = ("sending", "accepted", "delivered")
"""Accepted and delivered messages count; so do ones in flight (``sending``), or a
second journey could pass the cap while the first one's provider call is running."""


@dataclass(frozen=True)
class Cap:
    """At most ``limit`` marketing messages on ``scope`` (a channel, or ``all``) per
    ``period`` of the member's calendar."""

    scope: str
    period: Period
    limit: int


def _pairs(value: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        key, sep, number = item.partition("=")
        if not sep:
            raise ValueError(f"{what} entry {item!r} needs the form name=number")
        pairs.append((key.strip(), number.strip()))
    return pairs


def parse_caps(value: str) -> tuple[Cap, ...]:
    """``"sms:day=1,sms:week=3,all:day=2"`` into caps; empty means none."""
    caps = []
    for key, number in _pairs(value, "cap"):
        scope, _, period = key.partition(":")
        if scope not in SCOPES or period not in ("day", "week"):
            raise ValueError(f"cap {key!r} must be <sms|email|wechat|all>:<day|week>")
        limit = int(number)
        if limit < 0:
            raise ValueError(f"cap {key!r} must not be negative")
        caps.append(Cap(scope, cast(Period, period), limit))
    return tuple(caps)


def parse_rate_limits(value: str) -> dict[str, float]:
    """``"sms=50,wechat=100"`` into sends per second per channel; empty means none."""
    limits = {}
    for channel, number in _pairs(value, "rate limit"):
        if channel not in SCOPES - {"all"}:
            raise ValueError(f"rate limit {channel!r} must name sms, email or wechat")
        limits[channel] = float(number)
        if limits[channel] <= 0:
            raise ValueError(f"rate limit for {channel} must be positive")
    return limits


def period_start(at: datetime, tz: str, period: Period) -> datetime:
    """Local midnight starting the member's day (or Monday's, for a week), in UTC."""
    zone = ZoneInfo(tz)
    day = at.astimezone(zone).date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def next_local_day(at: datetime, tz: str) -> datetime:
    """The member's next local midnight, in UTC: when a deferred send may try again."""
    return next_local_time(at, tz, "00:00", [])


def cap_reached(
    session: Session, member_id: int, channel: str, tz: str, caps: tuple[Cap, ...], at: datetime
) -> bool:
    """Whether one more marketing message on ``channel`` at ``at`` would break a cap.

    On PostgreSQL a transaction-scoped advisory lock on the member serialises this check
    with the insert that follows it; SQLite already admits one writer per process (the
    writer lock in ``engine.store.db``).
    """
    relevant = [c for c in caps if c.scope in (channel, "all")]
    if not relevant:
        return False
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": member_id})
    for cap in relevant:
        query = select(func.count()).where(
            MessageLog.member_id == member_id,
            MessageLog.purpose == "marketing",
            col(MessageLog.status).in_(COUNTED_STATUSES),
            col(MessageLog.created_at) >= period_start(at, tz, cap.period),
        )
        if cap.scope != "all":
            query = query.where(MessageLog.channel == channel)
        if session.exec(query).one() >= cap.limit:
            return True
    return False
