"""Every side effect of a journey, as Temporal activities holding their dependencies.

Database work runs in a thread (the drivers block); sends and webhooks are awaited.
Each action is idempotent on ``ActionInput.idempotency_key``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import TypeAdapter
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from channels.base import Channel, SendResult
from engine.delivery.messaging import Prepared, SendPolicy, prepare_message, settle_message
from engine.runtime.conditions import Facts
from engine.runtime.contracts import ActionInput, ActionResult, FactsInput, LogEntry, RecordInput
from engine.runtime.member_facts import load_facts
from engine.runtime.progress import write_progress
from engine.runtime.store_actions import StoreAction, apply_store_action
from engine.store.db import session_scope
from engine.store.models import JourneyRecord
from journeys.model import Node, SendMessage, Webhook

__all__ = ["JourneyActivities"]

_node_adapter: TypeAdapter[Node] = TypeAdapter(Node)


def _skip_entry(inp: ActionInput, reason: str) -> LogEntry:
    return LogEntry(inp.node["id"], "skipped", inp.visit, reason, inp.at)


def _write_done(
    session: Session, inp: ActionInput, reason: str | None, entries: list[LogEntry]
) -> None:
    """The action is over (done or skipped): log it, and move the member on to the wait
    or exit that follows when the workflow sent it along (saving that node's own write)."""
    done = [*entries, _skip_entry(inp, reason)] if reason else list(entries)
    if inp.next_entry is not None:
        done.append(inp.next_entry)
    position = inp.next_entry.node_id if inp.next_entry else inp.node["id"]
    write_progress(session, inp.run, done, position)


class JourneyActivities:
    def __init__(
        self,
        engine: Engine,
        channels: Mapping[str, Channel],
        http: httpx.AsyncClient | None = None,
        policy: SendPolicy | None = None,
    ) -> None:
        self._engine = engine
        self._channels = channels
        self._http = http or httpx.AsyncClient(timeout=10)
        self._policy = policy or SendPolicy()

    def all(self) -> list[Any]:
        return [self.record_progress, self.member_facts, self.perform_action]

    @activity.defn(name="record_progress")
    async def record_progress(self, inp: RecordInput) -> str:
        """Returns the journey's status, so a run started just before a pause or stop
        learns of it at its next flush even if the signal missed it."""
        return await asyncio.to_thread(self._record, inp)

    def _record(self, inp: RecordInput) -> str:
        with session_scope(self._engine) as session:
            write_progress(session, inp.run, inp.entries, inp.current_node, inp.status)
            journey = session.get(JourneyRecord, inp.run.journey_id)
            return journey.status if journey else "stopped"

    @activity.defn(name="member_facts")
    async def member_facts(self, inp: FactsInput) -> Facts:
        def load() -> Facts:
            with session_scope(self._engine) as session:
                return load_facts(session, inp.member_id, inp.event_names)

        return await asyncio.to_thread(load)

    @activity.defn(name="perform_action")
    async def perform_action(self, inp: ActionInput) -> ActionResult:
        node = _node_adapter.validate_python(inp.node)
        if isinstance(node, SendMessage):
            return await self._send(inp, node)
        if isinstance(node, Webhook):
            return await self._webhook(inp, node)
        return await asyncio.to_thread(self._store_action, inp, node)  # type: ignore[arg-type]

    def _finish(self, inp: ActionInput, reason: str | None, extra: list[LogEntry]) -> ActionResult:
        with session_scope(self._engine) as session:
            _write_done(session, inp, reason, extra)
        return ActionResult(done=reason is None, skipped_reason=reason)

    def _store_action(self, inp: ActionInput, node: StoreAction) -> ActionResult:
        with session_scope(self._engine) as session:
            reason = apply_store_action(
                session, node, inp.run.member_id, inp.idempotency_key, inp.run.workflow_id
            )
            _write_done(session, inp, reason, inp.entries)
        return ActionResult(done=reason is None, skipped_reason=reason)

    async def _send(self, inp: ActionInput, node: SendMessage) -> ActionResult:
        channel = self._channels.get(node.channel)
        if channel is None:  # before any row, so nothing is left "sending" to count
            return await asyncio.to_thread(self._finish, inp, "channel_not_configured", inp.entries)

        def prepare() -> Prepared:
            with session_scope(self._engine) as session:
                write_progress(session, inp.run, inp.entries, node.id)
                return prepare_message(
                    session,
                    node,
                    inp.run.member_id,
                    inp.idempotency_key,
                    inp.run.workflow_id,
                    inp.run.journey_id,
                    at=datetime.fromisoformat(inp.at) if inp.at else None,
                    policy=self._policy,
                    on_cap=inp.on_cap,
                )

        prepared = await asyncio.to_thread(prepare)
        if prepared.defer_until is not None:
            return ActionResult(
                done=False,
                skipped_reason=prepared.skipped_reason,
                defer_until=prepared.defer_until.isoformat(),
            )
        if prepared.message is None:
            reason = prepared.skipped_reason
            return await asyncio.to_thread(self._finish, inp, reason, [])
        result: SendResult = await channel.send(prepared.message)

        def settle() -> str | None:
            with session_scope(self._engine) as session:
                reason = settle_message(session, inp.idempotency_key, result)
                if result.accepted:
                    _write_done(session, inp, None, [])
                return reason

        reason = await asyncio.to_thread(settle)
        if result.accepted or result.error is None:
            return ActionResult(done=True)
        if result.error.kind.retryable:
            delay = result.error.retry_after
            raise ApplicationError(
                f"{node.channel} {result.error.kind}: {result.error.message}",
                type=f"Channel.{result.error.kind}",
                next_retry_delay=timedelta(seconds=delay) if delay else None,
            )
        return await asyncio.to_thread(self._finish, inp, reason, [])

    async def _webhook(self, inp: ActionInput, node: Webhook) -> ActionResult:
        def record_arrival() -> None:
            with session_scope(self._engine) as session:
                write_progress(session, inp.run, inp.entries, inp.node["id"])

        await asyncio.to_thread(record_arrival)
        payload = {
            "journey_id": inp.run.journey_id,
            "version": inp.run.version,
            "node_id": node.id,
            "member_id": inp.run.member_id,
        }
        try:
            response = await self._http.post(
                node.url, json=payload, headers={"Idempotency-Key": inp.idempotency_key}
            )
        except httpx.HTTPError as exc:
            raise ApplicationError(f"webhook {node.url}: {exc}", type="Webhook.transient") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ApplicationError(
                f"webhook {node.url} answered {response.status_code}", type="Webhook.transient"
            )
        rejected = "webhook_rejected" if response.status_code >= 400 else None
        return await asyncio.to_thread(self._finish, inp, rejected, [])
