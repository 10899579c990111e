"""Quiet hours and frequency caps, judged in each member's own timezone and calendar.

The time-skipping server's clock is wherever earlier tests left it, so windows are
built around its current time, and send times are checked against that clock (the
message row is stamped with the workflow's time of sending).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.testing import WorkflowEnvironment

from engine.config import get_settings
from tests.support import Harness, running_harness
from tests.workflows.helpers import as_utc, exit_, journey, messages, rows, send, trigger

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
CLOSE = timedelta(minutes=1)


@pytest.fixture
async def capped(
    time_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Harness]:
    """A worker whose settings (read from the environment) cap SMS at one a day."""
    monkeypatch.setenv("JOURNEY_CAPS", "sms:day=1")
    async with running_harness(time_env, tmp_path) as h:
        yield h


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """The router reads the brand default from the process settings, cached once."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _window_around(now: datetime) -> str:
    """Quiet hours from an hour before to two hours after ``now`` in Shanghai; Los
    Angeles is 15 or 16 hours behind, so the same instant is outside them there."""
    local = now.astimezone(SHANGHAI)
    return f"{local - timedelta(hours=1):%H:%M}-{local + timedelta(hours=2):%H:%M}"


def _sent_at(harness: Harness, member_id: int, node_id: str = "sms") -> datetime:
    (row,) = [m for m in messages(harness) if m.member_id == member_id and m.node_id == node_id]
    assert row.status == "accepted"
    return as_utc(row.created_at)


def _marketing_and_receipt(journey_id: str, **settings: Any) -> dict[str, Any]:
    receipt = {**send("receipt"), "purpose": "transactional"}
    return journey(journey_id, [trigger(), receipt, send("sms"), exit_()], **settings)


async def test_quiet_hours_defer_to_the_window_end_in_each_members_timezone(
    harness: Harness,
) -> None:
    now = await harness.env.get_current_time()
    window = _window_around(now)
    harness.publish(_marketing_and_receipt("quiet_tz", quiet_hours=window))
    shanghai = harness.member("m-0001", timezone="Asia/Shanghai")
    los_angeles = harness.member("m-0002", timezone="America/Los_Angeles")
    await harness.event("m-0001", "registered")
    await harness.event("m-0002", "registered")

    assert await harness.result("quiet_tz", los_angeles) == "completed"
    assert await harness.result("quiet_tz", shanghai) == "completed"
    window_end = (now.astimezone(SHANGHAI) + timedelta(hours=2)).replace(second=0, microsecond=0)
    sent = _sent_at(harness, shanghai)
    assert window_end <= sent < window_end + CLOSE
    assert f"{sent.astimezone(SHANGHAI):%H:%M}" == window.split("-")[1]
    assert now <= _sent_at(harness, los_angeles) < now + CLOSE
    # transactional messages ignore quiet hours
    assert now <= _sent_at(harness, shanghai, "receipt") < now + CLOSE
    deferred = rows(harness, "quiet_tz", kind="deferred")
    assert [(r.member_id, r.node_id, r.reason) for r in deferred] == [
        (shanghai, "sms", "quiet_hours")
    ]
    assert now <= as_utc(deferred[0].at) < now + CLOSE
    assert len(harness.delivered()) == 4


@pytest.mark.usefixtures("fresh_settings")
async def test_brand_quiet_hours_apply_unless_the_journey_turns_them_off(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = await harness.env.get_current_time()
    window = _window_around(now)
    monkeypatch.setenv("JOURNEY_QUIET_HOURS", window)
    harness.publish(journey("quiet_brand", [trigger(), send("sms"), exit_()]))
    harness.publish(journey("quiet_off", [trigger(), send("sms"), exit_()], quiet_hours=""))
    member_id = harness.member("m-0001", timezone="Asia/Shanghai")
    await harness.event("m-0001", "registered")

    assert await harness.result("quiet_off", member_id) == "completed"
    assert await harness.result("quiet_brand", member_id) == "completed"
    sent = {m.journey_id: as_utc(m.created_at) for m in messages(harness)}
    assert now <= sent["quiet_off"] < now + CLOSE
    assert f"{sent['quiet_brand'].astimezone(SHANGHAI):%H:%M}" == window.split("-")[1]
    assert now + timedelta(hours=1) < sent["quiet_brand"] <= now + timedelta(hours=2)


async def test_cap_across_journeys_sends_one_sms_and_skips_the_other(capped: Harness) -> None:
    capped.publish(journey("cap_a", [trigger(), send("sms"), exit_()]))
    capped.publish(journey("cap_b", [trigger(), send("sms"), exit_()]))
    member_id = capped.member("m-0001")
    await capped.event("m-0001", "registered")  # enters both journeys at once

    assert await capped.result("cap_a", member_id) == "completed"
    assert await capped.result("cap_b", member_id) == "completed"
    assert sorted((m.status, m.error_kind) for m in messages(capped)) == [
        ("accepted", None),
        ("skipped", "frequency_cap"),
    ]
    skips = capped.skips("cap_a") + capped.skips("cap_b")
    assert skips == {("sms", "frequency_cap"): 1}
    assert len(capped.delivered()) == 1


async def test_transactional_sms_is_not_capped(capped: Harness) -> None:
    capped.publish(_marketing_and_receipt("cap_receipt"))
    member_id = capped.member("m-0001")
    await capped.event("m-0001", "registered")

    assert await capped.result("cap_receipt", member_id) == "completed"
    assert capped.skips("cap_receipt") == {}
    assert len(capped.delivered()) == 2


async def test_cap_in_defer_mode_sends_on_the_members_next_local_day(capped: Harness) -> None:
    def at_noon(journey_id: str, minute: int, **settings: Any) -> dict[str, Any]:
        noon = {"id": "noon", "kind": "wait_until_time", "time_of_day": f"12:{minute:02d}"}
        return journey(journey_id, [trigger(), noon, send("sms"), exit_()], **settings)

    # Both wait for local noon, so the first sends at 12:00 and the other meets the cap
    # at 12:01 the same day, whatever the server clock says.
    capped.publish(at_noon("cap_first", 0))
    capped.publish(at_noon("cap_later", 1, on_cap="defer"))
    member_id = capped.member("m-0001", timezone="America/Los_Angeles")
    await capped.event("m-0001", "registered")
    assert await capped.result("cap_first", member_id) == "completed"
    assert await capped.result("cap_later", member_id) == "completed"

    first, later = messages(capped)
    assert (first.journey_id, later.journey_id) == ("cap_first", "cap_later")
    first_local = as_utc(first.created_at).astimezone(LOS_ANGELES)
    assert f"{first_local:%H:%M}" == "12:00"
    next_midnight = datetime.combine(
        first_local.date() + timedelta(days=1), time(), tzinfo=LOS_ANGELES
    )
    assert next_midnight <= as_utc(later.created_at) < next_midnight + CLOSE
    assert later.status == "accepted"
    assert later.idempotency_key.endswith(":sms:1")  # the same key, tried again
    assert capped.skips("cap_later") == {}
    deferred = rows(capped, "cap_later", kind="deferred")
    assert [(r.node_id, r.reason) for r in deferred] == [("sms", "frequency_cap")]
    assert f"{as_utc(deferred[0].at).astimezone(LOS_ANGELES):%H:%M}" == "12:01"
    assert len(capped.delivered()) == 2
