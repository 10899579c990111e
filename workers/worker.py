"""The Temporal worker process: runs member workflows and their activities."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from channels.base import Channel
from engine.activities import JourneyActivities
from engine.config import Settings
from engine.db import get_engine, init_db
from engine.workflow import MemberJourneyWorkflow

__all__ = ["build_worker", "connect"]


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


def _runner() -> SandboxedWorkflowRunner:
    """Our pure modules are deterministic and import-heavy (pydantic): passing them
    through keeps the sandbox from re-importing them for every workflow run."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        "journeys", "engine", "pydantic", "pydantic_core", "zoneinfo"
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)


def build_worker(
    client: Client,
    settings: Settings,
    channels: dict[str, Channel],
    *,
    task_queue: str | None = None,
) -> Worker:
    engine = get_engine(settings.database_url)
    init_db(engine)
    activities = JourneyActivities(engine, channels)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[MemberJourneyWorkflow],
        activities=activities.all(),
        workflow_runner=_runner(),
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_workflow_task_polls=settings.workflow_pollers,
        max_concurrent_activity_task_polls=settings.activity_pollers,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_local_activities=settings.max_concurrent_activities,
    )
