"""What the store knows about a member, gathered for condition branches and waits.

Lifecycle stage and RFM segment are read from member attributes here; rules that
compute them belong to the audience layer, which sets those attributes.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from engine.runtime.conditions import Facts
from engine.store.models import Coupon, Event, Member, MemberTag, PointsEntry

__all__ = ["load_facts", "points_balance"]


def points_balance(session: Session, member_id: int) -> int:
    total = session.exec(
        select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
            PointsEntry.member_id == member_id
        )
    ).one()
    return int(total)


def load_facts(session: Session, member_id: int, event_names: list[str]) -> Facts:
    member = session.get(Member, member_id)
    if member is None:
        raise LookupError(f"member {member_id} does not exist")
    tags = session.exec(select(MemberTag.tag).where(MemberTag.member_id == member_id)).all()
    coupons = session.exec(select(Coupon).where(Coupon.member_id == member_id)).all()
    counts: dict[str, int] = {}
    if event_names:
        rows = session.exec(
            select(Event.name, func.count())
            .where(Event.member_id == member_id, col(Event.name).in_(event_names))
            .group_by(Event.name)
        ).all()
        counts = {name: int(n) for name, n in rows}
    attributes = dict(member.attributes)
    return Facts(
        tags=list(tags),
        attributes=attributes,
        points=points_balance(session, member_id),
        coupons_held=[c.template_id for c in coupons if c.redeemed_at is None],
        coupons_redeemed=[c.template_id for c in coupons if c.redeemed_at is not None],
        event_counts=counts,
        rfm_segment=attributes.get("rfm_segment"),
        lifecycle_stage=attributes.get("lifecycle_stage"),
        timezone=member.timezone,
    )
