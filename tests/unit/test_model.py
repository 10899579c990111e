"""The journey model: JSON in and out, the published schema, ports per kind."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from pydantic import ValidationError

from journeys.model import (
    BLOCKING_KINDS,
    TRIGGER_KINDS,
    Condition,
    Duration,
    Journey,
    Node,
    RandomSplit,
    Wait,
    WaitForEvent,
    is_valid_name,
    journey_json_schema,
)
from journeys.playbooks import load_playbook


def _node_classes() -> list[type[Any]]:
    union = get_args(Node)[0]
    return list(get_args(union))


def test_journey_json_round_trip_is_lossless() -> None:
    journey = load_playbook("welcome_coupon_pack")
    again = Journey.model_validate_json(journey.model_dump_json())
    assert again == journey


def test_defaults_are_filled_in_from_minimal_json() -> None:
    journey = Journey.model_validate(
        {"id": "j1", "name": "J", "nodes": [{"id": "w", "kind": "wait"}]}
    )
    wait = journey.node("w")
    assert isinstance(wait, Wait)
    assert wait.duration == Duration()
    assert journey.settings.reentry.mode == "never"
    assert journey.settings.goal is None


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        Journey.model_validate(
            {"id": "j1", "name": "J", "nodes": [{"id": "w", "kind": "wait", "color": "red"}]}
        )


def test_schema_round_trips_through_json_and_covers_every_kind() -> None:
    schema = journey_json_schema()
    assert json.loads(json.dumps(schema)) == schema
    kinds = {
        d["properties"]["kind"]["const"]
        for d in schema["$defs"].values()
        if "kind" in d.get("properties", {})
    }
    assert kinds == {cls.model_fields["kind"].default for cls in _node_classes()}
    assert TRIGGER_KINDS | BLOCKING_KINDS <= kinds


def test_ports_follow_the_node_config() -> None:
    wait_for = WaitForEvent(id="w", events=["order_paid", "coupon_redeemed"])
    assert wait_for.ports() == ["order_paid", "coupon_redeemed", "timeout"]
    condition = Condition.model_validate({"id": "c", "branches": [{"name": "vip"}]})
    assert condition.ports() == ["vip", "else"]
    split = RandomSplit.model_validate({"id": "s", "variants": [{"name": "a", "percent": 100}]})
    assert split.ports() == ["a"]
    assert Wait(id="p").ports() == ["next"]


def test_duration_counts_every_unit() -> None:
    assert Duration(days=1, hours=2, minutes=3, seconds=4).total_seconds() == 93784


@pytest.mark.parametrize(
    ("name", "ok"),
    [("order_paid", True), ("app:open", True), ("order paid", False), ("", False)],
)
def test_is_valid_name(name: str, ok: bool) -> None:
    assert is_valid_name(name) is ok
