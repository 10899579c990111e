"""Pausing holds members before their next side effect; stopping ends their runs."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from engine.publishing import set_status
from engine.store.db import session_scope
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, messages, path_of, rows, send, trigger, wait


def _journey(journey_id: str) -> dict[str, object]:
    return journey(journey_id, [trigger(), wait("w", days=2), send("s"), exit_()])


async def _control(harness: Harness, journey_id: str, action: str) -> int:
    with session_scope(harness.engine) as session:
        set_status(session, journey_id, action)
    return await harness.router.control(journey_id, action)


async def test_paused_journey_sends_nothing_until_resumed_then_exactly_once(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_journey("pause_resume"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    assert await _control(harness, "pause_resume", "pause") == 1

    await time_env.sleep(timedelta(days=3))  # the wait ended a day ago
    assert harness.delivered() == []
    assert messages(harness) == []
    (run,) = harness.runs("pause_resume")
    assert run.status == "active"

    assert await _control(harness, "pause_resume", "resume") == 1
    assert await harness.result("pause_resume", member_id) == "completed"
    assert len(harness.delivered()) == 1
    assert [m.status for m in messages(harness)] == ["accepted"]
    assert path_of(harness, "pause_resume", member_id) == ["start", "w", "s", "done"]
    assert harness.node_events("pause_resume")["s"] == 1


async def test_stopped_journey_ends_the_run_without_more_sends(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_journey("stop_now"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    assert await _control(harness, "stop_now", "stop") == 1

    assert await harness.result("stop_now", member_id) == "stopped"
    (left,) = rows(harness, "stop_now", kind="left")
    assert (left.node_id, left.reason) == ("w", "stopped")
    await time_env.sleep(timedelta(days=3))
    assert harness.delivered() == []
    assert path_of(harness, "stop_now", member_id) == ["start", "w"]
    (run,) = harness.runs("stop_now")
    assert run.status == "stopped"


async def test_paused_then_stopped_member_never_gets_the_send(
    harness: Harness, time_env: WorkflowEnvironment
) -> None:
    harness.publish(_journey("pause_stop"))
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    # Paused at once: if the run's row is not there yet the signal misses it (0 told),
    # and the run learns of the pause from the journey status its first flush reads.
    assert await _control(harness, "pause_stop", "pause") in (0, 1)
    await time_env.sleep(timedelta(days=3))  # held at s, before the send
    assert harness.delivered() == []
    assert path_of(harness, "pause_stop", member_id) == ["start", "w", "s"]
    assert await _control(harness, "pause_stop", "stop") == 1

    assert await harness.result("pause_stop", member_id) == "stopped"
    assert harness.delivered() == []
    (left,) = rows(harness, "pause_stop", kind="left")
    assert (left.node_id, left.reason) == ("s", "stopped")
