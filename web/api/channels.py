"""Channel control and members' consent, for operators.

A provider that refuses a whole account (out of balance, suspended) halts its channel,
and sends are skipped until someone who fixed the account resumes it here. Consent
changes by hand (a member re-subscribes at the counter) are appended like any other, so
the history keeps who said what and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from engine.delivery.consent import ADDRESS_FIELDS, halt_channel, record_consent, resume_channel
from engine.store.models import ChannelState, Consent
from web.api.members import ExternalId, find_member
from web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["channels"])

ChannelName = Literal["sms", "email", "wechat"]
ChannelPath = Annotated[ChannelName, Path()]


class ChannelOut(BaseModel):
    channel: str
    halted: bool
    reason: str | None
    changed_at: datetime | None


class HaltIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class ConsentIn(BaseModel):
    channel: ChannelName
    purpose: Literal["marketing", "transactional"] = "marketing"
    opted_out: bool
    source: str = Field(default="api", min_length=1, max_length=64)


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: str
    purpose: str
    opted_out: bool
    source: str
    at: datetime


def _channel_out(state: ChannelState | None, channel: str) -> ChannelOut:
    if state is None:
        return ChannelOut(channel=channel, halted=False, reason=None, changed_at=None)
    return ChannelOut(
        channel=channel, halted=state.halted, reason=state.reason, changed_at=state.changed_at
    )


@router.get("/channels")
def list_channels(session: SessionDep) -> list[ChannelOut]:
    """Every channel, halted or not; ``changed_at`` is empty for one never halted."""
    return [_channel_out(session.get(ChannelState, name), name) for name in ADDRESS_FIELDS]


@router.post("/channels/{channel}/halt")
def halt(session: SessionDep, channel: ChannelPath, body: HaltIn) -> ChannelOut:
    halt_channel(session, channel, body.reason)
    session.commit()
    return _channel_out(session.get(ChannelState, channel), channel)


@router.post("/channels/{channel}/resume")
def resume(session: SessionDep, channel: ChannelPath) -> ChannelOut:
    resume_channel(session, channel)
    session.commit()
    return _channel_out(session.get(ChannelState, channel), channel)


@router.get("/members/{external_id}/consent")
def list_consent(session: SessionDep, external_id: ExternalId) -> list[ConsentOut]:
    """Newest first; the first row per channel and purpose is what holds."""
    member = find_member(session, external_id)
    rows = session.exec(
        select(Consent)
        .where(Consent.member_id == member.id)
        .order_by(col(Consent.at).desc(), col(Consent.id).desc())
    ).all()
    return [ConsentOut.model_validate(r) for r in rows]


@router.post(
    "/members/{external_id}/consent",
    responses={404: {"description": "No such member."}},
)
def change_consent(session: SessionDep, external_id: ExternalId, body: ConsentIn) -> ConsentOut:
    """Records a change by hand; repeating the state that holds adds no row."""
    member = find_member(session, external_id)
    assert member.id is not None
    row = record_consent(
        session,
        member.id,
        body.channel,
        body.source,
        purpose=body.purpose,
        opted_out=body.opted_out,
    )
    session.commit()
    return ConsentOut.model_validate(row)
