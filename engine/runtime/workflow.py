"""MemberJourneyWorkflow: one member's durable path through one published journey.

It interprets the frozen plan it was started with (members in flight keep their
version), runs pure nodes back to back inside one workflow task, and hands every side
effect to an activity keyed by (workflow id, node id, visit). Node events are buffered
and written in the same transaction as the next side effect, or by a local activity
just before the member starts waiting, so the log costs no extra server round trips.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from engine.runtime import steps
    from engine.runtime.conditions import Facts, choose_branch
    from engine.runtime.contracts import (
        ActionInput,
        ActionResult,
        FactsInput,
        LogEntry,
        MemberEvent,
        RecordInput,
        RunInput,
        RunState,
    )
    from journeys.model import (
        ACTION_KINDS,
        BLOCKING_KINDS,
        STORE_ACTION_KINDS,
        TRIGGER_KINDS,
        Condition,
        Node,
        RandomSplit,
        SendMessage,
        Wait,
        WaitForEvent,
        WaitUntilDate,
        WaitUntilTime,
    )

__all__ = ["WORKFLOW_NAME", "MemberJourneyWorkflow", "send_task_queue"]

WORKFLOW_NAME = "MemberJourney"
_LOCAL = timedelta(seconds=30)
_ACTION_TIMEOUT = timedelta(minutes=2)
_ACTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=5),
)
_MAX_HISTORY = 4000


def send_task_queue(task_queue: str, channel: str) -> str:
    """Message sends run on a task queue per channel, so each provider account gets its
    own server-side rate limit (``JOURNEY_RATE_LIMITS``) without slowing anything else."""
    return f"{task_queue}-send-{channel}"


@workflow.defn(name=WORKFLOW_NAME)
class MemberJourneyWorkflow:
    @workflow.init
    def __init__(self, inp: RunInput) -> None:
        self._plan = steps.Plan.from_json(inp.plan)
        self._run = inp.run  # holdout was decided by the router, which records it
        self._scale = inp.time_scale
        self._trigger_event_id = inp.trigger_event_id
        self._brand_quiet_hours = inp.quiet_hours
        state = inp.state or RunState(
            node_id=self._plan.trigger_id, entered_at=workflow.now().isoformat()
        )
        self._node_id = state.node_id
        self._visits = state.visits
        self._events = state.events
        self._entered_at = datetime.fromisoformat(state.entered_at)
        self._converted = state.converted
        self._paused = state.paused
        self._stopped = False
        self._arrived: str | None = None
        self._pending: list[LogEntry] = []

    # ------------------------------------------------------------ signals, query

    @workflow.signal
    def event(self, ev: MemberEvent) -> None:
        """Every event of this member while in the journey: goals and wait-for-event.
        The goal window is judged on arrival (workflow time), not the sender's clock."""
        if ev.event_id == self._trigger_event_id or any(
            e.event_id == ev.event_id for e in self._events
        ):
            return
        self._events.append(ev)
        goal = self._plan.journey.settings.goal
        if (
            goal
            and not self._converted
            and ev.name == goal.event
            and steps.goal_window_open(
                self._entered_at,
                int(goal.window.total_seconds() * self._scale),
                workflow.now(),
            )
        ):
            self._converted = True
            self._log(self._node_id, "goal", self._visits.get(self._node_id, 1))

    @workflow.signal
    def pause(self) -> None:
        self._paused = True

    @workflow.signal
    def resume(self) -> None:
        self._paused = False

    @workflow.signal
    def stop(self) -> None:
        self._stopped = True

    @workflow.query
    def position(self) -> dict[str, object]:
        return {
            "node_id": self._node_id,
            "paused": self._paused,
            "converted": self._converted,
            "holdout": self._run.holdout,
        }

    # ------------------------------------------------------------ main loop

    @workflow.run
    async def run(self, inp: RunInput) -> str:
        del inp  # taken by __init__
        if self._run.holdout:
            return await self._hold_out()
        while True:
            node = self._plan.nodes[self._node_id]
            visit = self._enter(node.id)
            port = await self._execute(node, visit)
            if port is None or self._must_leave():
                if self._arrived is not None:  # the action already moved them on
                    self._node_id = self._arrived
                    visit = self._enter(self._arrived)
                break
            next_id = self._plan.next(node.id, port)
            if next_id is None:
                break
            self._node_id = next_id
            if self._plan.nodes[next_id].kind in BLOCKING_KINDS and self._history_is_long():
                await self._flush()
                workflow.continue_as_new(self._carry_over())
        return await self._finish(visit)

    def _must_leave(self) -> bool:
        return self._stopped or (self._converted and self._plan.journey.settings.exit_on_goal)

    async def _finish(self, visit: int) -> str:
        if self._stopped:
            status, reason = "stopped", "stopped"
        elif self._converted and self._plan.journey.settings.exit_on_goal:
            status, reason = "converted", "goal"
        else:
            status, reason = "completed", "exit"
        self._log(self._node_id, "left", visit, reason)
        await self._flush(status=status)
        return status

    async def _hold_out(self) -> str:
        """Holdout members get nothing but are watched for the goal, so conversion can
        be compared against doing nothing."""
        trigger = self._plan.trigger_id
        self._log(trigger, "entered", 1)
        self._log(trigger, "holdout", 1, "holdout")
        await self._flush()
        goal = self._plan.journey.settings.goal
        if goal:
            await self._sleep(goal.window.total_seconds(), until=lambda: self._converted)
        self._log(trigger, "left", 1, "holdout")
        await self._flush(status="holdout")
        return "holdout"

    # ------------------------------------------------------------ nodes

    async def _execute(self, node: Node, visit: int) -> str | None:
        if node.kind in TRIGGER_KINDS:
            return "next"
        if node.kind == "exit":
            return None
        if isinstance(node, Wait):
            return "next" if await self._sleep(node.duration.total_seconds()) else None
        if isinstance(node, WaitUntilTime | WaitUntilDate):
            return await self._wait_until(node)
        if isinstance(node, WaitForEvent):
            return await self._wait_for_event(node)
        if isinstance(node, Condition):
            counted = [p.key for b in node.branches for p in b.predicates if p.key]
            return choose_branch(node.branches, await self._facts(counted))
        if isinstance(node, RandomSplit):
            return steps.pick_variant(node.variants, self._run.workflow_id, node.id, visit)
        if node.kind in ACTION_KINDS:
            return await self._act(node, visit)
        raise ValueError(f"node kind {node.kind} cannot run")

    async def _act(self, node: Node, visit: int) -> str | None:
        """Runs an action once, however often it is deferred: a marketing message waits
        out the member's quiet hours, and a capped one in ``defer`` mode waits for the
        member's next day and tries again with the same idempotency key. ``at`` is the
        moment the journey means to act, which scaled (compressed) waits run ahead of."""
        at = workflow.now()
        while True:
            if self._paused:
                await self._flush()
                await workflow.wait_condition(lambda: not self._paused or self._stopped)
                if self._stopped:
                    return None
                at = max(at, workflow.now())
            if isinstance(node, SendMessage) and node.purpose == "marketing":
                quiet_end = await self._quiet_until(at)
                if quiet_end is not None:
                    if not await self._defer(node.id, visit, "quiet_hours", at, quiet_end):
                        return None
                    at = max(quiet_end, workflow.now())
            result = await self._perform(node, visit, at)
            if result.defer_until is None:
                return "next"  # skips are logged by the activity; the member goes on
            retry_at = datetime.fromisoformat(result.defer_until)
            reason = result.skipped_reason or "deferred"
            if not await self._defer(node.id, visit, reason, at, retry_at):
                return None
            at = max(retry_at, workflow.now())

    async def _perform(self, node: Node, visit: int, at: datetime) -> ActionResult:
        action = ActionInput(
            run=self._run,
            node=node.model_dump(mode="json"),
            idempotency_key=f"{self._run.workflow_id}:{node.id}:{visit}",
            visit=visit,
            entries=self._take_pending(),
            at=at.isoformat(),
            on_cap=self._plan.journey.settings.on_cap,
            next_entry=self._arrival_after(node, at),
        )
        result = await self._run_action(node, action)
        if result.defer_until is None and action.next_entry is not None:
            self._arrived = action.next_entry.node_id
        return result

    async def _run_action(self, node: Node, action: ActionInput) -> ActionResult:
        if node.kind in STORE_ACTION_KINDS:
            # Our own store only, idempotent on the key: safe to run locally, which
            # saves the server round trip a regular activity costs.
            result: ActionResult = await workflow.execute_local_activity(
                "perform_action",
                action,
                result_type=ActionResult,
                start_to_close_timeout=_LOCAL,
                retry_policy=_ACTION_RETRY,
            )
            return result
        queue = workflow.info().task_queue
        if isinstance(node, SendMessage):
            queue = send_task_queue(queue, node.channel)
        result = await workflow.execute_activity(
            "perform_action",
            action,
            result_type=ActionResult,
            task_queue=queue,
            start_to_close_timeout=_ACTION_TIMEOUT,
            retry_policy=_ACTION_RETRY,
        )
        return result

    async def _quiet_until(self, at: datetime) -> datetime | None:
        """When the member's quiet hours end, if ``at`` falls inside them."""
        own = self._plan.journey.settings.quiet_hours
        window = self._brand_quiet_hours if own is None else own
        if not window:
            return None
        start, end = window.split("-")
        facts = await self._facts([])
        return steps.quiet_until(at, facts.timezone, start, end)

    async def _defer(
        self, node_id: str, visit: int, reason: str, at: datetime, until: datetime
    ) -> bool:
        """Logs the deferral and sleeps until ``until``; False when the member must
        leave meanwhile (stop, goal exit)."""
        self._log(node_id, "deferred", visit, reason)
        return await self._sleep((until - at).total_seconds())

    async def _wait_until(self, node: WaitUntilTime | WaitUntilDate) -> str | None:
        facts = await self._facts([])
        tz = facts.timezone
        now = workflow.now()
        if isinstance(node, WaitUntilTime):
            target: datetime | None = steps.next_local_time(
                now, tz, node.time_of_day, node.weekdays
            )
        else:
            raw = facts.attributes.get(node.attribute)
            target = steps.next_date_attribute(
                now,
                tz,
                str(raw),
                node.offset_days,
                node.time_of_day,
                yearly=node.attribute in ("birthday", "anniversary"),
            )
        if target is None:
            self._log(node.id, "skipped", self._visits[node.id], "no_date")
            return "next"
        return "next" if await self._sleep((target - now).total_seconds()) else None

    async def _wait_for_event(self, node: WaitForEvent) -> str | None:
        start = 0 if node.already_done == "take_path" else len(self._events)

        def happened() -> str | None:
            for ev in self._events[start:]:
                if ev.name in node.events:
                    return ev.name
            return None

        if (port := happened()) is not None:
            return port
        timed_out = await self._sleep(
            node.timeout.total_seconds(), until=lambda: happened() is not None
        )
        if self._must_leave():
            return None
        return "timeout" if timed_out else happened()

    async def _sleep(self, seconds: float, *, until: Callable[[], bool] | None = None) -> bool:
        """Waits with a durable timer; True when the full time passed, False when the
        member was woken early (stop, goal exit, or ``until`` became true)."""
        await self._flush()
        try:
            await workflow.wait_condition(
                lambda: self._must_leave() or bool(until and until()),
                timeout=max(seconds * self._scale, 0.001),
            )
        except TimeoutError:
            return True
        return False

    # ------------------------------------------------------------ log and state

    def _enter(self, node_id: str) -> int:
        visit = self._visits.get(node_id, 0) + 1
        self._visits[node_id] = visit
        if self._arrived == node_id:
            self._arrived = None  # written by the action that led here
        else:
            self._log(node_id, "entered", visit)
        return visit

    def _arrival_after(self, node: Node, at: datetime) -> LogEntry | None:
        """When an action leads straight to a wait or an exit, the action's transaction
        records the member arriving there, so the member starts waiting without a
        separate write (the local activity that would hold the workflow task)."""
        next_id = self._plan.next(node.id, "next")
        if next_id is None or next_id == node.id:
            return None
        kind = self._plan.nodes[next_id].kind
        if kind not in BLOCKING_KINDS and kind != "exit":
            return None
        visit = self._visits.get(next_id, 0) + 1
        return LogEntry(next_id, "entered", visit, None, at.isoformat())

    def _log(self, node_id: str, kind: str, visit: int, reason: str | None = None) -> None:
        self._pending.append(LogEntry(node_id, kind, visit, reason, workflow.now().isoformat()))

    def _take_pending(self) -> list[LogEntry]:
        entries, self._pending = self._pending, []
        return entries

    async def _flush(self, status: str | None = None) -> None:
        if not self._pending and status is None:
            return
        journey_status = await workflow.execute_local_activity(
            "record_progress",
            RecordInput(self._run, self._take_pending(), self._node_id, status),
            result_type=str,
            start_to_close_timeout=_LOCAL,
        )
        self._paused = journey_status == "paused"
        self._stopped = self._stopped or journey_status == "stopped"

    async def _facts(self, event_names: list[str]) -> Facts:
        facts: Facts = await workflow.execute_local_activity(
            "member_facts",
            FactsInput(self._run.member_id, event_names),
            result_type=Facts,
            start_to_close_timeout=_LOCAL,
        )
        return facts

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > (
            _MAX_HISTORY
        )

    def _carry_over(self) -> RunInput:
        return RunInput(
            run=self._run,
            plan=self._plan.journey.model_dump(mode="json"),
            trigger_event_id=self._trigger_event_id,
            time_scale=self._scale,
            quiet_hours=self._brand_quiet_hours,
            state=RunState(
                node_id=self._node_id,
                visits=self._visits,
                events=self._events,
                entered_at=self._entered_at.isoformat(),
                converted=self._converted,
                paused=self._paused,
            ),
        )
