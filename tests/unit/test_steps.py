"""The pure interpreter: local times, date attributes, stable buckets, splits, holdout."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.runtime.steps import (
    Plan,
    bucket,
    goal_window_open,
    in_holdout,
    next_date_attribute,
    next_local_time,
    pick_variant,
)
from journeys.model import Journey, Variant

NY = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


# ---------------------------------------------------------------- next_local_time


def test_next_local_time_later_today_and_tomorrow() -> None:
    now = local(SH, 2025, 6, 10, 8, 0)
    assert next_local_time(now, "Asia/Shanghai", "09:00", []) == utc(2025, 6, 10, 1, 0)
    later = local(SH, 2025, 6, 10, 9, 30)
    assert next_local_time(later, "Asia/Shanghai", "09:00", []) == utc(2025, 6, 11, 1, 0)


def test_next_local_time_is_strictly_after_now() -> None:
    now = local(SH, 2025, 6, 10, 9, 0)
    assert next_local_time(now, "Asia/Shanghai", "09:00", []) == utc(2025, 6, 11, 1, 0)


def test_next_local_time_returns_utc() -> None:
    result = next_local_time(utc(2025, 6, 10, 0, 0), "Asia/Shanghai", "09:00", [])
    assert result.utcoffset() == timedelta(0)


def test_same_local_time_is_a_different_instant_per_timezone() -> None:
    now = utc(2025, 6, 10, 0, 0)
    new_york = next_local_time(now, "America/New_York", "09:00", [])
    shanghai = next_local_time(now, "Asia/Shanghai", "09:00", [])
    assert new_york == utc(2025, 6, 10, 13, 0)  # EDT, -04:00
    assert shanghai == utc(2025, 6, 10, 1, 0)


def test_next_local_time_across_spring_forward() -> None:
    # New York moves to EDT at 02:00 on Sunday 9 March 2025.
    saturday_noon = local(NY, 2025, 3, 8, 12, 0)
    assert next_local_time(saturday_noon, "America/New_York", "09:00", []) == utc(2025, 3, 9, 13, 0)
    friday_noon = local(NY, 2025, 3, 7, 12, 0)
    assert next_local_time(friday_noon, "America/New_York", "09:00", []) == utc(2025, 3, 8, 14, 0)


def test_next_local_time_across_fall_back() -> None:
    # Back to EST at 02:00 on Sunday 2 November 2025.
    saturday_noon = local(NY, 2025, 11, 1, 12, 0)
    assert next_local_time(saturday_noon, "America/New_York", "09:00", []) == utc(
        2025, 11, 2, 14, 0
    )


def test_time_that_does_not_exist_on_the_spring_forward_day_is_still_a_real_instant() -> None:
    result = next_local_time(local(NY, 2025, 3, 8, 12, 0), "America/New_York", "02:30", [])
    assert result == utc(2025, 3, 9, 7, 30)  # read as EST: 03:30 EDT
    assert result > local(NY, 2025, 3, 8, 12, 0)


def test_weekdays_pick_the_next_matching_day() -> None:
    monday = local(SH, 2025, 6, 9, 10, 0)
    assert monday.isoweekday() == 1
    wednesday = next_local_time(monday, "Asia/Shanghai", "09:00", [3, 5])
    assert wednesday.astimezone(SH) == local(SH, 2025, 6, 11, 9, 0)
    friday = next_local_time(monday, "Asia/Shanghai", "09:00", [5])
    assert friday.astimezone(SH) == local(SH, 2025, 6, 13, 9, 0)


def test_todays_weekday_already_past_means_next_week() -> None:
    monday = local(SH, 2025, 6, 9, 10, 0)
    result = next_local_time(monday, "Asia/Shanghai", "09:00", [1])
    assert result.astimezone(SH) == local(SH, 2025, 6, 16, 9, 0)
    earlier = local(SH, 2025, 6, 9, 8, 0)
    assert next_local_time(earlier, "Asia/Shanghai", "09:00", [1]).astimezone(SH) == local(
        SH, 2025, 6, 9, 9, 0
    )


def test_weekday_is_judged_in_the_members_timezone() -> None:
    # 20:00 UTC on Sunday is already Monday 04:00 in Shanghai.
    now = utc(2025, 6, 8, 20, 0)
    result = next_local_time(now, "Asia/Shanghai", "09:00", [1])
    assert result == utc(2025, 6, 9, 1, 0)


def test_weekdays_that_never_match_are_an_error() -> None:
    with pytest.raises(ValueError):
        next_local_time(utc(2025, 6, 9, 0, 0), "Asia/Shanghai", "09:00", [8])


# ---------------------------------------------------------------- next_date_attribute


def test_yearly_date_with_negative_offset_this_year() -> None:
    now = local(SH, 2025, 6, 1, 12, 0)
    result = next_date_attribute(now, "Asia/Shanghai", "1990-06-20", -3, "10:00", yearly=True)
    assert result == local(SH, 2025, 6, 17, 10, 0)
    assert result is not None and result.utcoffset() == timedelta(0)


def test_yearly_date_already_past_goes_to_next_year() -> None:
    now = local(SH, 2025, 6, 18, 12, 0)
    result = next_date_attribute(now, "Asia/Shanghai", "1990-06-20", -3, "10:00", yearly=True)
    assert result == local(SH, 2026, 6, 17, 10, 0)


def test_yearly_negative_offset_reaching_back_into_the_previous_year() -> None:
    now = local(SH, 2025, 12, 15, 12, 0)
    result = next_date_attribute(now, "Asia/Shanghai", "1990-01-02", -3, "10:00", yearly=True)
    assert result == local(SH, 2025, 12, 30, 10, 0)


def test_yearly_positive_offset_running_into_the_next_year() -> None:
    # Last year's 30 December + 5 days is 4 January: still ahead on 2 January.
    now = local(SH, 2026, 1, 2, 12, 0)
    result = next_date_attribute(now, "Asia/Shanghai", "1990-12-30", 5, "10:00", yearly=True)
    assert result == local(SH, 2026, 1, 4, 10, 0)


def test_yearly_twenty_ninth_of_february() -> None:
    common = local(SH, 2025, 1, 10, 12, 0)
    assert next_date_attribute(
        common, "Asia/Shanghai", "2000-02-29", 0, "10:00", yearly=True
    ) == local(SH, 2025, 3, 1, 10, 0)
    assert next_date_attribute(
        common, "Asia/Shanghai", "2000-02-29", -3, "10:00", yearly=True
    ) == local(SH, 2025, 2, 26, 10, 0)
    leap = local(SH, 2028, 1, 10, 12, 0)
    assert next_date_attribute(
        leap, "Asia/Shanghai", "2000-02-29", 0, "10:00", yearly=True
    ) == local(SH, 2028, 2, 29, 10, 0)
    after_in_common_year = local(SH, 2027, 3, 2, 12, 0)
    assert next_date_attribute(
        after_in_common_year, "Asia/Shanghai", "2000-02-29", 0, "10:00", yearly=True
    ) == local(SH, 2028, 2, 29, 10, 0)


def test_one_off_date_in_the_future_and_in_the_past() -> None:
    now = local(SH, 2025, 6, 1, 12, 0)
    future = next_date_attribute(now, "Asia/Shanghai", "2025-06-20", -3, "10:00", yearly=False)
    assert future == local(SH, 2025, 6, 17, 10, 0)
    past = next_date_attribute(now, "Asia/Shanghai", "2024-06-20", 0, "10:00", yearly=False)
    assert past == now  # go on at once
    earlier_today = next_date_attribute(
        now, "Asia/Shanghai", "2025-06-01", 0, "10:00", yearly=False
    )
    assert earlier_today == now


def test_date_attribute_takes_the_date_part_of_a_timestamp() -> None:
    now = local(SH, 2025, 6, 1, 12, 0)
    result = next_date_attribute(
        now, "Asia/Shanghai", "2025-06-20T23:59:00+00:00", 0, "10:00", yearly=False
    )
    assert result == local(SH, 2025, 6, 20, 10, 0)


@pytest.mark.parametrize("value", ["", "None", "not a date", "2025-13-01", "2025-02-30"])
def test_values_that_are_not_dates_give_none(value: str) -> None:
    now = local(SH, 2025, 6, 1, 12, 0)
    assert next_date_attribute(now, "Asia/Shanghai", value, 0, "10:00", yearly=True) is None
    assert next_date_attribute(now, "Asia/Shanghai", value, 0, "10:00", yearly=False) is None


def test_date_attribute_time_of_day_is_local() -> None:
    now = utc(2025, 6, 1, 0, 0)
    result = next_date_attribute(now, "America/New_York", "2025-06-20", 0, "10:00", yearly=False)
    assert result == utc(2025, 6, 20, 14, 0)


# ---------------------------------------------------------------- buckets and splits


def test_bucket_is_stable_across_processes_and_in_range() -> None:
    # sha256-based, not hash(): the same in every process, on every replay.
    assert bucket("holdout", "j", 1) == pytest.approx(86.5408981700818)
    assert bucket("split", "x") == pytest.approx(57.02877343047974)
    assert bucket("a", 1) == bucket("a", "1")  # parts are joined as text
    assert bucket("a", 1) != bucket("a", 2)
    values = [bucket("range", i) for i in range(2000)]
    assert all(0 <= v < 100 for v in values)


def test_pick_variant_is_deterministic_per_seed() -> None:
    variants = [Variant(name="a", percent=50), Variant(name="b", percent=50)]
    first = [pick_variant(variants, "wf", i, "split", 1) for i in range(200)]
    again = [pick_variant(variants, "wf", i, "split", 1) for i in range(200)]
    assert first == again


@pytest.mark.parametrize(
    "shares", [(50.0, 50.0), (10.0, 90.0), (20.0, 30.0, 50.0), (33.3, 33.3, 33.4)]
)
def test_pick_variant_distribution_follows_the_percentages(shares: tuple[float, ...]) -> None:
    variants = [Variant(name=f"v{i}", percent=p) for i, p in enumerate(shares)]
    n = 20000
    counts = Counter(pick_variant(variants, "wf", i) for i in range(n))
    for i, share in enumerate(shares):
        assert abs(counts[f"v{i}"] / n * 100 - share) < 1.5, (shares, counts)


def test_pick_variant_falls_back_to_the_last_variant() -> None:
    # Shares that do not reach 100 (invalid on publish) still give an answer.
    variants = [Variant(name="a", percent=1), Variant(name="b", percent=1)]
    counts = Counter(pick_variant(variants, i) for i in range(1000))
    assert counts["b"] > 950


def test_in_holdout_edges() -> None:
    members = range(1, 2001)
    assert not any(in_holdout("j", m, 0) for m in members)
    assert all(in_holdout("j", m, 100) for m in members)
    held = sum(in_holdout("j", m, 10) for m in members)
    assert 150 < held < 250
    # Raising the share only ever adds members: a held-out member stays held out.
    assert all(in_holdout("j", m, 20) for m in members if in_holdout("j", m, 10))
    assert in_holdout("j", 1, 87) and not in_holdout("j", 1, 86)  # bucket 86.54...


def test_in_holdout_depends_on_the_journey() -> None:
    a = [in_holdout("journey_a", m, 50) for m in range(200)]
    b = [in_holdout("journey_b", m, 50) for m in range(200)]
    assert a != b


def test_goal_window_bounds_are_inclusive() -> None:
    entered = utc(2025, 6, 1, 0, 0)
    day = 24 * 3600
    assert goal_window_open(entered, day, entered)
    assert goal_window_open(entered, day, entered + timedelta(days=1))
    assert not goal_window_open(entered, day, entered + timedelta(days=1, seconds=1))
    assert not goal_window_open(entered, day, entered - timedelta(seconds=1))


# ---------------------------------------------------------------- plan


def test_plan_follows_ports_and_needs_one_trigger() -> None:
    journey = Journey.model_validate(
        {
            "id": "p",
            "name": "p",
            "nodes": [
                {"id": "start", "kind": "trigger_api"},
                {"id": "w", "kind": "wait_for_event", "events": ["x"]},
                {"id": "a", "kind": "exit"},
                {"id": "b", "kind": "exit"},
            ],
            "edges": [
                {"source": "start", "target": "w"},
                {"source": "w", "port": "x", "target": "a"},
                {"source": "w", "port": "timeout", "target": "b"},
            ],
        }
    )
    plan = Plan.from_json(journey.model_dump(mode="json"))
    assert plan.trigger_id == "start"
    assert (plan.next("start", "next"), plan.next("w", "x"), plan.next("w", "timeout")) == (
        "w",
        "a",
        "b",
    )
    assert plan.next("a", "next") is None
    no_trigger = journey.model_copy(update={"nodes": journey.nodes[1:]})
    with pytest.raises(ValueError):
        Plan.compile(no_trigger)
