"""Members as other systems describe them: one row per external id, created or updated."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from engine.store.models import Member, utcnow

__all__ = ["upsert_member"]

_MEMBER_FIELDS = ("phone", "email", "wechat_openid", "first_name", "timezone")


def upsert_member(session: Session, external_id: str, fields: dict[str, Any]) -> Member:
    """Creates or updates a member; ``attributes`` are merged, not replaced, so two
    systems can each own some of them."""
    member = session.exec(select(Member).where(Member.external_id == external_id)).first()
    if member is None:
        member = Member(external_id=external_id)
    for name in _MEMBER_FIELDS:
        if name in fields and fields[name] is not None:
            setattr(member, name, fields[name])
    if fields.get("attributes"):
        member.attributes = {**member.attributes, **fields["attributes"]}
    member.updated_at = utcnow()
    session.add(member)
    session.flush()
    return member
