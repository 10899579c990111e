"""Loads catalogs (templates, coupon templates, tags) into the store.

Upserts, so running the demo twice, or loading a catalog over an existing one, leaves
one row per name.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from engine.store.models import CouponTemplate, MessageTemplate, Tag

__all__ = ["load_catalog_rows"]


def load_catalog_rows(session: Session, catalog: dict[str, Any]) -> None:
    for t in catalog.get("message_templates", []):
        row = session.get(MessageTemplate, t["id"]) or MessageTemplate(
            id=t["id"], channel=t["channel"], body=t["body"]
        )
        row.channel, row.body, row.subject = t["channel"], t["body"], t.get("subject")
        row.provider_template = t.get("provider_template")
        row.params = t.get("params", {})
        session.add(row)
    for c in catalog.get("coupon_templates", []):
        coupon = session.get(CouponTemplate, c["id"]) or CouponTemplate(
            id=c["id"], name=c["name"], value=c["value"]
        )
        coupon.name, coupon.value = c["name"], c["value"]
        coupon.threshold = c.get("threshold", 0)
        coupon.validity_days = c.get("validity_days", 7)
        coupon.stock = c.get("stock")
        session.add(coupon)
    for tag in catalog.get("tags", []):
        row_tag = session.get(Tag, tag["name"]) or Tag(name=tag["name"])
        row_tag.kind = tag.get("kind", "behavioural")
        row_tag.description = tag.get("description", "")
        session.add(row_tag)
