"""Fixtures shared by the workflow and API tests: one time-skipping Temporal server for
the session, and per test a fresh store with a worker on its own task queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from engine.store.db import session_scope
from engine.store.models import JourneyRun
from tests.support import TEST_SERVER, Harness, running_harness


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(TEST_SERVER))
    yield env
    await env.shutdown()


@pytest.fixture
async def harness(time_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Harness]:
    async with running_harness(time_env, tmp_path) as h:
        yield h
        await _end_unfinished_runs(h)


async def _end_unfinished_runs(harness: Harness) -> None:
    """Workflow ids repeat across tests (each test's store numbers members from 1), so a
    run left waiting would take the next test's events; stopping it also keeps its timers
    from holding back the shared server's clock once its worker is gone."""
    with session_scope(harness.engine) as session:
        running = session.exec(select(JourneyRun).where(JourneyRun.status == "active"))
        runs = [(r.journey_id, r.member_id, r.entry) for r in running]
    for journey_id, member_id, entry in runs:
        try:
            await harness.handle(journey_id, member_id, entry).signal("stop")
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            continue  # a run some test wrote without a workflow behind it
        await harness.result(journey_id, member_id, entry)
