"""A looping journey continues-as-new and keeps its visit counts and side effects."""

from __future__ import annotations

import pytest
from sqlmodel import col, select
from temporalio.client import WorkflowExecutionStatus

from engine.runtime import workflow
from engine.store.db import session_scope
from engine.store.models import PointsEntry
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, rows, trigger, wait

LOOPS = 5


async def test_loop_with_low_history_limit_finishes_with_one_effect_per_visit(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workflow, "_MAX_HISTORY", 10)
    harness.publish(
        journey(
            "loop_points",
            [
                trigger(),
                wait("tick", days=1),
                {"id": "award", "kind": "award_points", "points": 10, "reason": "loop"},
                {
                    "id": "enough",
                    "kind": "condition",
                    "branches": [
                        {
                            "name": "yes",
                            "predicates": [{"subject": "points", "op": "gte", "value": 10 * LOOPS}],
                        }
                    ],
                },
                exit_(),
            ],
            [
                ("start", "next", "tick"),
                ("tick", "next", "award"),
                ("award", "next", "enough"),
                ("enough", "else", "tick"),
                ("enough", "yes", "done"),
            ],
        )
    )
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    handle = harness.handle("loop_points", member_id)
    first_run = (await handle.describe()).run_id

    assert await harness.result("loop_points", member_id) == "completed"

    last_run = (await handle.describe()).run_id
    assert last_run != first_run
    earlier = harness.client.get_workflow_handle(handle.id, run_id=first_run)
    assert (await earlier.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    for node_id in ("tick", "award", "enough"):
        visits = [r.visit for r in rows(harness, "loop_points", kind="entered", node_id=node_id)]
        assert sorted(visits) == list(range(1, LOOPS + 1)), node_id
    assert harness.node_events("loop_points")["done"] == 1
    with session_scope(harness.engine) as session:
        keys = session.exec(select(PointsEntry.idempotency_key).order_by(col(PointsEntry.id))).all()
    assert keys == [f"{handle.id}:award:{visit}" for visit in range(1, LOOPS + 1)]
