"""Per-node counts and conversion, read from the node-event log and the runs table.

Node ids are stable across versions, so counts for a journey can span every version
or be narrowed to one. Each figure comes from one GROUP BY over the whole journey,
never a query per node, so a journey with many nodes costs the same few queries.
Holdout runs count in the totals on their own, so the journey's conversion can be
compared against the conversion of members who got nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, distinct, false, func
from sqlmodel import Session, col, select

from engine.store.models import JourneyRun, JourneyVersion, NodeEvent
from journeys.model import Journey

__all__ = ["JourneyStats", "NodeStats", "journey_stats"]


@dataclass(frozen=True)
class NodeStats:
    node_id: str
    kind: str
    """The node's kind, or ``""`` for a node only earlier versions have."""
    label: str
    entered: int = 0
    waiting: int = 0
    """Active runs whose member is at this node now."""
    left: int = 0
    left_by_reason: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    """Actions not carried out, by reason (quiet hours, opted out, no address, ...)."""
    converted: int = 0
    """Distinct runs (holdout excluded) that entered this node and reached the goal."""


@dataclass(frozen=True)
class JourneyStats:
    journey_id: str
    version: int | None
    """The version counted, or None when the counts span every version."""
    definition_version: int
    """The version whose nodes are listed."""
    runs: int
    """Every run, holdout included."""
    active: int
    completed: int
    """Runs that have ended, whatever the way (``by_status`` tells them apart)."""
    by_status: dict[str, int]
    converted: int
    """Runs outside the holdout that reached the goal."""
    conversion_rate: float | None
    holdout_runs: int
    holdout_converted: int
    holdout_conversion_rate: float | None
    nodes: list[NodeStats]


def journey_stats(session: Session, journey_id: str, version: int | None = None) -> JourneyStats:
    """Raises LookupError when the journey (or the asked version) was never published."""
    definition = _definition(session, journey_id, version)
    events = _scope(col(NodeEvent.journey_id), col(NodeEvent.version), journey_id, version)
    runs = _scope(col(JourneyRun.journey_id), col(JourneyRun.version), journey_id, version)

    by_status: dict[str, int] = defaultdict(int)
    holdout_runs = 0
    for status, holdout, count in session.exec(
        select(JourneyRun.status, JourneyRun.holdout, func.count())
        .where(*runs)
        .group_by(col(JourneyRun.status), col(JourneyRun.holdout))
    ).all():
        by_status[status] += count
        holdout_runs += count if holdout else 0
    total = sum(by_status.values())

    converted = {False: 0, True: 0}
    for holdout, count in session.exec(
        select(JourneyRun.holdout, func.count(distinct(col(NodeEvent.workflow_id))))
        .join(JourneyRun, col(JourneyRun.workflow_id) == col(NodeEvent.workflow_id))
        .where(*events, NodeEvent.kind == "goal")
        .group_by(col(JourneyRun.holdout))
    ).all():
        converted[bool(holdout)] = count

    return JourneyStats(
        journey_id=journey_id,
        version=version,
        definition_version=definition.version,
        runs=total,
        active=by_status.get("active", 0),
        completed=total - by_status.get("active", 0),
        by_status=dict(by_status),
        converted=converted[False],
        conversion_rate=_rate(converted[False], total - holdout_runs),
        holdout_runs=holdout_runs,
        holdout_converted=converted[True],
        holdout_conversion_rate=_rate(converted[True], holdout_runs),
        nodes=_nodes(session, Journey.model_validate(definition.definition), events, runs),
    )


def _definition(session: Session, journey_id: str, version: int | None) -> JourneyVersion:
    query = select(JourneyVersion).where(JourneyVersion.journey_id == journey_id)
    if version is not None:
        query = query.where(JourneyVersion.version == version)
    row = session.exec(query.order_by(col(JourneyVersion.version).desc())).first()
    if row is None:
        what = f"version {version}" if version is not None else "any published version"
        raise LookupError(f"journey {journey_id} has no {what}")
    return row


def _scope(
    journey_column: Any, version_column: Any, journey_id: str, version: int | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [journey_column == journey_id]
    if version is not None:
        conditions.append(version_column == version)
    return conditions


def _nodes(
    session: Session,
    journey: Journey,
    events: list[ColumnElement[bool]],
    runs: list[ColumnElement[bool]],
) -> list[NodeStats]:
    counts: dict[str, dict[str, dict[str | None, int]]] = defaultdict(lambda: defaultdict(dict))
    for node_id, kind, reason, count in session.exec(
        select(NodeEvent.node_id, NodeEvent.kind, NodeEvent.reason, func.count())
        .where(*events, col(NodeEvent.kind).in_(["entered", "left", "skipped"]))
        .group_by(col(NodeEvent.node_id), col(NodeEvent.kind), col(NodeEvent.reason))
    ).all():
        counts[node_id][kind][reason] = count

    waiting: dict[str, int] = {
        node_id: count
        for node_id, count in session.exec(
            select(JourneyRun.current_node, func.count())
            .where(*runs, JourneyRun.status == "active", col(JourneyRun.current_node).is_not(None))
            .group_by(col(JourneyRun.current_node))
        ).all()
        if node_id is not None
    }

    goal_runs = (
        select(NodeEvent.workflow_id).where(*events, NodeEvent.kind == "goal").distinct().subquery()
    )
    converted: dict[str, int] = dict(
        session.exec(
            select(NodeEvent.node_id, func.count(distinct(col(NodeEvent.workflow_id))))
            .join(goal_runs, goal_runs.c.workflow_id == col(NodeEvent.workflow_id))
            .join(JourneyRun, col(JourneyRun.workflow_id) == col(NodeEvent.workflow_id))
            .where(*events, NodeEvent.kind == "entered", col(JourneyRun.holdout) == false())
            .group_by(col(NodeEvent.node_id))
        ).all()
    )

    listed = [(n.id, n.kind, n.label) for n in journey.nodes]
    known = {node_id for node_id, _, _ in listed}
    retired = sorted((set(counts) | set(waiting)) - known)
    return [
        _node(node_id, kind, label, counts.get(node_id, {}), waiting, converted)
        for node_id, kind, label in [*listed, *((n, "", "") for n in retired)]
    ]


def _node(
    node_id: str,
    kind: str,
    label: str,
    counts: dict[str, dict[str | None, int]],
    waiting: dict[str, int],
    converted: dict[str, int],
) -> NodeStats:
    left = counts.get("left", {})
    return NodeStats(
        node_id=node_id,
        kind=kind,
        label=label,
        entered=sum(counts.get("entered", {}).values()),
        waiting=waiting.get(node_id, 0),
        left=sum(left.values()),
        left_by_reason=_by_reason(left),
        skipped=_by_reason(counts.get("skipped", {})),
        converted=converted.get(node_id, 0),
    )


def _by_reason(counts: dict[str | None, int]) -> dict[str, int]:
    return {reason or "unknown": n for reason, n in sorted(counts.items(), key=lambda i: str(i[0]))}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None
