"""The seeds' new-member coupon pack, run on Temporal's time-skipping server."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from engine.store.db import session_scope
from engine.store.models import Coupon, MessageLog
from journeys.playbooks import load_playbook
from tests.support import Harness


def _welcome_without_holdout() -> dict[str, object]:
    data = load_playbook("welcome_coupon_pack").model_dump(mode="json")
    data["settings"]["holdout_percent"] = 0
    return data


async def test_member_who_never_orders_gets_every_coupon_and_reminder_once(
    harness: Harness,
) -> None:
    harness.publish(_welcome_without_holdout())
    member_id = harness.member("m-0001", first_name="小明")
    await harness.event("m-0001", "registered")

    assert await harness.result("welcome_coupon_pack", member_id) == "completed"

    with session_scope(harness.engine) as session:
        coupons = session.exec(select(Coupon.template_id)).all()
        messages = session.exec(select(MessageLog)).all()
    assert sorted(coupons) == sorted(
        [
            "welcome_no_threshold",
            "welcome_low_threshold",
            "welcome_mid_threshold",
            "welcome_high_threshold",
        ]
    )
    assert [m.status for m in messages] == ["accepted"] * 5
    delivered = harness.delivered()
    assert len(delivered) == 5
    assert "小明" in delivered[0]["body"]
    entered = harness.node_events("welcome_coupon_pack")
    assert entered["exit_pack_used_up"] == 1
    assert entered["exit_converted"] == 0
    assert set(entered.values()) == {1}
    (run,) = harness.runs("welcome_coupon_pack")
    assert run.status == "completed"
    assert run.current_node == "exit_pack_used_up"


async def test_order_during_the_pack_reaches_the_goal_and_stops_the_sends(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_welcome_without_holdout())
    member_id = harness.member("m-0002")
    await harness.event("m-0002", "registered")
    await time_env.sleep(timedelta(days=2, hours=12))
    await harness.event("m-0002", "order_paid")

    assert await harness.result("welcome_coupon_pack", member_id) == "converted"
    assert harness.node_events("welcome_coupon_pack", "goal") == {"wait_first_order": 1}
    assert harness.node_events("welcome_coupon_pack", "left") == {"wait_first_order": 1}
    assert len(harness.delivered()) == 2
