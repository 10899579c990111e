"""Side effects that live in our own store: coupons, points, tags, attributes.

Each runs inside the caller's transaction and is idempotent on its key, so an activity
retried after a crash finds its earlier work instead of doing it twice.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from engine.store.models import (
    Coupon,
    CouponTemplate,
    Member,
    MemberTag,
    PointsEntry,
    Tag,
    utcnow,
)
from journeys.model import AddTag, AwardPoints, RemoveTag, SendCoupon, UpdateAttribute

__all__ = ["StoreAction", "apply_store_action", "coupon_code"]

StoreAction = SendCoupon | AddTag | RemoveTag | AwardPoints | UpdateAttribute


def coupon_code(idempotency_key: str) -> str:
    """Derived from the key, so a retry that races its first attempt collides on the
    unique code instead of issuing a second coupon."""
    return "CPN-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12].upper()


def _issue_coupon(session: Session, node: SendCoupon, member_id: int, key: str) -> str | None:
    if session.exec(select(Coupon.id).where(Coupon.idempotency_key == key)).first():
        return None
    template = session.get(CouponTemplate, node.coupon)
    if template is None:
        return "unknown_coupon"
    taken = session.execute(
        update(CouponTemplate)
        .where(
            col(CouponTemplate.id) == node.coupon,
            (col(CouponTemplate.stock).is_(None))
            | (col(CouponTemplate.issued) < col(CouponTemplate.stock)),
        )
        .values(issued=CouponTemplate.issued + 1)
    )
    if getattr(taken, "rowcount", 0) == 0:
        return "out_of_stock"
    now = utcnow()
    session.add(
        Coupon(
            idempotency_key=key,
            template_id=node.coupon,
            member_id=member_id,
            code=coupon_code(key),
            issued_at=now,
            expires_at=now + timedelta(days=template.validity_days),
        )
    )
    return None


def _award_points(session: Session, node: AwardPoints, member_id: int, key: str) -> None:
    if session.exec(select(PointsEntry.id).where(PointsEntry.idempotency_key == key)).first():
        return
    session.add(
        PointsEntry(idempotency_key=key, member_id=member_id, delta=node.points, reason=node.reason)
    )


def _add_tag(session: Session, tag: str, member_id: int, source: str) -> str | None:
    if session.get(Tag, tag) is None:
        return "unknown_tag"
    exists = session.exec(
        select(MemberTag.id).where(MemberTag.member_id == member_id, MemberTag.tag == tag)
    ).first()
    if not exists:
        session.add(MemberTag(member_id=member_id, tag=tag, source=source))
    return None


def _remove_tag(session: Session, tag: str, member_id: int) -> None:
    for row in session.exec(
        select(MemberTag).where(MemberTag.member_id == member_id, MemberTag.tag == tag)
    ):
        session.delete(row)


def _update_attribute(session: Session, node: UpdateAttribute, member_id: int) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    member.attributes = {**member.attributes, node.attribute: node.value}
    member.updated_at = utcnow()
    session.add(member)


def apply_store_action(
    session: Session, node: StoreAction, member_id: int, key: str, source: str
) -> str | None:
    """Returns a skip reason, or None when the action took effect (now or earlier)."""
    match node:
        case SendCoupon():
            return _issue_coupon(session, node, member_id, key)
        case AwardPoints():
            _award_points(session, node, member_id, key)
        case AddTag():
            return _add_tag(session, node.tag, member_id, source)
        case RemoveTag():
            _remove_tag(session, node.tag, member_id)
        case UpdateAttribute():
            _update_attribute(session, node, member_id)
    return None
