"""Member profiles as the CRM sends them, and what journeys did to each member."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from engine.runtime.ingest import MemberIn
from engine.runtime.member_facts import points_balance
from engine.store.members import upsert_member
from engine.store.models import Coupon, Member, MemberTag, MessageLog
from web.deps import SessionDep

__all__ = ["find_member", "router"]

router = APIRouter(tags=["members"])

ExternalId = Annotated[str, Path(min_length=1, max_length=128)]


class _Rows(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TagOut(_Rows):
    tag: str
    source: str
    created_at: datetime


class CouponOut(_Rows):
    code: str
    template_id: str
    issued_at: datetime
    expires_at: datetime
    redeemed_at: datetime | None


class MemberOut(_Rows):
    external_id: str
    phone: str | None
    email: str | None
    wechat_openid: str | None
    first_name: str | None
    timezone: str
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    tags: list[TagOut]
    points: int
    coupons: list[CouponOut]


class MessageOut(_Rows):
    id: int
    journey_id: str | None
    node_id: str | None
    channel: str
    template_id: str
    recipient: str
    subject: str | None
    body: str
    status: str
    error_kind: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


@router.put("/members/{external_id}")
def upsert(session: SessionDep, external_id: ExternalId, body: MemberIn) -> MemberOut:
    """Creates or updates; fields left out are kept and attributes are merged."""
    member = upsert_member(session, external_id, body.model_dump(exclude_none=True))
    session.commit()
    return _member_out(session, member)


@router.get("/members/{external_id}")
def get_member(session: SessionDep, external_id: ExternalId) -> MemberOut:
    return _member_out(session, find_member(session, external_id))


@router.get("/members/{external_id}/messages")
def member_messages(
    session: SessionDep,
    external_id: ExternalId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MessageOut]:
    """Newest first: what the member was sent, and how each send ended."""
    member = find_member(session, external_id)
    rows = session.exec(
        select(MessageLog)
        .where(MessageLog.member_id == member.id)
        .order_by(col(MessageLog.created_at).desc(), col(MessageLog.id).desc())
        .limit(limit)
    ).all()
    return [MessageOut.model_validate(r) for r in rows]


def find_member(session: Session, external_id: str) -> Member:
    member = session.exec(select(Member).where(Member.external_id == external_id)).first()
    if member is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"member {external_id} does not exist")
    return member


def _member_out(session: Session, member: Member) -> MemberOut:
    assert member.id is not None
    tags = session.exec(
        select(MemberTag).where(MemberTag.member_id == member.id).order_by(col(MemberTag.tag))
    ).all()
    coupons = session.exec(
        select(Coupon).where(Coupon.member_id == member.id).order_by(col(Coupon.issued_at))
    ).all()
    return MemberOut.model_validate(
        {
            **member.model_dump(),
            "tags": [TagOut.model_validate(t) for t in tags],
            "points": points_balance(session, member.id),
            "coupons": [CouponOut.model_validate(c) for c in coupons],
        }
    )
