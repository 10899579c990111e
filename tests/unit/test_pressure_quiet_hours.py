"""Quiet hours: the pure time maths and the setting's validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from engine.runtime.steps import quiet_until
from journeys.model import JourneySettings

SH = "Asia/Shanghai"  # UTC+8, no DST


def _utc(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (_utc(13), _utc(1, day=11)),  # 21:00 local: the window starts, ends 09:00 tomorrow
        (_utc(15, 59), _utc(1, day=11)),  # 23:59 local
        (_utc(16), _utc(1, day=11)),  # 00:00 local, the morning part
        (_utc(0, 59), _utc(1)),  # 08:59 local
        (_utc(1), None),  # 09:00 local: the window has ended
        (_utc(12, 59), None),  # 20:59 local
    ],
)
def test_window_wrapping_midnight(now: datetime, expected: datetime | None) -> None:
    assert quiet_until(now, SH, "21:00", "09:00") == expected


def test_window_within_one_day() -> None:
    assert quiet_until(_utc(5), SH, "12:00", "14:00") == _utc(6)  # 13:00 local
    assert quiet_until(_utc(6), SH, "12:00", "14:00") is None
    assert quiet_until(_utc(3, 59), SH, "12:00", "14:00") is None


def test_same_start_and_end_is_no_window() -> None:
    assert quiet_until(_utc(5), SH, "13:00", "13:00") is None


def test_window_is_judged_in_the_members_timezone() -> None:
    now = _utc(14)  # 22:00 in Shanghai, 07:00 in Los Angeles (PDT)
    assert quiet_until(now, SH, "21:00", "09:00") == _utc(1, day=11)
    assert quiet_until(now, "America/Los_Angeles", "21:00", "09:00") == _utc(16)


def test_window_end_on_a_dst_change_day() -> None:
    # Los Angeles moved to PDT at 02:00 on 9 March 2025: 09:00 that day is 16:00 UTC.
    now = datetime(2025, 3, 9, 8, tzinfo=UTC)  # 00:00 PST
    assert quiet_until(now, "America/Los_Angeles", "21:00", "09:00") == datetime(
        2025, 3, 9, 16, tzinfo=UTC
    )


@pytest.mark.parametrize("value", ["21:00-09:00", "00:00-23:59", ""])
def test_journey_quiet_hours_accept_hh_mm_ranges(value: str) -> None:
    assert JourneySettings(quiet_hours=value).quiet_hours == value
    assert JourneySettings().quiet_hours is None


@pytest.mark.parametrize("value", ["24:00-09:00", "21:00", "9:00-10:00", "21:00-09:00 "])
def test_journey_quiet_hours_reject_other_text(value: str) -> None:
    with pytest.raises(ValidationError):
        JourneySettings(quiet_hours=value)
