"""Small builders and read-backs for the time-skipping workflow tests.

Journeys are plain dicts so each test shows the whole graph it runs. Every test uses
its own journey id: the time-skipping server is shared by the session, and workflow
ids are derived from (journey, member), so reusing an id could reach another test's run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from engine.store.db import session_scope
from engine.store.models import MessageLog, NodeEvent
from tests.support import Harness

Edge = tuple[str, str, str]
"""(source, port, target)"""


def journey(
    journey_id: str,
    nodes: list[dict[str, Any]],
    edges: list[Edge] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """A journey dict. Without ``edges`` the nodes are chained in order on ``next``."""
    if edges is None:
        edges = [(a["id"], "next", b["id"]) for a, b in zip(nodes, nodes[1:], strict=False)]
    return {
        "id": journey_id,
        "name": journey_id,
        "settings": {"holdout_percent": 0, **settings},
        "nodes": nodes,
        "edges": [{"source": s, "port": p, "target": t} for s, p, t in edges],
    }


def trigger(event: str = "registered", node_id: str = "start") -> dict[str, Any]:
    return {"id": node_id, "kind": "trigger_event", "event": event}


def wait(node_id: str, **duration: int) -> dict[str, Any]:
    return {"id": node_id, "kind": "wait", "duration": duration}


def send(node_id: str, template: str = "followup_sms", channel: str = "sms") -> dict[str, Any]:
    return {"id": node_id, "kind": "send_message", "channel": channel, "template": template}


def exit_(node_id: str = "done") -> dict[str, Any]:
    return {"id": node_id, "kind": "exit"}


def rows(
    harness: Harness, journey_id: str, *, kind: str | None = None, node_id: str | None = None
) -> list[NodeEvent]:
    """Node events of a journey in the order they were written."""
    with session_scope(harness.engine) as session:
        query = select(NodeEvent).where(NodeEvent.journey_id == journey_id)
        if kind is not None:
            query = query.where(NodeEvent.kind == kind)
        if node_id is not None:
            query = query.where(NodeEvent.node_id == node_id)
        return list(session.exec(query.order_by(col(NodeEvent.id))))


def path_of(harness: Harness, journey_id: str, member_id: int) -> list[str]:
    """The nodes one member entered, in order."""
    return [
        r.node_id for r in rows(harness, journey_id, kind="entered") if r.member_id == member_id
    ]


def entered_at(harness: Harness, journey_id: str, member_id: int, node_id: str) -> datetime:
    (row,) = [
        r
        for r in rows(harness, journey_id, kind="entered", node_id=node_id)
        if r.member_id == member_id
    ]
    return as_utc(row.at)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives datetimes back without a zone; they were written in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def messages(harness: Harness) -> list[MessageLog]:
    with session_scope(harness.engine) as session:
        return list(session.exec(select(MessageLog).order_by(col(MessageLog.id))))


async def result_of(harness: Harness, workflow_id: str) -> Any:
    """Like ``harness.result`` for any workflow id (re-entry ``always`` ids are per event)."""
    handle = harness.client.get_workflow_handle(workflow_id)
    unlocked = getattr(harness.env, "time_skipping_unlocked", None)
    if unlocked is None:
        return await handle.result()
    async with unlocked():
        return await handle.result()
