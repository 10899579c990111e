"""Re-entry rules: never, after_exit, always with a minimum gap.

The router judges the minimum gap with its own clock (``engine.runtime.routing.utcnow``). On the
time-skipping server only Temporal's clock moves, so these tests give the router the
server's clock (``ServerClock.event`` reads it just before routing each event).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from engine.runtime import routing
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, result_of, send, trigger, wait


class ServerClock:
    def __init__(self, env: WorkflowEnvironment) -> None:
        self._env = env
        self.now: datetime | None = None

    def __call__(self) -> datetime:
        assert self.now is not None
        return self.now

    async def event(
        self, harness: Harness, member: str, name: str, event_id: str | None = None
    ) -> int:
        self.now = await self._env.get_current_time()
        return await harness.event(member, name, event_id)


@pytest.fixture
def clock(time_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerClock]:
    server = ServerClock(time_env)
    monkeypatch.setattr(routing, "utcnow", server)
    yield server


async def test_never_enters_a_member_twice(harness: Harness, clock: ServerClock) -> None:
    harness.publish(journey("re_never", [trigger(), send("s"), exit_()]))
    member_id = harness.member("m-0001")
    assert await clock.event(harness, "m-0001", "registered") == 1
    assert await harness.result("re_never", member_id) == "completed"

    assert await clock.event(harness, "m-0001", "registered") == 0
    (run,) = harness.runs("re_never")
    assert (run.entry, run.status) == (1, "completed")
    assert len(harness.delivered()) == 1


async def test_after_exit_enters_again_only_once_the_first_run_ended(
    harness: Harness, time_env: WorkflowEnvironment, clock: ServerClock
) -> None:
    harness.publish(
        journey(
            "re_after_exit",
            [trigger(), wait("w", days=2), send("s"), exit_()],
            reentry={"mode": "after_exit"},
        )
    )
    member_id = harness.member("m-0001")
    await clock.event(harness, "m-0001", "registered")
    await time_env.sleep(timedelta(days=1))
    assert await clock.event(harness, "m-0001", "registered") == 1  # told run 1, started none
    assert len(harness.runs("re_after_exit")) == 1

    assert await harness.result("re_after_exit", member_id) == "completed"
    assert await clock.event(harness, "m-0001", "registered") == 1  # started run 2
    assert await harness.result("re_after_exit", member_id, entry=2) == "completed"

    found = sorted((r.entry, r.workflow_id, r.status) for r in harness.runs("re_after_exit"))
    assert found == [
        (1, f"journey:re_after_exit:member:{member_id}:entry:1", "completed"),
        (2, f"journey:re_after_exit:member:{member_id}:entry:2", "completed"),
    ]
    assert len(harness.delivered()) == 2


async def test_always_starts_a_run_per_trigger_but_not_within_the_minimum_gap(
    harness: Harness, time_env: WorkflowEnvironment, clock: ServerClock
) -> None:
    harness.publish(
        journey(
            "re_always",
            [trigger(), send("s"), wait("w", days=3), exit_()],
            reentry={"mode": "always", "min_gap": {"days": 1}},
        )
    )
    member_id = harness.member("m-0001")
    first = f"journey:re_always:member:{member_id}:entry:1"
    third = f"journey:re_always:member:{member_id}:event:e3"
    assert await clock.event(harness, "m-0001", "registered", "e1") == 1
    await time_env.sleep(timedelta(hours=2))
    assert await clock.event(harness, "m-0001", "registered", "e2") == 1  # only told run 1
    await time_env.sleep(timedelta(days=1))
    # run 1 is still active: "always" starts another one anyway (and tells run 1).
    assert await clock.event(harness, "m-0001", "registered", "e3") == 2

    assert await result_of(harness, first) == "completed"
    assert await result_of(harness, third) == "completed"
    found = sorted((r.entry, r.workflow_id) for r in harness.runs("re_always"))
    assert found == [(1, first), (2, third)]  # the first entry has the plain entry id
    assert len(harness.delivered()) == 2
