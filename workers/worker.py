"""The Temporal worker process: runs member workflows and their activities.

One worker polls the journey task queue (workflows and every activity); one more per
channel polls that channel's send queue (``engine.runtime.workflow.send_task_queue``) with the
provider account's rate limit, which the Temporal server enforces across all workers.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from types import TracebackType

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from channels.base import Channel
from engine.config import Settings
from engine.delivery.consent import ADDRESS_FIELDS
from engine.delivery.messaging import SendPolicy
from engine.runtime.activities import JourneyActivities
from engine.runtime.workflow import MemberJourneyWorkflow, send_task_queue
from engine.store.db import get_engine, init_db

__all__ = ["WorkerGroup", "build_worker", "connect"]


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


def _runner() -> SandboxedWorkflowRunner:
    """Our pure modules are deterministic and import-heavy (pydantic): passing them
    through keeps the sandbox from re-importing them for every workflow run."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        "journeys", "engine", "pydantic", "pydantic_core", "zoneinfo"
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)


class WorkerGroup:
    """Workers that run and stop together, used like one ``temporalio`` Worker: ``await
    group.run()`` or ``async with group:``."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self._stack: AsyncExitStack | None = None

    @property
    def task_queue(self) -> str:
        """The journey task queue, where workflows are started."""
        return self.workers[0].task_queue

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for worker in self.workers:
                group.create_task(worker.run())

    async def __aenter__(self) -> WorkerGroup:
        async with AsyncExitStack() as stack:
            for worker in self.workers:
                await stack.enter_async_context(worker)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None


def build_worker(
    client: Client,
    settings: Settings,
    channels: dict[str, Channel],
    *,
    task_queue: str | None = None,
) -> WorkerGroup:
    engine = get_engine(settings.database_url)
    init_db(engine)
    policy = SendPolicy(caps=settings.caps, sms_opt_out_line=settings.sms_opt_out_line)
    activities = JourneyActivities(engine, channels, policy=policy)
    queue = task_queue or settings.task_queue
    journeys = Worker(
        client,
        task_queue=queue,
        workflows=[MemberJourneyWorkflow],
        activities=activities.all(),
        workflow_runner=_runner(),
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.workflow_pollers,
        max_concurrent_activity_task_polls=settings.activity_pollers,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_local_activities=settings.max_concurrent_activities,
    )
    # Every channel gets a send worker, configured or not: an unconfigured one skips its
    # sends (channel_not_configured) instead of leaving them on a queue nobody polls.
    senders = [
        Worker(
            client,
            task_queue=send_task_queue(queue, channel),
            activities=[activities.perform_action],
            max_concurrent_activity_task_polls=settings.activity_pollers,
            max_concurrent_activities=settings.max_concurrent_activities,
            max_task_queue_activities_per_second=settings.rate_limits.get(channel),
        )
        for channel in ADDRESS_FIELDS
    ]
    return WorkerGroup([journeys, *senders])
