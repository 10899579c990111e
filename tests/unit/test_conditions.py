"""Condition predicates against a member snapshot: every operator, missing values, keys."""

from __future__ import annotations

from typing import Any

import pytest

from engine.runtime.conditions import Facts, choose_branch, holds
from journeys.model import Branch, Predicate

FACTS = Facts(
    tags=["vip", "newsletter"],
    attributes={"city": "Shanghai", "age": 30, "score": "7.5", "interests": ["tea", "books"]},
    points=500,
    coupons_held=["welcome_10"],
    coupons_redeemed=["birthday_30"],
    event_counts={"order_paid": 2},
    rfm_segment="champions",
    lifecycle_stage="active",
)


def p(subject: str, op: str, value: Any = None, key: str | None = None) -> Predicate:
    return Predicate.model_validate({"subject": subject, "op": op, "value": value, "key": key})


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        (p("attribute", "eq", "Shanghai", "city"), True),
        (p("attribute", "eq", "Beijing", "city"), False),
        (p("attribute", "ne", "Beijing", "city"), True),
        (p("attribute", "ne", "Shanghai", "city"), False),
        (p("points", "gt", 499), True),
        (p("points", "gt", 500), False),
        (p("points", "gte", 500), True),
        (p("points", "gte", 501), False),
        (p("points", "lt", 501), True),
        (p("points", "lt", 500), False),
        (p("points", "lte", 500), True),
        (p("points", "lte", 499), False),
        (p("attribute", "in", ["Beijing", "Shanghai"], "city"), True),
        (p("attribute", "in", ["Beijing"], "city"), False),
        (p("attribute", "not_in", ["Beijing"], "city"), True),
        (p("attribute", "not_in", ["Shanghai"], "city"), False),
        (p("tag", "has", "vip"), True),
        (p("tag", "has", "gold"), False),
        (p("tag", "not_has", "gold"), True),
        (p("tag", "not_has", "vip"), False),
        (p("rfm_segment", "eq", "champions"), True),
        (p("lifecycle_stage", "in", ["active", "new"]), True),
        (p("coupon_redeemed", "has", None, "birthday_30"), True),
        (p("event_count", "gte", 2, "order_paid"), True),
        (p("event_count", "eq", 3, "order_paid"), False),
    ],
)
def test_every_operator(predicate: Predicate, expected: bool) -> None:
    assert holds(predicate, FACTS) is expected


def test_numeric_comparisons_read_numbers_from_text() -> None:
    assert holds(p("attribute", "gt", 7, "score"), FACTS)
    assert holds(p("attribute", "lte", "7.5", "score"), FACTS)
    assert holds(p("attribute", "gte", "18", "age"), FACTS)


def test_numeric_comparison_with_text_that_is_no_number_is_false() -> None:
    assert not holds(p("attribute", "gt", 1, "city"), FACTS)
    assert not holds(p("attribute", "lt", 1, "city"), FACTS)
    assert not holds(p("points", "gt", "lots"), FACTS)


def test_eq_does_not_convert_types() -> None:
    assert not holds(p("attribute", "eq", "30", "age"), FACTS)
    assert holds(p("attribute", "eq", 30, "age"), FACTS)


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
def test_missing_values_never_compare(op: str) -> None:
    assert not holds(p("attribute", op, 1, "height"), FACTS)
    assert not holds(p("attribute", op, None, "age"), FACTS)
    assert not holds(p("rfm_segment", op, 1), Facts())


def test_missing_values_with_equality_and_lists() -> None:
    empty = Facts()
    assert not holds(p("attribute", "eq", "Shanghai", "city"), empty)
    assert holds(p("attribute", "ne", "Shanghai", "city"), empty)
    assert holds(p("attribute", "eq", None, "city"), empty)  # "is not set"
    assert not holds(p("attribute", "in", ["Shanghai"], "city"), empty)
    assert holds(p("attribute", "not_in", ["Shanghai"], "city"), empty)
    assert not holds(p("attribute", "in", None, "city"), FACTS)
    assert not holds(p("tag", "has", "vip"), empty)
    assert holds(p("tag", "not_has", "vip"), empty)
    assert not holds(p("attribute", "has", "tea", "interests"), empty)
    assert holds(p("lifecycle_stage", "eq", None), empty)


def test_event_count_of_an_event_never_seen_is_zero() -> None:
    assert holds(p("event_count", "eq", 0, "refund"), FACTS)
    assert not holds(p("event_count", "gte", 1, "refund"), FACTS)
    assert holds(p("event_count", "lt", 1, "refund"), Facts())


def test_has_uses_the_key_when_there_is_no_value() -> None:
    assert holds(p("coupon_held", "has", None, "welcome_10"), FACTS)
    assert not holds(p("coupon_held", "has", None, "birthday_30"), FACTS)  # redeemed
    assert holds(p("coupon_held", "not_has", None, "birthday_30"), FACTS)
    assert not holds(p("coupon_redeemed", "not_has", None, "birthday_30"), FACTS)


def test_has_prefers_the_value_over_the_key() -> None:
    assert holds(p("coupon_held", "has", "welcome_10", "something_else"), FACTS)
    assert not holds(p("coupon_held", "has", "something_else", "welcome_10"), FACTS)
    assert holds(p("attribute", "has", "tea", "interests"), FACTS)  # key names the list
    assert not holds(p("attribute", "has", "golf", "interests"), FACTS)


def test_other_operators_never_fall_back_to_the_key() -> None:
    # eq with no value compares with None, not with the key.
    assert not holds(p("rfm_segment", "eq", None, "champions"), FACTS)


def _branch(name: str, *predicates: Predicate, match: str = "all") -> Branch:
    return Branch.model_validate(
        {"name": name, "match": match, "predicates": [x.model_dump() for x in predicates]}
    )


def test_first_matching_branch_wins_else_otherwise() -> None:
    branches = [
        _branch("gold", p("tag", "has", "gold")),
        _branch("vip", p("tag", "has", "vip")),
        _branch("rich", p("points", "gte", 100)),
    ]
    assert choose_branch(branches, FACTS) == "vip"
    assert choose_branch(branches, Facts(points=100)) == "rich"
    assert choose_branch(branches, Facts()) == "else"
    assert choose_branch([], FACTS) == "else"


def test_all_and_any() -> None:
    vip = p("tag", "has", "vip")
    gold = p("tag", "has", "gold")
    assert choose_branch([_branch("b", vip, gold)], FACTS) == "else"
    assert choose_branch([_branch("b", vip, gold, match="any")], FACTS) == "b"
    assert choose_branch([_branch("b", gold, match="any")], FACTS) == "else"
    assert choose_branch([_branch("b", vip, p("points", "gte", 500))], FACTS) == "b"
