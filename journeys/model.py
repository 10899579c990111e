"""What a journey is: typed nodes with named ports, edges between ports, settings.

Pure data (pydantic, no I/O) so the same definition is validated by the API, frozen
into a published version, and interpreted inside Temporal workflows unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

__all__ = [
    "ACTION_KINDS",
    "BLOCKING_KINDS",
    "STORE_ACTION_KINDS",
    "TRIGGER_KINDS",
    "AddTag",
    "AwardPoints",
    "Branch",
    "Condition",
    "Duration",
    "Edge",
    "Exit",
    "Goal",
    "Journey",
    "JourneySettings",
    "Node",
    "Predicate",
    "QuietHours",
    "RandomSplit",
    "ReEntry",
    "RemoveTag",
    "SendCoupon",
    "SendMessage",
    "TriggerApi",
    "TriggerDate",
    "TriggerEvent",
    "TriggerSchedule",
    "TriggerSegment",
    "TriggerTagAdded",
    "UpdateAttribute",
    "Variant",
    "Wait",
    "WaitForEvent",
    "WaitUntilDate",
    "WaitUntilTime",
    "Webhook",
    "journey_json_schema",
]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Duration(_Strict):
    """A span written the way marketers think of it (days, hours, minutes)."""

    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    def total_seconds(self) -> int:
        return ((self.days * 24 + self.hours) * 60 + self.minutes) * 60 + self.seconds

    def as_timedelta(self) -> timedelta:
        return timedelta(seconds=self.total_seconds())


class _NodeBase(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    label: str = ""

    def ports(self) -> list[str]:
        """Named exits of this node; every one must be connected to another node."""
        return ["next"]


# ---------------------------------------------------------------- triggers


class TriggerEvent(_NodeBase):
    """Enters a member when they do something (registered, order_paid, ...)."""

    kind: Literal["trigger_event"] = "trigger_event"
    event: str = ""
    where: list[Predicate] = Field(default_factory=list)


class TriggerSegment(_NodeBase):
    """Enters members when they join a segment or lifecycle stage."""

    kind: Literal["trigger_segment"] = "trigger_segment"
    segment: str = ""


class TriggerTagAdded(_NodeBase):
    kind: Literal["trigger_tag_added"] = "trigger_tag_added"
    tag: str = ""


class TriggerDate(_NodeBase):
    """Enters members N days before/after a date attribute such as a birthday."""

    kind: Literal["trigger_date"] = "trigger_date"
    attribute: str = ""
    offset_days: int = 0
    time_of_day: str = "10:00"


class TriggerSchedule(_NodeBase):
    """One-off (``at``) or recurring (``cron``) send to a segment."""

    kind: Literal["trigger_schedule"] = "trigger_schedule"
    segment: str = ""
    at: str | None = None
    cron: str | None = None


class TriggerApi(_NodeBase):
    """Members are enrolled by an API call or by hand."""

    kind: Literal["trigger_api"] = "trigger_api"


# ---------------------------------------------------------------- flow


class Wait(_NodeBase):
    kind: Literal["wait"] = "wait"
    duration: Duration = Field(default_factory=Duration)


class WaitUntilTime(_NodeBase):
    """Waits until a local time of day (optionally on given ISO weekdays, 1=Monday)
    in the member's own timezone."""

    kind: Literal["wait_until_time"] = "wait_until_time"
    time_of_day: str = "10:00"
    weekdays: list[int] = Field(default_factory=list)

    @field_validator("time_of_day")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("time_of_day must be HH:MM (24-hour)")
        return value


class WaitUntilDate(_NodeBase):
    """Waits until a date attribute (e.g. birthday) plus or minus days."""

    kind: Literal["wait_until_date"] = "wait_until_date"
    attribute: str = ""
    offset_days: int = 0
    time_of_day: str = "10:00"


class WaitForEvent(_NodeBase):
    """Waits for one of several events; one exit per event plus ``timeout``.

    ``already_done`` covers members who did the event after entering the journey
    but before arriving here: ``take_path`` sends them down that event's exit at once.
    """

    kind: Literal["wait_for_event"] = "wait_for_event"
    events: list[str] = Field(default_factory=list)
    timeout: Duration = Field(default_factory=Duration)
    already_done: Literal["take_path", "wait"] = "take_path"

    def ports(self) -> list[str]:
        return [*self.events, "timeout"]


Subject = Literal[
    "tag",
    "attribute",
    "rfm_segment",
    "lifecycle_stage",
    "points",
    "coupon_held",
    "coupon_redeemed",
    "event_count",
]
Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "has", "not_has"]


class Predicate(_Strict):
    """One test on a member: ``tag has vip``, ``attribute city eq Shanghai``,
    ``points gte 500``, ``coupon_held has welcome_10``, ``event_count order_paid gte 2``."""

    subject: Subject
    key: str | None = None
    op: Operator = "eq"
    value: Any = None


class Branch(_Strict):
    name: str
    match: Literal["all", "any"] = "all"
    predicates: list[Predicate] = Field(default_factory=list)


class Condition(_NodeBase):
    """Ordered paths; the first whose predicates hold wins, otherwise ``else``."""

    kind: Literal["condition"] = "condition"
    branches: list[Branch] = Field(default_factory=list)

    def ports(self) -> list[str]:
        return [*(b.name for b in self.branches), "else"]


class Variant(_Strict):
    name: str
    percent: float


class RandomSplit(_NodeBase):
    """A/B split: members are assigned by a stable hash, so a replay picks the same path."""

    kind: Literal["random_split"] = "random_split"
    variants: list[Variant] = Field(default_factory=list)

    def ports(self) -> list[str]:
        return [v.name for v in self.variants]


class Exit(_NodeBase):
    kind: Literal["exit"] = "exit"

    def ports(self) -> list[str]:
        return []


# ---------------------------------------------------------------- actions


class SendMessage(_NodeBase):
    kind: Literal["send_message"] = "send_message"
    channel: Literal["sms", "email", "wechat"] = "sms"
    template: str = ""
    purpose: Literal["marketing", "transactional"] = "marketing"


class SendCoupon(_NodeBase):
    kind: Literal["send_coupon"] = "send_coupon"
    coupon: str = ""


class AddTag(_NodeBase):
    kind: Literal["add_tag"] = "add_tag"
    tag: str = ""


class RemoveTag(_NodeBase):
    kind: Literal["remove_tag"] = "remove_tag"
    tag: str = ""


class AwardPoints(_NodeBase):
    kind: Literal["award_points"] = "award_points"
    points: int = 0
    reason: str = ""


class UpdateAttribute(_NodeBase):
    kind: Literal["update_attribute"] = "update_attribute"
    attribute: str = ""
    value: Any = None


class Webhook(_NodeBase):
    """POSTs the member and journey to a URL, with our idempotency key as a header."""

    kind: Literal["webhook"] = "webhook"
    url: str = ""


Node = Annotated[
    TriggerEvent
    | TriggerSegment
    | TriggerTagAdded
    | TriggerDate
    | TriggerSchedule
    | TriggerApi
    | Wait
    | WaitUntilTime
    | WaitUntilDate
    | WaitForEvent
    | Condition
    | RandomSplit
    | Exit
    | SendMessage
    | SendCoupon
    | AddTag
    | RemoveTag
    | AwardPoints
    | UpdateAttribute
    | Webhook,
    Field(discriminator="kind"),
]

TRIGGER_KINDS = frozenset(
    {
        "trigger_event",
        "trigger_segment",
        "trigger_tag_added",
        "trigger_date",
        "trigger_schedule",
        "trigger_api",
    }
)
BLOCKING_KINDS = frozenset({"wait", "wait_until_time", "wait_until_date", "wait_for_event"})
ACTION_KINDS = frozenset(
    {
        "send_message",
        "send_coupon",
        "add_tag",
        "remove_tag",
        "award_points",
        "update_attribute",
        "webhook",
    }
)

STORE_ACTION_KINDS = frozenset(
    {"send_coupon", "add_tag", "remove_tag", "award_points", "update_attribute"}
)
"""Actions that only change our own store (no provider call)."""


class Edge(_Strict):
    source: str
    port: str = "next"
    target: str


class Goal(_Strict):
    """Conversion: ``event`` within ``window`` of entering. Counted, and an exit
    only when ``exit_on_goal`` says so."""

    event: str
    window: Duration = Field(default_factory=lambda: Duration(days=14))


class ReEntry(_Strict):
    """``never``: once per member. ``after_exit``: again once the previous run ended,
    no sooner than ``min_gap``. ``always``: every trigger starts a new run."""

    mode: Literal["never", "after_exit", "always"] = "never"
    min_gap: Duration = Field(default_factory=Duration)


QuietHours = Annotated[
    str,
    Field(
        pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        description='"HH:MM-HH:MM" in the member\'s timezone, may wrap midnight '
        '("21:00-09:00"); "" means no quiet hours.',
    ),
]
"""When marketing messages wait instead of going out; shared by journeys and the
brand default in the settings so both accept exactly the same text."""


class JourneySettings(_Strict):
    goal: Goal | None = None
    exit_on_goal: bool = True
    reentry: ReEntry = Field(default_factory=ReEntry)
    holdout_percent: float = Field(default=0.0, ge=0.0, le=100.0)
    quiet_hours: QuietHours | None = Field(
        default=None, description='None takes the brand default; "" turns it off here.'
    )
    on_cap: Literal["skip", "defer"] = Field(
        default="skip",
        description="A send over a frequency cap is skipped, or deferred to the member's next day.",
    )


class Journey(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str = Field(min_length=1)
    description: str = ""
    settings: JourneySettings = Field(default_factory=JourneySettings)
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def triggers(self) -> list[Node]:
        return [n for n in self.nodes if n.kind in TRIGGER_KINDS]


def is_valid_name(name: str) -> bool:
    """Event, tag and template names: short, no spaces, safe in URLs and logs."""
    return bool(_NAME.match(name))


def journey_json_schema() -> dict[str, Any]:
    """Published by the API so editors and scripts can build journeys."""
    return TypeAdapter(Journey).json_schema()


TriggerEvent.model_rebuild()
