"""Holdout members get nothing but are still watched for the goal."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from tests.support import Harness
from tests.workflows.helpers import exit_, journey, messages, rows, send, trigger, wait


async def test_full_holdout_sends_nothing_and_records_the_goal(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(
        journey(
            "holdout_all",
            [trigger(), send("s"), wait("w", days=1), send("s2"), exit_()],
            holdout_percent=100,
            goal={"event": "order_paid", "window": {"days": 7}},
        )
    )
    converts = harness.member("m-0001")
    idle = harness.member("m-0002")
    await harness.event("m-0001", "registered")
    await harness.event("m-0002", "registered")
    await time_env.sleep(timedelta(days=2))
    await harness.event("m-0001", "order_paid")

    assert await harness.result("holdout_all", converts) == "holdout"
    assert await harness.result("holdout_all", idle) == "holdout"
    assert harness.delivered() == []
    assert messages(harness) == []
    (goal,) = rows(harness, "holdout_all", kind="goal")
    assert (goal.member_id, goal.node_id) == (converts, "start")
    assert harness.node_events("holdout_all", "holdout") == {"start": 2}
    assert harness.node_events("holdout_all") == {"start": 2}
    runs = {r.member_id: (r.holdout, r.status) for r in harness.runs("holdout_all")}
    assert runs == {converts: (True, "holdout"), idle: (True, "holdout")}
