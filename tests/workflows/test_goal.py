"""Goals: exit on conversion or just count it, the window, and the trigger event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from engine.store.db import session_scope
from engine.store.models import Coupon
from journeys.playbooks import load_playbook
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, path_of, rows, send, trigger, wait


def _three_sends(journey_id: str, *, exit_on_goal: bool, window_days: int = 14) -> Any:
    return journey(
        journey_id,
        [
            trigger(),
            send("s1", "followup_sms"),
            wait("w1", days=2),
            send("s2", "unpaid_reminder_sms"),
            wait("w2", days=2),
            send("s3", "followup_sms"),
            exit_(),
        ],
        goal={"event": "order_paid", "window": {"days": window_days}},
        exit_on_goal=exit_on_goal,
    )


async def test_goal_exits_the_member_where_they_wait(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_three_sends("goal_exit", exit_on_goal=True))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    await harness.event("m-0001", "order_paid")

    assert await harness.result("goal_exit", member_id) == "converted"
    assert harness.node_events("goal_exit", "goal") == {"w1": 1}
    (left,) = rows(harness, "goal_exit", kind="left")
    assert (left.node_id, left.reason) == ("w1", "goal")
    assert path_of(harness, "goal_exit", member_id) == ["start", "s1", "w1"]
    assert len(harness.delivered()) == 1
    await time_env.sleep(timedelta(days=5))
    assert len(harness.delivered()) == 1
    (run,) = harness.runs("goal_exit")
    assert run.status == "converted"


async def test_goal_without_exit_is_recorded_and_the_member_goes_on(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_three_sends("goal_stay", exit_on_goal=False))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    await harness.event("m-0001", "order_paid")

    assert await harness.result("goal_stay", member_id) == "completed"
    assert harness.node_events("goal_stay", "goal") == {"w1": 1}
    (left,) = rows(harness, "goal_stay", kind="left")
    assert (left.node_id, left.reason) == ("done", "exit")
    assert path_of(harness, "goal_stay", member_id)[-1] == "done"
    assert len(harness.delivered()) == 3


async def test_goal_after_the_window_is_not_counted(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_three_sends("goal_late", exit_on_goal=True, window_days=1))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=3))  # past the window, waiting at w2
    await harness.event("m-0001", "order_paid")

    assert await harness.result("goal_late", member_id) == "completed"
    assert harness.node_events("goal_late", "goal") == {}
    assert len(harness.delivered()) == 3


def _first_to_second_order(journey_id: str) -> dict[str, Any]:
    data = load_playbook("first_to_second_order").model_dump(mode="json")
    data["id"] = journey_id
    data["settings"]["holdout_percent"] = 0
    return data


async def test_trigger_event_never_counts_as_the_goal(harness: Harness) -> None:
    harness.publish(_first_to_second_order("goal_f2_once"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "order_paid")

    assert await harness.result("goal_f2_once", member_id) == "completed"
    assert harness.node_events("goal_f2_once", "goal") == {}
    assert path_of(harness, "goal_f2_once", member_id)[-1] == "exit_no_repurchase"
    templates = [m["data"]["template_id"] for m in harness.delivered()]
    assert templates == ["coupon_arrived_wechat", "coupon_expiry_sms"]
    with session_scope(harness.engine) as session:
        assert session.exec(select(Coupon.template_id)).all() == ["repurchase_20"]


async def test_second_order_is_the_goal(harness: Harness, time_env: WorkflowEnvironment) -> None:
    harness.publish(_first_to_second_order("goal_f2"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "order_paid")
    await time_env.sleep(timedelta(days=2))
    await harness.event("m-0001", "order_paid")

    assert await harness.result("goal_f2", member_id) == "converted"
    assert harness.node_events("goal_f2", "goal") == {"wait_5d": 1}
    (left,) = rows(harness, "goal_f2", kind="left")
    assert (left.node_id, left.reason) == ("wait_5d", "goal")
    assert [m["data"]["template_id"] for m in harness.delivered()] == ["coupon_arrived_wechat"]
    assert len(harness.runs("goal_f2")) == 1
