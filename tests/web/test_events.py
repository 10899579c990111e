"""Events in: validated as a whole, stored once, routed to journeys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from engine.store.db import session_scope
from engine.store.models import Event, Member
from tests.support import Harness

_PROFILE = {"phone": "13800000001", "wechat_openid": "openid-1", "first_name": "小明"}


def _count(harness: Harness, table: type[Event] | type[Member]) -> int:
    with session_scope(harness.engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def _member_id(harness: Harness, external_id: str) -> int:
    with session_scope(harness.engine) as session:
        member_id = session.exec(select(Member.id).where(Member.external_id == external_id)).one()
    assert member_id is not None
    return member_id


async def test_single_event_is_accepted_and_creates_the_member(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/events",
        json={"event_id": "e-1", "member": "m-1", "name": "page_viewed", "profile": _PROFILE},
    )
    assert response.status_code == 202
    assert response.json() == {"events": [{"event_id": "e-1", "status": "accepted", "journeys": 0}]}
    member = (await api.get("/api/members/m-1")).json()
    assert (member["first_name"], member["points"], member["tags"]) == ("小明", 0, [])


async def test_batch_reports_each_event(
    api: httpx.AsyncClient, harness: Harness, welcome: dict[str, Any]
) -> None:
    await api.post("/api/journeys", json=welcome)
    await api.post(f"/api/journeys/{welcome['id']}/publish")
    batch = [
        {"event_id": "b-1", "member": "m-1", "name": "registered"},
        {"event_id": "b-2", "member": "m-2", "name": "page_viewed"},
        {"event_id": "b-1", "member": "m-1", "name": "registered"},
    ]
    response = await api.post("/api/events", json={"events": batch})
    assert response.status_code == 202
    assert response.json()["events"] == [
        {"event_id": "b-1", "status": "accepted", "journeys": 1},
        {"event_id": "b-2", "status": "accepted", "journeys": 0},
        {"event_id": "b-1", "status": "duplicate", "journeys": 0},
    ]
    assert _count(harness, Event) == 2


async def test_one_malformed_event_refuses_the_whole_batch(
    api: httpx.AsyncClient, harness: Harness
) -> None:
    batch: list[Any] = [
        {"event_id": "ok-1", "member": "m-1", "name": "registered"},
        {"event_id": "bad-1", "member": "m-2", "name": "has spaces", "colour": "red"},
        {"event_id": "ok-2", "member": "m-3", "name": "registered"},
        "not an event",
    ]
    response = await api.post("/api/events", json={"events": batch})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["message"] == "2 of 4 events are malformed; nothing was stored"
    bad = detail["events"]
    assert [(e["index"], e["event_id"]) for e in bad] == [(1, "bad-1"), (3, None)]
    assert {f["field"] for f in bad[0]["errors"]} == {"name", "colour"}
    assert _count(harness, Event) == 0
    assert _count(harness, Member) == 0

    empty = await api.post("/api/events", json={"events": []})
    assert empty.status_code == 422


async def test_resent_event_is_a_duplicate_and_stored_once(
    api: httpx.AsyncClient, harness: Harness
) -> None:
    event = {"event_id": "dup-1", "member": "m-1", "name": "order_paid"}
    first = (await api.post("/api/events", json=event)).json()["events"][0]
    again = (await api.post("/api/events", json={**event, "name": "registered"})).json()
    assert first["status"] == "accepted"
    assert again["events"][0] == {"event_id": "dup-1", "status": "duplicate", "journeys": 0}
    assert _count(harness, Event) == 1


async def test_a_thousand_events_in_one_batch(
    api: httpx.AsyncClient, harness: Harness, welcome: dict[str, Any]
) -> None:
    await api.post("/api/journeys", json=welcome)
    await api.post(f"/api/journeys/{welcome['id']}/publish")
    batch = [
        {"event_id": f"k-{i}", "member": f"m-{i % 100}", "name": "page_viewed"} for i in range(1000)
    ]
    response = await api.post("/api/events", json={"events": batch})
    assert response.status_code == 202
    assert {e["status"] for e in response.json()["events"]} == {"accepted"}
    assert _count(harness, Event) == 1000
    too_many = await api.post("/api/events", json={"events": [*batch, batch[0]]})
    assert too_many.status_code == 422


async def test_registration_runs_the_welcome_pack_and_the_api_shows_it(
    api: httpx.AsyncClient, harness: Harness, welcome: dict[str, Any], time_env: WorkflowEnvironment
) -> None:
    journey = welcome["id"]
    await api.post("/api/journeys", json=welcome)
    await api.post(f"/api/journeys/{journey}/publish")
    for external_id in ("m-1", "m-2"):
        event = {"event_id": f"reg-{external_id}", "member": external_id, "name": "registered"}
        sent = await api.post("/api/events", json={**event, "profile": _PROFILE})
        assert sent.json()["events"][0]["journeys"] == 1
    await time_env.sleep(timedelta(days=2, hours=12))
    await api.post(
        "/api/events", json={"event_id": "paid-2", "member": "m-2", "name": "order_paid"}
    )

    assert await harness.result(journey, _member_id(harness, "m-1")) == "completed"
    assert await harness.result(journey, _member_id(harness, "m-2")) == "converted"

    messages = (await api.get("/api/members/m-1/messages")).json()
    assert len(messages) == 5
    assert {m["status"] for m in messages} == {"accepted"}
    assert messages[-1]["node_id"] == "sms_coupon_arrived"
    assert "小明" in messages[-1]["body"]
    assert [m["created_at"] for m in messages] == sorted(
        (m["created_at"] for m in messages), reverse=True
    )
    assert len((await api.get("/api/members/m-1")).json()["coupons"]) == 4
    assert len((await api.get("/api/members/m-2/messages?limit=1")).json()) == 1

    stats = (await api.get(f"/api/journeys/{journey}/stats")).json()
    assert (stats["runs"], stats["active"], stats["completed"]) == (2, 0, 2)
    assert stats["by_status"] == {"completed": 1, "converted": 1}
    assert (stats["converted"], stats["conversion_rate"]) == (1, 0.5)
    assert (stats["holdout_runs"], stats["holdout_conversion_rate"]) == (0, None)
    nodes = {n["node_id"]: n for n in stats["nodes"]}
    assert [n["node_id"] for n in stats["nodes"]] == [n["id"] for n in welcome["nodes"]]
    entered = harness.node_events(journey)
    assert {node_id: n["entered"] for node_id, n in nodes.items() if n["entered"]} == entered
    assert nodes["registered"]["entered"] == 2
    assert nodes["registered"]["converted"] == 1
    assert nodes["exit_pack_used_up"]["converted"] == 0
    assert nodes["wait_first_order"]["left_by_reason"] == {"goal": 1}
    assert nodes["exit_pack_used_up"]["left_by_reason"] == {"exit": 1}
    assert all(n["waiting"] == 0 and n["skipped"] == {} for n in nodes.values())

    one_version = await api.get(f"/api/journeys/{journey}/stats", params={"version": 1})
    assert one_version.json()["nodes"] == stats["nodes"]
    missing = await api.get(f"/api/journeys/{journey}/stats", params={"version": 7})
    assert missing.status_code == 404
    assert "version 7" in missing.json()["detail"]


async def test_member_profile_upsert_and_unknown_member(api: httpx.AsyncClient) -> None:
    assert (await api.get("/api/members/nobody")).status_code == 404
    assert (await api.get("/api/members/nobody/messages")).status_code == 404
    created = await api.put(
        "/api/members/m-7", json={"email": "a@example.com", "attributes": {"city": "上海"}}
    )
    assert created.status_code == 200
    updated = await api.put("/api/members/m-7", json={"attributes": {"tier": "gold"}})
    body = updated.json()
    assert body["email"] == "a@example.com"
    assert body["attributes"] == {"city": "上海", "tier": "gold"}
    bad = await api.put("/api/members/m-7", json={"timezone": "Mars/Base"})
    assert bad.status_code == 422


async def test_a_members_events_in_one_batch_are_routed_in_order(
    api: httpx.AsyncClient, harness: Harness, welcome: dict[str, Any]
) -> None:
    """The order overtaking the registration would leave the run without its goal."""
    await api.post("/api/journeys", json=welcome)
    await api.post(f"/api/journeys/{welcome['id']}/publish")
    batch = [
        {"event_id": f"{kind}-{i}", "member": f"m-{i}", "name": kind, "profile": _PROFILE}
        for i in range(1, 11)
        for kind in ("registered", "order_paid")
    ]
    response = await api.post("/api/events", json={"events": batch})
    assert response.status_code == 202
    for i in range(1, 11):
        member_id = _member_id(harness, f"m-{i}")
        assert await harness.result(welcome["id"], member_id) == "converted"
