"""Starting, signalling, pausing and stopping member workflows.

Workflow ids are derived from (journey, member, entry), so two copies of one event,
or two events racing for one member, land on the same workflow: signal-with-start
starts it once and signals it after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.config import get_settings
from engine.runtime.conditions import choose_branch
from engine.runtime.contracts import MemberEvent, RunInfo, RunInput
from engine.runtime.member_facts import load_facts
from engine.runtime.progress import register_run
from engine.runtime.steps import in_holdout
from engine.runtime.workflow import WORKFLOW_NAME
from engine.store.db import session_scope
from engine.store.models import Event, JourneyRecord, JourneyRun, JourneyVersion, iso_utc, utcnow
from journeys.model import Branch, Journey, TriggerEvent

__all__ = ["Entry", "RunDispatcher", "decide_entry", "live_journeys"]


@dataclass(frozen=True)
class LiveJourney:
    journey: Journey
    version: int
    status: str


@dataclass(frozen=True)
class Entry:
    workflow_id: str
    entry: int


_parsed: dict[tuple[str, int, datetime], Journey] = {}


def live_journeys(session: Session) -> list[LiveJourney]:
    """Published journeys that may take events (live) or still hold members (paused).
    Definitions are immutable per version, so each is parsed once per process (keyed
    with the publish time too, in case a store is rebuilt under a running process)."""
    rows = session.exec(
        select(JourneyRecord, JourneyVersion)
        .join(
            JourneyVersion,
            (col(JourneyVersion.journey_id) == col(JourneyRecord.id))
            & (col(JourneyVersion.version) == col(JourneyRecord.live_version)),
        )
        .where(col(JourneyRecord.status).in_(["live", "paused"]))
    ).all()
    result = []
    for record, version in rows:
        key = (record.id, version.version, version.published_at)
        if key not in _parsed:
            _parsed[key] = Journey.model_validate(version.definition)
        result.append(LiveJourney(_parsed[key], version.version, record.status))
    return result


def decide_entry(
    journey: Journey, member_id: int, runs: list[JourneyRun], event_id: str, now: datetime
) -> Entry | None:
    """Whether this trigger starts a new run, under the journey's re-entry rule."""
    rule = journey.settings.reentry
    base = f"journey:{journey.id}:member:{member_id}"
    if not runs:
        return Entry(f"{base}:entry:1", 1)
    if rule.mode == "never":
        return None
    if rule.mode == "after_exit" and any(r.status == "active" for r in runs):
        return None
    last_start = max(r.started_at for r in runs)
    if now - last_start < rule.min_gap.as_timedelta():
        return None
    entry = len(runs) + 1
    if rule.mode == "always":
        return Entry(f"{base}:event:{event_id}", entry)
    return Entry(f"{base}:entry:{entry}", entry)


def _member_runs(session: Session, journey_id: str, member_id: int) -> list[JourneyRun]:
    return list(
        session.exec(
            select(JourneyRun).where(
                JourneyRun.journey_id == journey_id, JourneyRun.member_id == member_id
            )
        )
    )


def _trigger_matches(journey: Journey, event: Event, session: Session, member_id: int) -> bool:
    trigger = journey.triggers()[0]
    if not isinstance(trigger, TriggerEvent) or trigger.event != event.name:
        return False
    if not trigger.where:
        return True
    names = [p.key for p in trigger.where if p.key]
    facts = load_facts(session, member_id, names)
    return choose_branch([Branch(name="match", predicates=trigger.where)], facts) == "match"


class RunDispatcher:
    """Tells journeys about members' events and controls running journeys."""

    def __init__(self, client: Client, engine: Engine, task_queue: str, time_scale: float) -> None:
        self._client = client
        self._engine = engine
        self._task_queue = task_queue
        self._time_scale = time_scale
        self._fanout = asyncio.Semaphore(64)

    async def route(self, event_row_id: int) -> int:
        """Signals the member's active runs and starts the runs this event triggers.
        Returns how many workflows were told. Safe to call again for the same event."""
        with session_scope(self._engine) as session:
            event = session.get(Event, event_row_id)
            assert event is not None and event.id is not None
            signal = MemberEvent(event.event_id, event.name, iso_utc(event.occurred_at))
            targets: list[str] = []
            starts: list[RunInput] = []
            for live in live_journeys(session):
                runs = _member_runs(session, live.journey.id, event.member_id)
                targets += [r.workflow_id for r in runs if r.status == "active"]
                if live.status != "live" or not _trigger_matches(
                    live.journey, event, session, event.member_id
                ):
                    continue
                entry = decide_entry(live.journey, event.member_id, runs, event.event_id, utcnow())
                if entry is not None:
                    starts.append(self._run_input(live, event.member_id, entry, event.event_id))
        started = await asyncio.gather(*(self._start(s, signal) for s in starts))
        told = await self._signal_all(targets, "event", signal)
        with session_scope(self._engine) as session:
            row = session.get(Event, event_row_id)
            assert row is not None
            row.routed_at = utcnow()
            session.add(row)
        return told + len(started)

    async def route_many(
        self, row_ids: list[int], concurrency: int = 50
    ) -> dict[int, int | Exception]:
        """Routes many events: members concurrently, each member's events in order, so a
        member's order_paid never overtakes the registration that starts their run. After
        a failure the member's later events are left unrouted (and reported), to be
        routed in order when the sender re-sends."""
        with session_scope(self._engine) as session:
            owners = dict(
                session.exec(
                    select(Event.id, Event.member_id).where(col(Event.id).in_(row_ids))
                ).all()
            )
        by_member: dict[int, list[int]] = {}
        for row_id in row_ids:
            by_member.setdefault(owners[row_id], []).append(row_id)
        limit = asyncio.Semaphore(concurrency)
        results: dict[int, int | Exception] = {}

        async def in_order(ids: list[int]) -> None:
            async with limit:
                for position, row_id in enumerate(ids):
                    try:
                        results[row_id] = await self.route(row_id)
                    except Exception as exc:  # reported per event to the caller
                        results.update(dict.fromkeys(ids[position:], exc))
                        return

        await asyncio.gather(*(in_order(ids) for ids in by_member.values()))
        return results

    def _run_input(
        self, live: LiveJourney, member_id: int, entry: Entry, event_id: str
    ) -> RunInput:
        # Decided here, by a stable hash, so the run row registered at start records it.
        holdout = in_holdout(live.journey.id, member_id, live.journey.settings.holdout_percent)
        return RunInput(
            run=RunInfo(
                entry.workflow_id, live.journey.id, live.version, member_id, entry.entry, holdout
            ),
            plan=live.journey.model_dump(mode="json"),
            trigger_event_id=event_id,
            time_scale=self._time_scale,
            quiet_hours=get_settings().quiet_hours,
        )

    async def _start(self, run_input: RunInput, signal: MemberEvent) -> None:
        async with self._fanout:
            await self._client.start_workflow(
                WORKFLOW_NAME,
                run_input,
                id=run_input.run.workflow_id,
                task_queue=self._task_queue,
                start_signal="event",
                start_signal_args=[signal],
            )
        with session_scope(self._engine) as session:
            register_run(session, run_input.run, utcnow())

    async def enroll(self, journey_id: str, member_id: int, request_id: str) -> str | None:
        """API / manual enrolment; ``request_id`` makes a repeated call a no-op."""
        with session_scope(self._engine) as session:
            live = next((j for j in live_journeys(session) if j.journey.id == journey_id), None)
            if live is None or live.status != "live":
                raise LookupError(f"journey {journey_id} is not live")
            trigger = live.journey.triggers()[0]
            if trigger.kind != "trigger_api":
                raise LookupError(
                    f"journey {journey_id} starts with {trigger.kind}, not trigger_api:"
                    " members enter it by its trigger, not by enrolment"
                )
            runs = _member_runs(session, journey_id, member_id)
            entry = decide_entry(live.journey, member_id, runs, request_id, utcnow())
        if entry is None:
            return None
        signal = MemberEvent(request_id, "enrolled", iso_utc(utcnow()))
        await self._start(self._run_input(live, member_id, entry, request_id), signal)
        return entry.workflow_id

    async def control(self, journey_id: str, signal: str) -> int:
        """pause, resume or stop every active run of a journey (all versions)."""
        with session_scope(self._engine) as session:
            ids = list(
                session.exec(
                    select(JourneyRun.workflow_id).where(
                        JourneyRun.journey_id == journey_id, JourneyRun.status == "active"
                    )
                )
            )
        return await self._signal_all(ids, signal)

    async def _signal_all(self, workflow_ids: Iterable[str], signal: str, *args: Any) -> int:
        async def one(workflow_id: str) -> bool:
            async with self._fanout:
                try:
                    await self._client.get_workflow_handle(workflow_id).signal(signal, *args)
                except RPCError as exc:
                    if exc.status == RPCStatusCode.NOT_FOUND:
                        return False  # finished between the read and the signal
                    raise
                return True

        return sum(await asyncio.gather(*(one(w) for w in workflow_ids)))
