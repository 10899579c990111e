"""Writes a run's node events and position. Shared by the local activity that flushes
the log and by every action, which stores the log in its own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from engine.runtime.contracts import LogEntry, RunInfo
from engine.store.models import JourneyRun, NodeEvent, utcnow

__all__ = ["register_run", "write_progress"]


def _insert_ignoring_duplicates(
    session: Session, table: type, rows: list[dict[str, object]]
) -> None:
    """Replays and retries write the same rows again; the unique keys make that a no-op."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).values(rows).on_conflict_do_nothing())


def _parse(at: str) -> datetime:
    if not at:
        return utcnow()
    return datetime.fromisoformat(at)


def register_run(session: Session, run: RunInfo, started_at: datetime) -> None:
    """The router registers a run as it starts the workflow, so the member's next
    events find it at once; the workflow's own first write repeats this harmlessly."""
    _insert_ignoring_duplicates(
        session,
        JourneyRun,
        [
            {
                "workflow_id": run.workflow_id,
                "journey_id": run.journey_id,
                "version": run.version,
                "member_id": run.member_id,
                "entry": run.entry,
                "holdout": run.holdout,
                "status": "active",
                "started_at": started_at,
            }
        ],
    )


def write_progress(
    session: Session,
    run: RunInfo,
    entries: list[LogEntry],
    current_node: str | None,
    status: str | None = None,
) -> None:
    _insert_ignoring_duplicates(
        session,
        NodeEvent,
        [
            {
                "journey_id": run.journey_id,
                "version": run.version,
                "node_id": e.node_id,
                "member_id": run.member_id,
                "workflow_id": run.workflow_id,
                "visit": e.visit,
                "kind": e.kind,
                "reason": e.reason,
                "at": _parse(e.at),
            }
            for e in entries
        ],
    )
    changes: dict[str, object] = {}
    if current_node is not None:
        changes["current_node"] = current_node
    if status is not None:
        changes.update(status=status, ended_at=utcnow())
    if changes and _update_active_run(session, run.workflow_id, changes) == 0:
        if session.get(JourneyRun, run.workflow_id) is None:
            # The router registers runs as it starts them; this covers one that died
            # between starting the workflow and registering it.
            register_run(session, run, _parse(entries[0].at) if entries else utcnow())
            _update_active_run(session, run.workflow_id, changes)


def _update_active_run(session: Session, workflow_id: str, changes: dict[str, object]) -> int:
    """One statement, and only while the run is active: an ended run stays as it ended."""
    result = session.execute(
        update(JourneyRun)
        .where(col(JourneyRun.workflow_id) == workflow_id, col(JourneyRun.status) == "active")
        .values(**changes)
    )
    return int(getattr(result, "rowcount", 0))
