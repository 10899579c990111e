"""Side effects happen once per (workflow, node, visit), however often the activity runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from channels.base import ErrorKind
from channels.fake import FakeChannel
from engine.runtime.activities import JourneyActivities
from engine.runtime.contracts import ActionInput, ActionResult, LogEntry, RunInfo
from engine.store.db import session_scope
from engine.store.models import Coupon, CouponTemplate, PointsEntry
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, messages, rows, send, trigger

NODES: list[dict[str, Any]] = [
    {"id": "coupon", "kind": "send_coupon", "coupon": "repurchase_20"},
    {"id": "points", "kind": "award_points", "points": 50, "reason": "welcome"},
    send("sms", "followup_sms"),
]


async def test_perform_action_twice_with_the_same_input_acts_once(
    harness: Harness, tmp_path: Path
) -> None:
    harness.publish(journey("once_direct", [trigger(), *NODES, exit_()]))
    member_id = harness.member("m-0001")
    channel = FakeChannel("sms", tmp_path / "direct-outbox.db")
    activities = JourneyActivities(harness.engine, {"sms": channel})
    env = ActivityEnvironment()
    workflow_id = f"journey:once_direct:member:{member_id}:entry:1"
    run = RunInfo(workflow_id, "once_direct", 1, member_id)
    now = datetime.now(UTC).isoformat()

    for node in NODES:
        inp = ActionInput(
            run=run,
            node=node,
            idempotency_key=f"{workflow_id}:{node['id']}:1",
            entries=[LogEntry(node["id"], "entered", 1, None, now)],
        )
        first = await env.run(activities.perform_action, inp)
        again = await env.run(activities.perform_action, inp)
        assert first == again == ActionResult(done=True)

    with session_scope(harness.engine) as session:
        assert len(session.exec(select(Coupon)).all()) == 1
        assert len(session.exec(select(PointsEntry)).all()) == 1
        template = session.get(CouponTemplate, "repurchase_20")
        assert template is not None and template.issued == 1
    assert [m.status for m in messages(harness)] == ["accepted"]
    assert len(channel.delivered) == 1
    assert channel.calls == 1  # the retry found the settled message and did not call
    assert harness.node_events("once_direct") == {"coupon": 1, "points": 1, "sms": 1}


async def test_transient_failure_is_retried_and_delivered_once(harness: Harness) -> None:
    harness.publish(journey("once_retry", [trigger(), send("sms"), exit_()]))
    member_id = harness.member("m-0001", phone="13900000001")
    fake = harness.channels["sms"]
    assert isinstance(fake, FakeChannel)
    fake.fail_next["13900000001"] = ErrorKind.TRANSIENT
    await harness.event("m-0001", "registered")

    assert await harness.result("once_retry", member_id) == "completed"
    assert fake.fail_next == {}  # the first attempt did fail
    assert fake.calls == 2
    assert len(harness.delivered()) == 1
    (message,) = messages(harness)
    assert (message.status, message.recipient) == ("accepted", "13900000001")
    assert message.provider_message_id == harness.delivered()[0]["provider_message_id"]
    assert harness.skips("once_retry") == {}
    assert len(rows(harness, "once_retry", node_id="sms", kind="entered")) == 1
