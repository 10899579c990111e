"""Pure evaluation of condition predicates against a snapshot of one member.

The snapshot (``Facts``) is read by a local activity; the decision is made here, in
plain code that the workflow can run deterministically and unit tests can cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeys.model import Branch, Predicate

__all__ = ["Facts", "choose_branch", "holds"]


@dataclass
class Facts:
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    points: int = 0
    coupons_held: list[str] = field(default_factory=list)
    coupons_redeemed: list[str] = field(default_factory=list)
    event_counts: dict[str, int] = field(default_factory=dict)
    rfm_segment: str | None = None
    lifecycle_stage: str | None = None
    timezone: str = "Asia/Shanghai"


def _subject_value(p: Predicate, facts: Facts) -> Any:
    match p.subject:
        case "tag":
            return facts.tags
        case "attribute":
            return facts.attributes.get(p.key or "")
        case "rfm_segment":
            return facts.rfm_segment
        case "lifecycle_stage":
            return facts.lifecycle_stage
        case "points":
            return facts.points
        case "coupon_held":
            return facts.coupons_held
        case "coupon_redeemed":
            return facts.coupons_redeemed
        case "event_count":
            return facts.event_counts.get(p.key or "", 0)


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op in ("has", "not_has"):
        found = expected in (actual or [])
        return found if op == "has" else not found
    if op in ("in", "not_in"):
        inside = actual in (expected or [])
        return inside if op == "in" else not inside
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if actual is None or expected is None:
        return False
    try:
        a, b = float(actual), float(expected)
    except (TypeError, ValueError):
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def holds(p: Predicate, facts: Facts) -> bool:
    """Subjects that are collections (tags, coupons) use ``key`` as the item when
    ``value`` is empty, so ``coupon_held has`` + key ``welcome_10`` reads naturally."""
    actual = _subject_value(p, facts)
    expected = p.value if p.value is not None or p.op not in ("has", "not_has") else p.key
    return _compare(p.op, actual, expected)


def choose_branch(branches: list[Branch], facts: Facts) -> str:
    for branch in branches:
        results = (holds(p, facts) for p in branch.predicates)
        if all(results) if branch.match == "all" else any(results):
            return branch.name
    return "else"
