"""A/B split: both variants get members, and each member's path is a stable hash."""

from __future__ import annotations

from collections import Counter

from engine.runtime.steps import pick_variant
from journeys.model import Variant
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, path_of, send, trigger

VARIANTS = [{"name": "a", "percent": 50}, {"name": "b", "percent": 50}]


async def test_fifty_fifty_split_over_forty_members(harness: Harness) -> None:
    harness.publish(
        journey(
            "split_ab",
            [
                trigger(),
                {"id": "split", "kind": "random_split", "variants": VARIANTS},
                send("send_a", "followup_sms"),
                exit_("exit_a"),
                send("send_b", "unpaid_reminder_sms"),
                exit_("exit_b"),
            ],
            [
                ("start", "next", "split"),
                ("split", "a", "send_a"),
                ("send_a", "next", "exit_a"),
                ("split", "b", "send_b"),
                ("send_b", "next", "exit_b"),
            ],
        )
    )
    members = {f"m-{i:04d}": harness.member(f"m-{i:04d}") for i in range(1, 41)}
    for ext in members:
        await harness.event(ext, "registered")

    variants = [Variant.model_validate(v) for v in VARIANTS]
    taken: Counter[str] = Counter()
    for member_id in members.values():
        assert await harness.result("split_ab", member_id) == "completed"
        path = path_of(harness, "split_ab", member_id)
        variant = path[2].removeprefix("send_")
        workflow_id = f"journey:split_ab:member:{member_id}:entry:1"
        assert variant == pick_variant(variants, workflow_id, "split", 1)
        assert path == ["start", "split", f"send_{variant}", f"exit_{variant}"]
        taken[variant] += 1

    assert set(taken) == {"a", "b"}
    assert taken["a"] + taken["b"] == 40
    entered = harness.node_events("split_ab")
    assert entered["send_a"] == entered["exit_a"] == taken["a"]
    assert entered["send_b"] == entered["exit_b"] == taken["b"]
    templates = Counter(m["data"]["template_id"] for m in harness.delivered())
    assert templates == {"followup_sms": taken["a"], "unpaid_reminder_sms": taken["b"]}
