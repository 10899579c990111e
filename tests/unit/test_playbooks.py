"""The shipped playbooks are valid journeys and the catalog holds what they use."""

from __future__ import annotations

import re

import networkx as nx
import pytest
from jinja2 import Environment, StrictUndefined

from journeys.model import SendMessage, Wait, WaitForEvent
from journeys.playbooks import (
    all_playbooks,
    catalog_needed,
    load_catalog,
    load_playbook,
    seed_catalog,
)
from journeys.validate import to_networkx, validate

REQUIRED = {
    "welcome_coupon_pack",
    "registered_not_purchased",
    "first_to_second_order",
    "post_purchase_followup",
    "dormant_reactivation",
    "churn_winback",
    "birthday_offer",
}
PLAYBOOKS = all_playbooks()


def test_every_required_playbook_ships() -> None:
    assert set(PLAYBOOKS) == REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_playbook_validates_against_the_seed_catalog(name: str) -> None:
    assert validate(PLAYBOOKS[name], seed_catalog()) == []


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_playbook_ids_are_stable(name: str) -> None:
    journey = PLAYBOOKS[name]
    ids = [n.id for n in journey.nodes]
    assert journey.id == name
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9_]+", node_id) for node_id in ids)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_playbook_settings_are_sensible(name: str) -> None:
    settings = PLAYBOOKS[name].settings
    assert settings.goal is not None
    assert 0 <= settings.holdout_percent <= 10


def test_catalog_holds_exactly_what_the_playbooks_use() -> None:
    needed = catalog_needed(PLAYBOOKS.values())
    seeded = seed_catalog()
    assert needed.templates == seeded.templates
    assert needed.coupons == seeded.coupons
    assert needed.tags == seeded.tags
    assert needed.templates_by_channel == seeded.templates_by_channel


def test_welcome_pack_covers_what_the_benchmark_needs() -> None:
    journey = PLAYBOOKS["welcome_coupon_pack"]
    kinds = {n.kind for n in journey.nodes}
    assert {"send_coupon", "send_message", "wait", "wait_for_event", "exit"} <= kinds
    channels = {n.channel for n in journey.nodes if isinstance(n, SendMessage)}
    assert {"sms", "wechat"} <= channels
    assert any(isinstance(n, Wait) and n.duration.days >= 1 for n in journey.nodes)
    assert any(isinstance(n, WaitForEvent) and n.timeout.total_seconds() > 0 for n in journey.nodes)
    assert 10 <= len(journey.nodes) <= 17
    assert journey.settings.exit_on_goal


def test_reminder_loop_goes_through_a_wait() -> None:
    journey = PLAYBOOKS["registered_not_purchased"]
    graph = to_networkx(journey)
    cycles = list(nx.simple_cycles(graph))
    assert cycles
    assert all(any(journey.node(n).kind == "wait_for_event" for n in c) for c in cycles)


def test_message_templates_render_with_member_and_coupon() -> None:
    env = Environment(undefined=StrictUndefined, autoescape=False)
    context = {
        "member": {"first_name": "小王"},
        "coupon": {"value": 10, "expires_at": "2025-06-18"},
    }
    for template in load_catalog()["message_templates"]:
        assert template["channel"] in {"sms", "email", "wechat"}
        assert (template["subject"] is not None) == (template["channel"] == "email")
        assert "小王" in env.from_string(template["body"]).render(context)


def test_coupon_templates_and_tags_are_well_formed() -> None:
    catalog = load_catalog()
    for coupon in catalog["coupon_templates"]:
        assert coupon["value"] > 0
        assert coupon["threshold"] == 0 or coupon["threshold"] > coupon["value"]
        assert coupon["validity_days"] > 0
        assert coupon["stock"] is None or coupon["stock"] > 0
    kinds = {"static", "behavioural", "insight", "model", "predictive"}
    assert all(tag["kind"] in kinds and tag["description"] for tag in catalog["tags"])


@pytest.mark.parametrize("name", ["catalog", "../model", "missing", "Welcome_Coupon_Pack"])
def test_load_playbook_refuses_other_files(name: str) -> None:
    with pytest.raises(KeyError):
        load_playbook(name)
