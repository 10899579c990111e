"""The store: SQLModel tables shared by the API, the worker's activities and analytics.

Every table that records a side effect has a unique ``idempotency_key`` so a retried
activity finds what it already did instead of doing it again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "ChannelState",
    "Consent",
    "Coupon",
    "CouponTemplate",
    "Event",
    "JourneyRecord",
    "JourneyRun",
    "JourneyVersion",
    "Member",
    "MemberTag",
    "MessageLog",
    "MessageTemplate",
    "NodeEvent",
    "PointsEntry",
    "Tag",
    "iso_utc",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Member(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(unique=True, index=True, max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    wechat_openid: str | None = Field(default=None, max_length=64)
    first_name: str | None = Field(default=None, max_length=64)
    timezone: str = Field(default="Asia/Shanghai", max_length=64)
    attributes: dict[str, Any] = _json()
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Event(SQLModel, table=True):
    """What members did; ``event_id`` is the sender's id, so re-sent events are ignored."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=128)
    member_id: int = Field(foreign_key="member.id", index=True)
    name: str = Field(index=True, max_length=64)
    properties: dict[str, Any] = _json()
    occurred_at: datetime
    received_at: datetime = Field(default_factory=utcnow)
    routed_at: datetime | None = Field(
        default=None, description="Set once journeys have been told; a re-sent event retries."
    )


class Tag(SQLModel, table=True):
    name: str = Field(primary_key=True, max_length=64)
    kind: str = Field(default="behavioural", max_length=16)
    description: str = ""


class MemberTag(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("member_id", "tag"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    tag: str = Field(foreign_key="tag.name", max_length=64)
    source: str = Field(default="manual", max_length=128)
    created_at: datetime = Field(default_factory=utcnow)


class MessageTemplate(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=16)
    subject: str | None = None
    body: str
    provider_template: str | None = Field(
        default=None, description="Provider-side template id (SMS template code, WeChat id)."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Provider template parameters: name -> Jinja2 text, e.g. WeChat"
        " 'kw.thing1', Aliyun 'name', Tencent '1', '2' (positional).",
    )


class CouponTemplate(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    threshold: float = 0
    value: float
    validity_days: int = 7
    stock: int | None = Field(default=None, description="None means unlimited.")
    issued: int = 0


class Coupon(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=255)
    template_id: str = Field(foreign_key="coupontemplate.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    code: str = Field(unique=True, max_length=64)
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    redeemed_at: datetime | None = None


class PointsEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=255)
    member_id: int = Field(foreign_key="member.id", index=True)
    delta: int
    reason: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class JourneyRecord(SQLModel, table=True):
    """The editable draft and the lifecycle status of a journey."""

    __tablename__ = "journey"

    id: str = Field(primary_key=True, max_length=64)
    name: str
    status: str = Field(default="draft", max_length=16)
    draft: dict[str, Any] = _json()
    live_version: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class JourneyVersion(SQLModel, table=True):
    """A published definition. Never updated: members in flight run the version they entered."""

    journey_id: str = Field(foreign_key="journey.id", primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    definition: dict[str, Any] = _json()
    published_at: datetime = Field(default_factory=utcnow)


class JourneyRun(SQLModel, table=True):
    """One member's pass through one journey: one Temporal workflow."""

    __table_args__ = (Index("ix_run_journey_member", "journey_id", "member_id"),)

    workflow_id: str = Field(primary_key=True, max_length=255)
    journey_id: str = Field(foreign_key="journey.id", max_length=64)
    version: int
    member_id: int = Field(foreign_key="member.id")
    entry: int = 1
    holdout: bool = False
    status: str = Field(default="active", max_length=16)
    current_node: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class NodeEvent(SQLModel, table=True):
    """Append-only log of where members went; analytics are counted from it.

    Unique on (run, node, visit, kind) so a replayed write is a no-op.
    """

    __table_args__ = (
        UniqueConstraint("workflow_id", "node_id", "visit", "kind"),
        Index("ix_nodeevent_journey", "journey_id", "version", "node_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    journey_id: str = Field(max_length=64)
    version: int
    node_id: str = Field(max_length=64)
    member_id: int
    workflow_id: str = Field(max_length=255)
    visit: int = 1
    kind: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow)


class MessageLog(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=255)
    member_id: int = Field(foreign_key="member.id", index=True)
    journey_id: str | None = Field(default=None, max_length=64)
    node_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=16)
    template_id: str = Field(max_length=64)
    purpose: str = Field(
        default="marketing",
        max_length=16,
        description="marketing or transactional: only marketing counts towards caps.",
    )
    recipient: str = Field(max_length=254)
    subject: str | None = None
    body: str
    status: str = Field(default="sending", max_length=16)
    provider_message_id: str | None = Field(default=None, index=True, max_length=128)
    error_kind: str | None = Field(default=None, max_length=32)
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Consent(SQLModel, table=True):
    """A member's opt-out (or re-opt-in) for one channel and purpose, with where it came
    from: the latest row per (member, channel, purpose) is what holds."""

    __table_args__ = (Index("ix_consent_member", "member_id", "channel", "purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    channel: str = Field(max_length=16)
    purpose: str = Field(default="marketing", max_length=16)
    opted_out: bool = True
    source: str = Field(max_length=64, description="e.g. sms_reply_T, wechat_43004, bounce")
    at: datetime = Field(default_factory=utcnow)


class ChannelState(SQLModel, table=True):
    """A channel halted by its provider (e.g. out of balance) stays halted until someone
    resumes it, so sends are skipped instead of burning retries."""

    channel: str = Field(primary_key=True, max_length=16)
    halted: bool = False
    reason: str | None = None
    changed_at: datetime = Field(default_factory=utcnow)
