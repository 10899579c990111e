"""Inputs and outputs that cross the Temporal boundary: plain dataclasses, one per
workflow, signal and activity, so histories stay readable and stable across versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ActionInput",
    "ActionResult",
    "FactsInput",
    "LogEntry",
    "MemberEvent",
    "RecordInput",
    "RunInfo",
    "RunInput",
    "RunState",
]


@dataclass
class MemberEvent:
    event_id: str
    name: str
    occurred_at: str
    """ISO 8601 in UTC."""


@dataclass
class RunInfo:
    """Who and where: enough for any activity to key its writes."""

    workflow_id: str
    journey_id: str
    version: int
    member_id: int
    entry: int = 1
    holdout: bool = False


@dataclass
class LogEntry:
    node_id: str
    kind: str
    """entered | left | skipped | deferred | goal | holdout"""
    visit: int = 1
    reason: str | None = None
    at: str = ""


@dataclass
class RunState:
    """What survives continue-as-new."""

    node_id: str
    visits: dict[str, int] = field(default_factory=dict)
    events: list[MemberEvent] = field(default_factory=list)
    entered_at: str = ""
    converted: bool = False
    paused: bool = False


@dataclass
class RunInput:
    run: RunInfo
    plan: dict[str, Any]
    trigger_event_id: str | None = None
    time_scale: float = 1.0
    state: RunState | None = None
    quiet_hours: str = ""
    """The brand's default quiet hours ("HH:MM-HH:MM" or ""), decided by the router so
    the workflow never reads settings; a journey's own setting overrides it."""


@dataclass
class RecordInput:
    run: RunInfo
    entries: list[LogEntry]
    current_node: str | None
    status: str | None = None
    """Set when the run ends: completed | exited | converted | stopped."""


@dataclass
class FactsInput:
    member_id: int
    event_names: list[str] = field(default_factory=list)


@dataclass
class ActionInput:
    run: RunInfo
    node: dict[str, Any]
    idempotency_key: str
    visit: int = 1
    entries: list[LogEntry] = field(default_factory=list)
    """Node events not yet written; stored in the action's own transaction."""
    at: str = ""
    """When the journey acts (workflow time, ISO 8601): the member's day for caps."""
    on_cap: str = "skip"
    """The journey's ``on_cap`` setting: skip a capped send, or defer it."""
    next_entry: LogEntry | None = None
    """The wait or exit the member moves on to, written (and made the run's position)
    only once the action is done: a deferred action has not moved the member."""


@dataclass
class ActionResult:
    done: bool
    skipped_reason: str | None = None
    defer_until: str | None = None
    """Set instead of a skip when the action should be tried again then (ISO 8601)."""
