"""Timers: fixed waits, a local time of day per member timezone, and a yearly date."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from tests.support import Harness
from tests.workflows.helpers import (
    entered_at,
    exit_,
    journey,
    messages,
    path_of,
    send,
    trigger,
    wait,
)


async def test_multi_day_wait_then_send(harness: Harness, time_env: WorkflowEnvironment) -> None:
    harness.publish(journey("w_days", [trigger(), wait("w", days=3), send("s"), exit_()]))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")

    await time_env.sleep(timedelta(days=2))
    assert harness.delivered() == []

    assert await harness.result("w_days", member_id) == "completed"
    assert len(harness.delivered()) == 1
    waited = entered_at(harness, "w_days", member_id, "s") - entered_at(
        harness, "w_days", member_id, "w"
    )
    assert timedelta(days=3) <= waited < timedelta(days=3, minutes=1)
    assert path_of(harness, "w_days", member_id) == ["start", "w", "s", "done"]


async def test_wait_until_time_wakes_at_nine_in_each_members_timezone(harness: Harness) -> None:
    harness.publish(
        journey(
            "w_nine",
            [
                trigger(),
                {"id": "nine", "kind": "wait_until_time", "time_of_day": "09:00"},
                send("s"),
                exit_(),
            ],
        )
    )
    zones = {"m-0001": "America/New_York", "m-0002": "Asia/Shanghai"}
    ids = {ext: harness.member(ext, timezone=tz) for ext, tz in zones.items()}
    for ext in zones:
        await harness.event(ext, "registered")

    woke: dict[str, datetime] = {}
    for ext, tz in zones.items():
        assert await harness.result("w_nine", ids[ext]) == "completed"
        woke[ext] = entered_at(harness, "w_nine", ids[ext], "s")
        entered = entered_at(harness, "w_nine", ids[ext], "nine")
        local = woke[ext].astimezone(ZoneInfo(tz))
        assert (local.hour, local.minute) == (9, 0), (tz, local)
        assert entered < woke[ext] <= entered + timedelta(days=1)
    assert woke["m-0001"] != woke["m-0002"]
    assert woke["m-0002"].astimezone(ZoneInfo("UTC")).hour == 1  # 09:00 +08:00
    assert woke["m-0001"].astimezone(ZoneInfo("UTC")).hour in (13, 14)  # EDT / EST
    assert len(harness.delivered()) == 2


async def test_wait_until_time_on_a_weekday(harness: Harness) -> None:
    harness.publish(
        journey(
            "w_monday",
            [
                trigger(),
                {
                    "id": "monday",
                    "kind": "wait_until_time",
                    "time_of_day": "09:30",
                    "weekdays": [1],
                },
                send("s"),
                exit_(),
            ],
        )
    )
    member_id = harness.member("m-0001", timezone="Europe/London")
    await harness.event("m-0001", "registered")

    assert await harness.result("w_monday", member_id) == "completed"
    local = entered_at(harness, "w_monday", member_id, "s").astimezone(ZoneInfo("Europe/London"))
    assert (local.isoweekday(), local.hour, local.minute) == (1, 9, 30)
    waited = local - entered_at(harness, "w_monday", member_id, "monday")
    assert timedelta(0) < waited <= timedelta(days=7)


def _birthday_journey(journey_id: str) -> dict[str, object]:
    return journey(
        journey_id,
        [
            trigger(),
            {
                "id": "before_birthday",
                "kind": "wait_until_date",
                "attribute": "birthday",
                "offset_days": -3,
                "time_of_day": "10:00",
            },
            send("s"),
            exit_(),
        ],
    )


async def test_wait_until_three_days_before_the_birthday(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_birthday_journey("w_birthday"))
    zone = ZoneInfo("Asia/Shanghai")
    today = (await time_env.get_current_time()).astimezone(zone).date()
    birthday = today + timedelta(days=20)
    if (birthday.month, birthday.day) == (2, 29):
        birthday += timedelta(days=1)
    member_id = harness.member(
        "m-0001", attributes={"birthday": date(1990, birthday.month, birthday.day).isoformat()}
    )
    await harness.event("m-0001", "registered")

    assert await harness.result("w_birthday", member_id) == "completed"
    expected = datetime.combine(birthday - timedelta(days=3), time(10, 0), tzinfo=zone)
    woke = entered_at(harness, "w_birthday", member_id, "s")
    assert expected <= woke < expected + timedelta(minutes=1)
    assert harness.skips("w_birthday") == {}
    assert len(harness.delivered()) == 1


async def test_member_without_the_date_is_skipped_and_goes_on(harness: Harness) -> None:
    harness.publish(_birthday_journey("w_no_birthday"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")

    assert await harness.result("w_no_birthday", member_id) == "completed"
    assert harness.skips("w_no_birthday") == {("before_birthday", "no_date"): 1}
    assert path_of(harness, "w_no_birthday", member_id) == [
        "start",
        "before_birthday",
        "s",
        "done",
    ]
    waited = entered_at(harness, "w_no_birthday", member_id, "s") - entered_at(
        harness, "w_no_birthday", member_id, "before_birthday"
    )
    assert waited < timedelta(minutes=1)
    assert [m.status for m in messages(harness)] == ["accepted"]
