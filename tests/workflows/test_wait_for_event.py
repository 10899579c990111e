"""wait_for_event: the timeout port, the event port, and events that came earlier."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.support import Harness
from tests.workflows.helpers import entered_at, exit_, journey, path_of, send, trigger, wait

BOUGHT = ["start", "await_order", "thanks", "exit_bought"]
TIMED_OUT = ["start", "await_order", "remind", "exit_no_order"]


def _journey(journey_id: str, *, first_wait_days: int = 0, already_done: str = "take_path") -> Any:
    nodes = [trigger()]
    edges = [("start", "next", "await_order")]
    if first_wait_days:
        nodes.append(wait("before", days=first_wait_days))
        edges = [("start", "next", "before"), ("before", "next", "await_order")]
    nodes += [
        {
            "id": "await_order",
            "kind": "wait_for_event",
            "events": ["order_paid"],
            "timeout": {"days": 3},
            "already_done": already_done,
        },
        send("thanks", "followup_sms"),
        exit_("exit_bought"),
        send("remind", "unpaid_reminder_sms"),
        exit_("exit_no_order"),
    ]
    edges += [
        ("await_order", "order_paid", "thanks"),
        ("thanks", "next", "exit_bought"),
        ("await_order", "timeout", "remind"),
        ("remind", "next", "exit_no_order"),
    ]
    return journey(journey_id, nodes, edges)


def _templates(harness: Harness) -> list[str]:
    return [m["data"]["template_id"] for m in harness.delivered()]


async def test_no_event_takes_the_timeout_port(harness: Harness) -> None:
    harness.publish(_journey("wfe_timeout"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")

    assert await harness.result("wfe_timeout", member_id) == "completed"
    assert path_of(harness, "wfe_timeout", member_id) == TIMED_OUT
    waited = entered_at(harness, "wfe_timeout", member_id, "remind") - entered_at(
        harness, "wfe_timeout", member_id, "await_order"
    )
    assert timedelta(days=3) <= waited < timedelta(days=3, minutes=1)
    assert _templates(harness) == ["unpaid_reminder_sms"]


async def test_event_before_the_timeout_takes_the_event_port(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_journey("wfe_met"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    await harness.event("m-0001", "order_paid")

    assert await harness.result("wfe_met", member_id) == "completed"
    assert path_of(harness, "wfe_met", member_id) == BOUGHT
    waited = entered_at(harness, "wfe_met", member_id, "thanks") - entered_at(
        harness, "wfe_met", member_id, "await_order"
    )
    assert timedelta(days=1) <= waited < timedelta(days=1, hours=1)
    assert _templates(harness) == ["followup_sms"]


async def test_take_path_uses_an_event_that_came_during_an_earlier_wait(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_journey("wfe_take_path", first_wait_days=2))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    await harness.event("m-0001", "order_paid")

    assert await harness.result("wfe_take_path", member_id) == "completed"
    assert path_of(harness, "wfe_take_path", member_id) == ["start", "before", *BOUGHT[1:]]
    # Taken at once on arrival, not after waiting for another event.
    waited = entered_at(harness, "wfe_take_path", member_id, "thanks") - entered_at(
        harness, "wfe_take_path", member_id, "await_order"
    )
    assert waited < timedelta(minutes=1)
    assert _templates(harness) == ["followup_sms"]


async def test_wait_mode_ignores_earlier_events_but_not_later_ones(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_journey("wfe_wait_mode", first_wait_days=2, already_done="wait"))
    ignored = harness.member("m-0001")
    later = harness.member("m-0002")
    await harness.event("m-0001", "registered")
    await harness.event("m-0002", "registered")
    await time_env.sleep(timedelta(days=1))
    await harness.event("m-0001", "order_paid")
    await harness.event("m-0002", "order_paid")
    await time_env.sleep(timedelta(days=2))  # both now wait at await_order (day 3)
    await harness.event("m-0002", "order_paid")

    assert await harness.result("wfe_wait_mode", ignored) == "completed"
    assert await harness.result("wfe_wait_mode", later) == "completed"
    assert path_of(harness, "wfe_wait_mode", ignored) == ["start", "before", *TIMED_OUT[1:]]
    assert path_of(harness, "wfe_wait_mode", later) == ["start", "before", *BOUGHT[1:]]
    waited = entered_at(harness, "wfe_wait_mode", ignored, "remind") - entered_at(
        harness, "wfe_wait_mode", ignored, "await_order"
    )
    assert waited >= timedelta(days=3)
    assert sorted(_templates(harness)) == ["followup_sms", "unpaid_reminder_sms"]
