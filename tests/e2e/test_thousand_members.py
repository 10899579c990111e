"""1,000 members through the new-member coupon pack on the real Temporal dev server, with
the worker process killed (SIGKILL) mid-journey and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from channels.fake import FakeOutbox
from engine.config import Settings
from engine.publishing import publish, save_draft
from engine.runtime.ingest import IncomingEvent, MemberIn, store_event
from engine.runtime.routing import RunDispatcher
from engine.store.catalog import load_catalog_rows
from engine.store.db import get_engine, init_db, session_scope
from engine.store.models import Coupon, JourneyRun, MessageLog, NodeEvent
from journeys.playbooks import load_catalog, load_playbook
from tests.support import BIN, database_url

pytestmark = pytest.mark.e2e

MEMBERS = 1000
BUYERS = 100
DAY = 1.0  # seconds of wall time per journey day


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(BIN / "journey"), "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _key_node(idempotency_key: str) -> str:
    return idempotency_key.rsplit(":", 2)[-2]


async def _route_all(router: RunDispatcher, ids: list[int]) -> None:
    results = await router.route_many(ids)
    assert all(isinstance(n, int) for n in results.values()), results


def _store(engine: Engine, events: list[IncomingEvent]) -> list[int]:
    with session_scope(engine) as session:
        rows = [store_event(session, e)[0] for e in events]
        return [r.id for r in rows if r.id is not None]


async def test_thousand_members_survive_a_killed_worker(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url(tmp_path),
        task_queue=f"e2e-{uuid.uuid4().hex[:8]}",
        time_scale=DAY / 86400,
    )
    engine = get_engine(settings.database_url)
    init_db(engine)
    journey = load_playbook("welcome_coupon_pack")
    with session_scope(engine) as session:
        load_catalog_rows(session, load_catalog())
        save_draft(session, journey)
    with session_scope(engine) as session:
        publish(session, journey.id)

    outbox = tmp_path / "outbox.db"
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "JOURNEY_TASK_QUEUE": settings.task_queue,
        "JOURNEY_TIME_SCALE": str(settings.time_scale),
        "JOURNEY_FAKE_OUTBOX": str(outbox),
    }
    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    router = RunDispatcher(dev_env.client, engine, settings.task_queue, settings.time_scale)
    try:
        registered = _store(
            engine,
            [
                IncomingEvent(
                    event_id=f"reg-{i}",
                    member=f"m{i:04d}",
                    name="registered",
                    profile=MemberIn(phone=f"138{i:08d}", wechat_openid=f"o{i}"),
                )
                for i in range(MEMBERS)
            ],
        )
        await _route_all(router, registered)
        await asyncio.sleep(2.5 * DAY)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        paid = _store(
            engine,
            [
                IncomingEvent(event_id=f"paid-{i}", member=f"m{i:04d}", name="order_paid")
                for i in range(0, MEMBERS, MEMBERS // BUYERS)
            ],
        )
        await _route_all(router, paid)
        await asyncio.sleep(1.0)
        worker = _worker(env, log)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                active = session.exec(
                    select(JourneyRun.workflow_id).where(JourneyRun.status == "active")
                ).all()
                total = len(session.exec(select(JourneyRun.workflow_id)).all())
            if total == MEMBERS and not active:
                break
            await asyncio.sleep(1)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)

    with session_scope(engine) as session:
        runs = session.exec(select(JourneyRun)).all()
        coupons = session.exec(select(Coupon)).all()
        messages = session.exec(select(MessageLog)).all()
        entered = Counter(
            session.exec(select(NodeEvent.node_id).where(NodeEvent.kind == "entered")).all()
        )
        left = Counter(
            (n, r)
            for n, r in session.exec(
                select(NodeEvent.node_id, NodeEvent.reason).where(NodeEvent.kind == "left")
            ).all()
        )
    statuses = Counter(r.status for r in runs)
    assert len(runs) == MEMBERS, log.read_text()[-3000:]
    assert statuses["active"] == 0, statuses
    assert set(statuses) <= {"completed", "converted", "holdout"}
    assert statuses["converted"] <= BUYERS

    delivered = FakeOutbox(outbox).messages()
    keys = Counter(m["idempotency_key"] for m in delivered)
    assert max(keys.values()) == 1
    assert len(delivered) == len(messages)
    assert {m.status for m in messages} == {"accepted"}
    assert len({c.idempotency_key for c in coupons}) == len(coupons)
    per_member = Counter((c.member_id, c.template_id) for c in coupons)
    assert max(per_member.values()) == 1

    # Per member: the coupons and messages each run has are exactly the action nodes
    # that run entered, once each.
    kinds = {n.id: n.kind for n in journey.nodes}
    with session_scope(engine) as session:
        visits = session.exec(
            select(NodeEvent.workflow_id, NodeEvent.node_id).where(NodeEvent.kind == "entered")
        ).all()
    expected: Counter[tuple[str, str]] = Counter()
    for workflow_id, node_id in visits:
        if kinds[node_id] in ("send_coupon", "send_message"):
            expected[(workflow_id, kinds[node_id])] += 1
    actual: Counter[tuple[str, str]] = Counter()
    for c in coupons:
        actual[(c.idempotency_key.rsplit(":", 2)[0], "send_coupon")] += 1
    for m in delivered:
        actual[(m["idempotency_key"].rsplit(":", 2)[0], "send_message")] += 1
    assert actual == expected

    # Per-node stats equal what members actually did.
    coupons_by_node = Counter(_key_node(c.idempotency_key) for c in coupons)
    sends_by_node = Counter(_key_node(m["idempotency_key"]) for m in delivered)
    for node in journey.nodes:
        if node.kind == "send_coupon":
            assert entered[node.id] == coupons_by_node[node.id], node.id
        if node.kind == "send_message":
            assert entered[node.id] == sends_by_node[node.id], node.id
    assert entered["registered"] == MEMBERS
    assert entered["coupon_no_threshold"] > MEMBERS // 2
    assert (
        left[("exit_pack_used_up", "exit")] + left[("exit_converted", "exit")]
        == (statuses["completed"])
    )
    assert statuses["converted"] + left[("exit_converted", "exit")] > 0
    assert sum(n for (_, reason), n in left.items() if reason == "goal") == statuses["converted"]
    assert sum(n for (_, reason), n in left.items() if reason == "holdout") == statuses["holdout"]
