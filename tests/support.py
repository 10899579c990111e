"""Test helpers: a store with the playbook catalog, members, published journeys, a
worker on its own task queue, and ways to read back what happened."""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from channels.base import Channel
from channels.fake import FakeChannel
from engine.config import Settings
from engine.publishing import publish, save_draft
from engine.runtime.ingest import IncomingEvent, store_event
from engine.runtime.routing import RunDispatcher
from engine.store.catalog import load_catalog_rows
from engine.store.db import get_engine, init_db, session_scope
from engine.store.members import upsert_member
from engine.store.models import JourneyRun, NodeEvent
from journeys.model import Journey
from journeys.playbooks import load_catalog
from workers.worker import build_worker

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"


def database_url(tmp_path: Path) -> str:
    """PostgreSQL when DATABASE_URL says so (tables are rebuilt), else a fresh SQLite."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path}/journey.db"
    engine = get_engine(url)
    SQLModel.metadata.drop_all(engine)
    init_db(engine)
    return url


@dataclass
class Harness:
    env: WorkflowEnvironment
    settings: Settings
    engine: Engine
    outbox: Path
    channels: dict[str, Channel] = field(default_factory=dict)

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def router(self) -> RunDispatcher:
        return RunDispatcher(
            self.client, self.engine, self.settings.task_queue, self.settings.time_scale
        )

    def seed_catalog(self) -> None:
        with session_scope(self.engine) as session:
            load_catalog_rows(session, load_catalog())

    def member(self, external_id: str, **fields: Any) -> int:
        fields.setdefault("phone", "1380000" + external_id[-4:].rjust(4, "0"))
        fields.setdefault("wechat_openid", "openid-" + external_id)
        fields.setdefault("email", external_id + "@example.com")
        with session_scope(self.engine) as session:
            member = upsert_member(session, external_id, fields)
            assert member.id is not None
            return member.id

    def publish(self, journey: Journey | dict[str, Any]) -> int:
        model = journey if isinstance(journey, Journey) else Journey.model_validate(journey)
        with session_scope(self.engine) as session:
            save_draft(session, model)
        with session_scope(self.engine) as session:
            return publish(session, model.id).version

    async def event(self, member: str, name: str, event_id: str | None = None) -> int:
        incoming = IncomingEvent(event_id=event_id or uuid.uuid4().hex, member=member, name=name)
        with session_scope(self.engine) as session:
            row, _ = store_event(session, incoming)
            assert row.id is not None
            row_id = row.id
        return await self.router.route(row_id)

    def handle(self, journey_id: str, member_id: int, entry: int = 1) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(
            f"journey:{journey_id}:member:{member_id}:entry:{entry}"
        )

    async def result(self, journey_id: str, member_id: int, entry: int = 1) -> Any:
        """Waits for the run to end; on the time-skipping server, time runs ahead
        while we wait (only handles from start_workflow do that by themselves)."""
        handle = self.handle(journey_id, member_id, entry)
        unlocked = getattr(self.env, "time_skipping_unlocked", None)
        if unlocked is None:
            return await handle.result()
        async with unlocked():
            return await handle.result()

    def node_events(self, journey_id: str, kind: str = "entered") -> Counter[str]:
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(NodeEvent.node_id).where(
                    NodeEvent.journey_id == journey_id, NodeEvent.kind == kind
                )
            ).all()
        return Counter(rows)

    def skips(self, journey_id: str) -> Counter[tuple[str, str | None]]:
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(NodeEvent.node_id, NodeEvent.reason).where(
                    NodeEvent.journey_id == journey_id, NodeEvent.kind == "skipped"
                )
            ).all()
        return Counter((n, r) for n, r in rows)

    def runs(self, journey_id: str) -> list[JourneyRun]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(JourneyRun).where(JourneyRun.journey_id == journey_id)))

    def delivered(self, channel: str | None = None) -> list[dict[str, Any]]:
        fake = self.channels["sms"]
        assert isinstance(fake, FakeChannel)
        return fake.outbox.messages(channel)


def fake_channels(outbox: Path) -> dict[str, Channel]:
    return {name: FakeChannel(name, outbox) for name in ("sms", "email", "wechat")}


@asynccontextmanager
async def running_harness(
    env: WorkflowEnvironment, tmp_path: Path, *, time_scale: float = 1.0
) -> AsyncIterator[Harness]:
    """A worker on a fresh task queue, so tests never pick up each other's work."""
    settings = Settings(
        database_url=database_url(tmp_path),
        task_queue=f"test-{uuid.uuid4().hex[:8]}",
        time_scale=time_scale,
    )
    engine = get_engine(settings.database_url)
    init_db(engine)
    outbox = tmp_path / "outbox.db"
    harness = Harness(env, settings, engine, outbox, fake_channels(outbox))
    harness.seed_catalog()
    async with build_worker(env.client, settings, harness.channels):
        yield harness
