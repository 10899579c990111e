"""The pure interpreter: which node comes next, when a wait ends, who is held out.

Everything here is deterministic on its inputs, so the workflow can call it freely
(replays take the same path) and unit tests cover it without Temporal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from journeys.model import Journey, Node, Variant

__all__ = [
    "Plan",
    "bucket",
    "goal_window_open",
    "in_holdout",
    "next_date_attribute",
    "next_local_time",
    "pick_variant",
    "quiet_until",
]


@dataclass(frozen=True)
class Plan:
    """A published journey compiled for lookups: (node, port) -> next node."""

    journey: Journey
    nodes: dict[str, Node]
    next_by_port: dict[tuple[str, str], str]
    trigger_id: str

    @classmethod
    def compile(cls, journey: Journey) -> Plan:
        triggers = journey.triggers()
        if len(triggers) != 1:
            raise ValueError(f"journey {journey.id} must have exactly one trigger")
        return cls(
            journey=journey,
            nodes={n.id: n for n in journey.nodes},
            next_by_port={(e.source, e.port): e.target for e in journey.edges},
            trigger_id=triggers[0].id,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls.compile(Journey.model_validate(data))

    def next(self, node_id: str, port: str) -> str | None:
        return self.next_by_port.get((node_id, port))


def bucket(*parts: object) -> float:
    """A stable number in [0, 100) for a member and a salt: the same on every replay
    and every worker, unlike ``random``."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def in_holdout(journey_id: str, member_id: int, percent: float) -> bool:
    return percent > 0 and bucket("holdout", journey_id, member_id) < percent


def pick_variant(variants: list[Variant], *seed: object) -> str:
    point = bucket("split", *seed)
    cumulative = 0.0
    for variant in variants:
        cumulative += variant.percent
        if point < cumulative:
            return variant.name
    return variants[-1].name


def _parse_hh_mm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def next_local_time(now: datetime, tz: str, time_of_day: str, weekdays: list[int]) -> datetime:
    """The next moment (strictly after ``now``) that is ``time_of_day`` in the member's
    timezone on one of ``weekdays`` (ISO, 1 = Monday; empty means any day). UTC out."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    at = _parse_hh_mm(time_of_day)
    for days_ahead in range(8):
        day = local_now.date() + timedelta(days=days_ahead)
        candidate = datetime.combine(day, at, tzinfo=zone)
        if candidate > local_now and (not weekdays or candidate.isoweekday() in weekdays):
            return candidate.astimezone(UTC)
    raise ValueError(f"no day matches weekdays {weekdays}")


def _anniversary(value: date, year: int) -> date:
    try:
        return value.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def next_date_attribute(
    now: datetime, tz: str, value: str, offset_days: int, time_of_day: str, *, yearly: bool
) -> datetime | None:
    """When a date attribute plus ``offset_days`` comes round, at ``time_of_day`` local.

    ``yearly`` dates (birthdays) take the next anniversary; one-off dates may already be
    past, which gives ``now`` (go on at once). ``None`` when the value is not a date.
    """
    try:
        base = date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return None
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    at = _parse_hh_mm(time_of_day)
    if not yearly:
        target = datetime.combine(base + timedelta(days=offset_days), at, tzinfo=zone)
        return max(target, local_now).astimezone(UTC)
    # Last year's date plus a positive offset may still be ahead (30 Dec + 5 days).
    for year in (local_now.year - 1, local_now.year, local_now.year + 1):
        day = _anniversary(base, year) + timedelta(days=offset_days)
        target = datetime.combine(day, at, tzinfo=zone)
        if target > local_now:
            return target.astimezone(UTC)
    raise AssertionError("an anniversary within three years always exists")


def goal_window_open(entered_at: datetime, window_seconds: int, at: datetime) -> bool:
    return entered_at <= at <= entered_at + timedelta(seconds=window_seconds)


def quiet_until(now: datetime, tz: str, start: str, end: str) -> datetime | None:
    """When the quiet window [start, end) that ``now`` falls in ends, in UTC; ``None``
    when ``now`` is outside it. Times are "HH:MM" in the member's timezone and the
    window may wrap midnight (21:00-09:00); start == end means no window."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    begins, ends, clock = _parse_hh_mm(start), _parse_hh_mm(end), local_now.time()
    today = local_now.date()
    if begins < ends:
        inside, end_day = begins <= clock < ends, today
    else:  # wraps midnight: the evening part ends tomorrow, the morning part today
        inside = clock >= begins or clock < ends
        end_day = today + timedelta(days=1) if clock >= begins else today
    if begins == ends or not inside:
        return None
    return datetime.combine(end_day, ends, tzinfo=zone).astimezone(UTC)
