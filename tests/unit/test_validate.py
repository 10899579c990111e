"""One minimal bad journey per validation rule, each expected to yield exactly one problem."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from journeys.model import Journey
from journeys.validate import CODES, Catalog, Problem, to_networkx, validate, validate_json

Raw = dict[str, Any]

CATALOG = Catalog(
    templates=frozenset({"hello_sms"}),
    coupons=frozenset({"welcome_10"}),
    tags=frozenset({"vip"}),
    templates_by_channel={"sms": frozenset({"hello_sms"})},
)


def baseline() -> Raw:
    """start -> pause -> check; check.order_paid -> done, check.timeout -> sms -> done."""
    return {
        "id": "baseline",
        "name": "Baseline",
        "settings": {"goal": {"event": "order_paid", "window": {"days": 14}}},
        "nodes": [
            {"id": "start", "kind": "trigger_event", "event": "registered"},
            {"id": "pause", "kind": "wait", "duration": {"days": 1}},
            {
                "id": "check",
                "kind": "wait_for_event",
                "events": ["order_paid"],
                "timeout": {"days": 2},
            },
            {"id": "sms", "kind": "send_message", "channel": "sms", "template": "hello_sms"},
            {"id": "done", "kind": "exit"},
        ],
        "edges": [
            {"source": "start", "target": "pause"},
            {"source": "pause", "target": "check"},
            {"source": "check", "port": "order_paid", "target": "done"},
            {"source": "check", "port": "timeout", "target": "sms"},
            {"source": "sms", "target": "done"},
        ],
    }


def node(raw: Raw, node_id: str) -> Raw:
    found: Raw = next(n for n in raw["nodes"] if n["id"] == node_id)
    return found


def set_node(node_id: str, **fields: Any) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        node(raw, node_id).update(fields)

    return change


def add_nodes(*nodes: Raw) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        raw["nodes"].extend(nodes)

    return change


def add_edge(source: str, target: str, port: str = "next") -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        raw["edges"].append({"source": source, "port": port, "target": target})

    return change


def retarget(source: str, port: str, target: str) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        edge = next(
            e for e in raw["edges"] if e["source"] == source and e.get("port", "next") == port
        )
        edge["target"] = target

    return change


def drop_edge(source: str) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        raw["edges"] = [e for e in raw["edges"] if e["source"] != source]

    return change


def insert(extra: Raw, ports: tuple[str, ...] = ("next",)) -> Callable[[Raw], None]:
    """Puts ``extra`` between pause and check, every port of it leading on to check."""

    def change(raw: Raw) -> None:
        raw["nodes"].append(extra)
        retarget("pause", "next", extra["id"])(raw)
        raw["edges"].extend({"source": extra["id"], "port": p, "target": "check"} for p in ports)

    return change


def condition(*predicates: Raw) -> Callable[[Raw], None]:
    branch = {"name": "yes", "predicates": list(predicates)}
    return insert({"id": "cond", "kind": "condition", "branches": [branch]}, ("yes", "else"))


def split(*variants: tuple[str, float]) -> Callable[[Raw], None]:
    node = {
        "id": "ab",
        "kind": "random_split",
        "variants": [{"name": n, "percent": p} for n, p in variants],
    }
    return insert(node, tuple(n for n, _ in variants))


def settings(**fields: Any) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        raw["settings"].update(fields)

    return change


def replace_node(new: Raw) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        raw["nodes"] = [new if n["id"] == new["id"] else n for n in raw["nodes"]]

    return change


def both(*changes: Callable[[Raw], None]) -> Callable[[Raw], None]:
    def change(raw: Raw) -> None:
        for one in changes:
            one(raw)

    return change


def remove_trigger(raw: Raw) -> None:
    raw["nodes"] = [n for n in raw["nodes"] if n["id"] != "start"]
    drop_edge("start")(raw)


CASES: list[tuple[str, Callable[[Raw], None], str | None, bool]] = [
    # (code, change, node_id, check references against CATALOG)
    ("duplicate_node_id", add_nodes({"id": "done", "kind": "exit"}), "done", False),
    ("unknown_edge_node", add_edge("ghost", "done"), "done", False),
    ("unknown_edge_node", retarget("check", "order_paid", "ghost"), "check", False),
    ("unknown_port", add_edge("pause", "done", port="yes"), "pause", False),
    ("port_multiple_edges", add_edge("sms", "done"), "sms", False),
    (
        "duplicate_port_name",
        set_node("check", events=["order_paid", "order_paid"]),
        "check",
        False,
    ),
    ("empty_port_name", split(("", 50), ("b", 50)), "ab", False),
    ("no_trigger", remove_trigger, None, False),
    (
        "multiple_triggers",
        both(
            add_nodes({"id": "start2", "kind": "trigger_event", "event": "followed"}),
            add_edge("start2", "pause"),
        ),
        "start2",
        False,
    ),
    ("trigger_has_incoming", retarget("sms", "next", "start"), "start", False),
    ("unreachable_node", add_nodes({"id": "orphan", "kind": "exit"}), "orphan", False),
    ("port_unconnected", drop_edge("sms"), "sms", False),
    ("cycle_without_wait", retarget("sms", "next", "sms"), "sms", False),
    ("split_too_few_variants", split(("a", 100)), "ab", False),
    ("split_percent_not_positive", split(("a", 100), ("b", 0)), "ab", False),
    ("split_percent_sum", split(("a", 50), ("b", 40)), "ab", False),
    (
        "condition_no_branches",
        insert({"id": "cond", "kind": "condition"}, ("else",)),
        "cond",
        False,
    ),
    ("branch_no_predicates", condition(), "cond", False),
    (
        "predicate_missing_key",
        condition({"subject": "attribute", "op": "gte", "value": 100}),
        "cond",
        False,
    ),
    ("predicate_missing_value", condition({"subject": "points", "op": "gte"}), "cond", False),
    (
        "predicate_value_not_list",
        condition({"subject": "rfm_segment", "op": "in", "value": "important_value"}),
        "cond",
        False,
    ),
    ("missing_config", set_node("sms", template=""), "sms", False),
    (
        "invalid_schedule",
        replace_node({"id": "start", "kind": "trigger_schedule", "segment": "all"}),
        "start",
        False,
    ),
    (
        "invalid_url",
        insert({"id": "hook", "kind": "webhook", "url": "ftp://example.com/x"}),
        "hook",
        False,
    ),
    ("zero_points", insert({"id": "points", "kind": "award_points", "points": 0}), "points", False),
    (
        "invalid_time_of_day",
        insert(
            {
                "id": "bday",
                "kind": "wait_until_date",
                "attribute": "birthday",
                "time_of_day": "25:00",
            }
        ),
        "bday",
        False,
    ),
    (
        "invalid_weekday",
        insert({"id": "monday", "kind": "wait_until_time", "weekdays": [0]}),
        "monday",
        False,
    ),
    ("duration_not_positive", set_node("pause", duration={}), "pause", False),
    ("negative_duration", set_node("check", timeout={"days": 2, "hours": -1}), "check", False),
    (
        "negative_duration",
        settings(reentry={"mode": "after_exit", "min_gap": {"days": -1}}),
        None,
        False,
    ),
    ("invalid_name", set_node("start", event="order paid"), "start", False),
    ("unknown_template", set_node("sms", template="missing_sms"), "sms", True),
    ("template_wrong_channel", set_node("sms", channel="wechat"), "sms", True),
    (
        "unknown_coupon",
        insert({"id": "gift", "kind": "send_coupon", "coupon": "nope"}),
        "gift",
        True,
    ),
    ("unknown_tag", insert({"id": "tag", "kind": "add_tag", "tag": "nope"}), "tag", True),
    ("goal_event_missing", settings(goal={"event": ""}), None, False),
]


def test_baseline_is_valid() -> None:
    assert validate(Journey.model_validate(baseline()), CATALOG) == []


@pytest.mark.parametrize(
    ("code", "change", "node_id", "with_catalog"),
    CASES,
    ids=[f"{c[0]}-{c[2]}" for c in CASES],
)
def test_rule(
    code: str, change: Callable[[Raw], None], node_id: str | None, with_catalog: bool
) -> None:
    raw = copy.deepcopy(baseline())
    change(raw)
    journey = Journey.model_validate(raw)
    problems = validate(journey, CATALOG if with_catalog else None)
    assert [(p.node_id, p.code) for p in problems] == [(node_id, code)]
    assert problems[0].message


def test_every_code_is_documented_and_tested() -> None:
    tested = {case[0] for case in CASES} | {"invalid_field"}
    assert tested == set(CODES)


def test_unconnected_port_is_named() -> None:
    raw = baseline()
    drop_edge("sms")(raw)
    [problem] = validate(Journey.model_validate(raw))
    assert "'next'" in problem.message


def test_loop_through_a_wait_is_allowed() -> None:
    raw = baseline()
    retarget("sms", "next", "pause")(raw)
    assert validate(Journey.model_validate(raw)) == []


def test_fast_loop_inside_a_loop_with_a_wait_is_caught() -> None:
    """sms <-> cond has no wait although both also lie on a loop through pause."""
    raw = baseline()
    vip = {"name": "vip", "predicates": [{"subject": "tag", "op": "has", "value": "vip"}]}
    add_nodes({"id": "cond", "kind": "condition", "branches": [vip]})(raw)
    retarget("sms", "next", "cond")(raw)
    add_edge("cond", "sms", port="vip")(raw)
    add_edge("cond", "pause", port="else")(raw)
    problems = validate(Journey.model_validate(raw))
    assert [(p.node_id, p.code) for p in problems] == [("sms", "cycle_without_wait")]
    assert "sms, cond" in problems[0].message


def test_to_networkx_carries_nodes_and_ports() -> None:
    journey = Journey.model_validate(baseline())
    graph = to_networkx(journey)
    assert graph.nodes["check"]["node"] == journey.node("check")
    ports = {(s, t, d["port"]) for s, t, d in graph.edges(data=True)}
    assert ("check", "done", "order_paid") in ports
    assert ("check", "sms", "timeout") in ports


def test_validate_json_valid_input_returns_journey() -> None:
    journey, problems = validate_json(baseline(), CATALOG)
    assert journey is not None
    assert problems == []


def test_validate_json_runs_graph_rules_too() -> None:
    raw = baseline()
    drop_edge("sms")(raw)
    journey, problems = validate_json(raw)
    assert journey is not None
    assert [(p.node_id, p.code) for p in problems] == [("sms", "port_unconnected")]


@pytest.mark.parametrize(
    ("bad_node", "field"),
    [
        ({"id": "sms", "template": "hello_sms"}, "nodes.3"),
        ({"id": "sms", "kind": "send_fax"}, "nodes.3"),
        ({"id": "sms", "kind": "wait", "duration": {"days": "two"}}, "nodes.3.duration.days"),
    ],
    ids=["missing_kind", "unknown_kind", "wrong_type"],
)
def test_validate_json_names_the_node(bad_node: Raw, field: str) -> None:
    raw = baseline()
    raw["nodes"][3] = bad_node
    journey, problems = validate_json(raw)
    assert journey is None
    assert problems == [
        Problem("sms", "invalid_field", problems[0].message),
    ]
    assert problems[0].message.startswith(f"{field}: ")


def test_validate_json_journey_level_error_has_no_node() -> None:
    raw = baseline()
    del raw["name"]
    journey, problems = validate_json(raw)
    assert journey is None
    assert [(p.node_id, p.code) for p in problems] == [(None, "invalid_field")]
    assert problems[0].message.startswith("name: ")
