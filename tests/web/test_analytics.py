"""engine.analytics over a hand-written log: holdout apart, versions apart, skips by
reason, members waiting now."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.analytics import journey_stats
from engine.store.db import get_engine, init_db, session_scope
from engine.store.models import JourneyRecord, JourneyRun, JourneyVersion, Member, NodeEvent
from tests.support import database_url

_V1: dict[str, Any] = {
    "id": "j",
    "name": "J",
    "nodes": [
        {"id": "start", "kind": "trigger_event", "event": "registered"},
        {"id": "sms", "kind": "send_message", "template": "t"},
        {"id": "wait", "kind": "wait", "duration": {"days": 1}},
        {"id": "old", "kind": "exit"},
    ],
}
_V2 = {**_V1, "nodes": [*_V1["nodes"][:3], {"id": "done", "kind": "exit", "label": "Done"}]}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = get_engine(database_url(tmp_path))
    init_db(engine)
    with session_scope(engine) as session:
        session.add(JourneyRecord(id="j", name="J", status="live", live_version=2))
        session.add(Member(id=1, external_id="m"))
        session.flush()
        session.add(JourneyVersion(journey_id="j", version=1, definition=_V1))
        session.add(JourneyVersion(journey_id="j", version=2, definition=_V2))
        session.add_all(_runs())
        session.flush()
        session.add_all(_events())
    yield engine


def _runs() -> list[JourneyRun]:
    def run(name: str, version: int, status: str, node: str, holdout: bool = False) -> JourneyRun:
        return JourneyRun(
            workflow_id=name,
            journey_id="j",
            version=version,
            member_id=1,
            status=status,
            current_node=node,
            holdout=holdout,
        )

    return [
        run("a", 1, "completed", "old"),
        run("b", 1, "converted", "sms"),
        run("c", 2, "active", "wait"),
        run("d", 2, "active", "wait"),
        run("h1", 2, "holdout", "start", holdout=True),
        run("h2", 2, "active", "start", holdout=True),
    ]


def _events() -> list[NodeEvent]:
    log = {
        "a": [("start", "entered", None), ("sms", "entered", None), ("sms", "skipped", "quiet"),
              ("wait", "entered", None), ("old", "entered", None), ("old", "left", "exit")],
        "b": [("start", "entered", None), ("sms", "entered", None), ("sms", "goal", None),
              ("sms", "left", "goal")],
        "c": [("start", "entered", None), ("sms", "entered", None), ("sms", "skipped", "opted_out"),
              ("wait", "entered", None)],
        "d": [("start", "entered", None), ("sms", "entered", None), ("sms", "skipped", "quiet"),
              ("wait", "entered", None), ("wait", "goal", None)],
        "h1": [("start", "entered", None), ("start", "holdout", "holdout"), ("start", "goal", None),
               ("start", "left", "holdout")],
        "h2": [("start", "entered", None), ("start", "holdout", "holdout")],
    }  # fmt: skip
    version = {"a": 1, "b": 1}
    return [
        NodeEvent(
            journey_id="j",
            version=version.get(run, 2),
            node_id=node,
            member_id=1,
            workflow_id=run,
            kind=kind,
            reason=reason,
        )
        for run, entries in log.items()
        for node, kind, reason in entries
    ]


def test_totals_keep_the_holdout_apart(engine: Engine) -> None:
    with Session(engine) as session:
        stats = journey_stats(session, "j")
    assert (stats.runs, stats.active, stats.completed) == (6, 3, 3)
    assert stats.by_status == {"active": 3, "completed": 1, "converted": 1, "holdout": 1}
    assert (stats.converted, stats.conversion_rate) == (2, 0.5)
    assert (stats.holdout_runs, stats.holdout_converted, stats.holdout_conversion_rate) == (
        2,
        1,
        0.5,
    )
    assert stats.definition_version == 2 and stats.version is None


def test_nodes_of_all_versions(engine: Engine) -> None:
    with Session(engine) as session:
        nodes = {n.node_id: n for n in journey_stats(session, "j").nodes}
    assert list(nodes) == ["start", "sms", "wait", "done", "old"]
    assert (nodes["old"].kind, nodes["old"].entered) == ("", 1)
    assert (nodes["done"].kind, nodes["done"].label, nodes["done"].entered) == ("exit", "Done", 0)
    assert nodes["start"].entered == 6
    assert nodes["start"].left_by_reason == {"holdout": 1}
    assert nodes["start"].converted == 2  # the holdout's conversion is not the journey's
    assert nodes["sms"].skipped == {"opted_out": 1, "quiet": 2}
    assert (nodes["sms"].left, nodes["sms"].converted) == (1, 2)
    assert (nodes["wait"].entered, nodes["wait"].waiting, nodes["wait"].converted) == (3, 2, 1)
    assert nodes["start"].waiting == 1


def test_one_version(engine: Engine) -> None:
    with Session(engine) as session:
        stats = journey_stats(session, "j", version=1)
    assert (stats.version, stats.definition_version, stats.runs, stats.converted) == (1, 1, 2, 1)
    nodes = {n.node_id: n for n in stats.nodes}
    assert list(nodes) == ["start", "sms", "wait", "old"]
    assert (nodes["start"].entered, nodes["sms"].skipped, nodes["wait"].waiting) == (
        2,
        {"quiet": 1},
        0,
    )


def test_unpublished_or_unknown_version(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(LookupError, match="version 3"):
        journey_stats(session, "j", version=3)
    with Session(engine) as session, pytest.raises(LookupError, match="any published version"):
        journey_stats(session, "nope")
