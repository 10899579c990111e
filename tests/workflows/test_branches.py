"""Condition nodes on tags, attributes, points and event counts; first match wins."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from engine.store.db import session_scope
from engine.store.models import MemberTag, PointsEntry
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, path_of, trigger

BRANCHES: list[dict[str, Any]] = [
    {
        "name": "churn_risk",
        "predicates": [{"subject": "tag", "op": "has", "value": "high_churn_risk"}],
    },
    {
        "name": "shanghai",
        "predicates": [{"subject": "attribute", "key": "city", "op": "eq", "value": "Shanghai"}],
    },
    {"name": "rich", "predicates": [{"subject": "points", "op": "gte", "value": 500}]},
    {
        "name": "repeat",
        "predicates": [{"subject": "event_count", "key": "order_paid", "op": "gte", "value": 2}],
    },
]


def _journey() -> dict[str, object]:
    ports: list[str] = [b["name"] for b in BRANCHES] + ["else"]
    return journey(
        "branches",
        [
            trigger(),
            {"id": "route", "kind": "condition", "branches": BRANCHES},
            *(exit_(f"x_{port}") for port in ports),
        ],
        [("start", "next", "route"), *(("route", port, f"x_{port}") for port in ports)],
    )


def _tag(harness: Harness, member_id: int, tag: str) -> None:
    with session_scope(harness.engine) as session:
        session.add(MemberTag(member_id=member_id, tag=tag))


def _points(harness: Harness, member_id: int, *amounts: int) -> None:
    with session_scope(harness.engine) as session:
        for i, delta in enumerate(amounts):
            session.add(
                PointsEntry(
                    idempotency_key=f"manual:{member_id}:{i}", member_id=member_id, delta=delta
                )
            )


async def test_each_subject_routes_and_the_first_matching_branch_wins(harness: Harness) -> None:
    harness.publish(_journey())
    members = {
        ext: harness.member(ext)
        for ext in ("m-0001", "m-0002", "m-0003", "m-0004", "m-0005", "m-0006", "m-0007", "m-0008")
    }
    _tag(harness, members["m-0001"], "high_churn_risk")
    harness.member("m-0002", attributes={"city": "Shanghai"})
    _points(harness, members["m-0003"], 300, 250)
    _points(harness, members["m-0004"], 300, 100)  # 400: not enough
    await harness.event("m-0005", "order_paid")
    await harness.event("m-0005", "order_paid")
    # m-0006 has nothing; m-0007 matches every branch; m-0008 all but the tag.
    for ext in ("m-0007", "m-0008"):
        harness.member(ext, attributes={"city": "Shanghai"})
        _points(harness, members[ext], 600)
        await harness.event(ext, "order_paid")
        await harness.event(ext, "order_paid")
    _tag(harness, members["m-0007"], "high_churn_risk")

    for ext in members:
        await harness.event(ext, "registered")
    expected = {
        "m-0001": "x_churn_risk",
        "m-0002": "x_shanghai",
        "m-0003": "x_rich",
        "m-0004": "x_else",
        "m-0005": "x_repeat",
        "m-0006": "x_else",
        "m-0007": "x_churn_risk",
        "m-0008": "x_shanghai",
    }
    for ext, member_id in members.items():
        assert await harness.result("branches", member_id) == "completed"
        assert path_of(harness, "branches", member_id) == ["start", "route", expected[ext]], ext
    assert harness.node_events("branches")["route"] == 8
    with session_scope(harness.engine) as session:
        assert len(session.exec(select(MemberTag)).all()) == 2
