"""Journey definitions through the API: drafts, validation, publishing, status."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from sqlmodel import func, select

from engine.store.db import session_scope
from engine.store.models import JourneyVersion
from tests.support import Harness


def _broken(welcome: dict[str, Any]) -> dict[str, Any]:
    """Refers to a coupon that does not exist and leaves a port unconnected."""
    data = copy.deepcopy(welcome)
    for node in data["nodes"]:
        if node["id"] == "coupon_low":
            node["coupon"] = "no_such_coupon"
    data["edges"] = [e for e in data["edges"] if e["source"] != "remind_low"]
    return data


def _versions(harness: Harness) -> int:
    with session_scope(harness.engine) as session:
        return session.exec(select(func.count()).select_from(JourneyVersion)).one()


async def test_create_get_list_and_update_a_draft(
    api: httpx.AsyncClient, welcome: dict[str, Any]
) -> None:
    created = await api.post("/api/journeys", json=welcome)
    assert created.status_code == 201
    body = created.json()
    assert (body["id"], body["status"], body["live_version"]) == (welcome["id"], "draft", None)
    assert body["problems"] == [] and body["versions"] == []

    listed = (await api.get("/api/journeys")).json()
    assert listed == [
        {"id": welcome["id"], "name": welcome["name"], "status": "draft", "live_version": None}
    ]

    changed = {**welcome, "name": "Welcome, renamed"}
    updated = await api.put(f"/api/journeys/{welcome['id']}", json=changed)
    assert updated.status_code == 200
    fetched = (await api.get(f"/api/journeys/{welcome['id']}")).json()
    assert fetched["name"] == "Welcome, renamed"
    assert fetched["draft"]["name"] == "Welcome, renamed"


async def test_duplicate_create_is_a_conflict(
    api: httpx.AsyncClient, welcome: dict[str, Any]
) -> None:
    assert (await api.post("/api/journeys", json=welcome)).status_code == 201
    again = await api.post("/api/journeys", json=welcome)
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


async def test_json_that_is_not_a_journey_is_refused_with_node_problems(
    api: httpx.AsyncClient, welcome: dict[str, Any]
) -> None:
    data = copy.deepcopy(welcome)
    data["nodes"][1]["kind"] = "teleport"
    response = await api.post("/api/journeys", json=data)
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["code"] == "invalid_field"
    assert problem["node_id"] == data["nodes"][1]["id"]
    assert (await api.get(f"/api/journeys/{welcome['id']}")).status_code == 404


async def test_update_checks_the_path_id_and_that_the_journey_exists(
    api: httpx.AsyncClient, welcome: dict[str, Any]
) -> None:
    assert (await api.put("/api/journeys/nope", json=welcome)).status_code == 404
    await api.post("/api/journeys", json=welcome)
    other = {**welcome, "id": "other"}
    response = await api.put(f"/api/journeys/{welcome['id']}", json=other)
    assert response.status_code == 422
    assert "does not match" in response.json()["problems"][0]["message"]


async def test_validate_the_draft_and_a_posted_body(
    api: httpx.AsyncClient, welcome: dict[str, Any]
) -> None:
    assert (await api.post("/api/validate", json=welcome)).json() == {
        "valid": True,
        "problems": [],
    }
    broken = _broken(welcome)
    posted = (await api.post("/api/validate", json=broken)).json()
    assert posted["valid"] is False
    await api.post("/api/journeys", json=broken)
    draft = (await api.post(f"/api/journeys/{welcome['id']}/validate")).json()
    assert draft == posted
    found = {(p["node_id"], p["code"]) for p in draft["problems"]}
    assert ("coupon_low", "unknown_coupon") in found
    assert ("remind_low", "port_unconnected") in found
    assert (await api.post("/api/journeys/nope/validate")).status_code == 404


async def test_publish_a_valid_playbook(
    api: httpx.AsyncClient, welcome: dict[str, Any], harness: Harness
) -> None:
    await api.post("/api/journeys", json=welcome)
    response = await api.post(f"/api/journeys/{welcome['id']}/publish")
    assert response.status_code == 201
    assert response.json() == {"journey_id": welcome["id"], "version": 1, "status": "live"}
    second = await api.post(f"/api/journeys/{welcome['id']}/publish")
    assert second.json()["version"] == 2
    detail = (await api.get(f"/api/journeys/{welcome['id']}")).json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["live_version"] == 2
    assert _versions(harness) == 2


async def test_publish_invalid_names_every_problem_and_publishes_nothing(
    api: httpx.AsyncClient, welcome: dict[str, Any], harness: Harness
) -> None:
    await api.post("/api/journeys", json=_broken(welcome))
    response = await api.post(f"/api/journeys/{welcome['id']}/publish")
    assert response.status_code == 422
    found = {(p["node_id"], p["code"]) for p in response.json()["problems"]}
    assert {("coupon_low", "unknown_coupon"), ("remind_low", "port_unconnected")} <= found
    assert _versions(harness) == 0
    detail = (await api.get(f"/api/journeys/{welcome['id']}")).json()
    assert (detail["status"], detail["live_version"]) == ("draft", None)
    assert (await api.post("/api/journeys/nope/publish")).status_code == 404


async def test_schema_is_published(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/api/schema/journey")).json()
    assert schema["title"] == "Journey"
    assert "nodes" in schema["properties"]
