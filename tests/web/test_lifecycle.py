"""Pause, resume and stop, with members running, and enrolment by API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Harness

_API_JOURNEY: dict[str, Any] = {
    "id": "api_enrolled",
    "name": "Enrolled by the CRM",
    "nodes": [
        {"id": "start", "kind": "trigger_api"},
        {"id": "coupon", "kind": "send_coupon", "coupon": "welcome_no_threshold"},
        {"id": "done", "kind": "exit"},
    ],
    "edges": [{"source": "start", "target": "coupon"}, {"source": "coupon", "target": "done"}],
}


async def _publish(api: httpx.AsyncClient, journey: dict[str, Any]) -> None:
    assert (await api.post("/api/journeys", json=journey)).status_code == 201
    assert (await api.post(f"/api/journeys/{journey['id']}/publish")).status_code == 201


async def test_status_transitions_and_conflicts(
    api: httpx.AsyncClient, welcome: dict[str, Any], harness: Harness
) -> None:
    journey = f"/api/journeys/{welcome['id']}"
    assert (await api.post("/api/journeys/nope/pause")).status_code == 404
    await api.post("/api/journeys", json=welcome)
    draft_pause = await api.post(f"{journey}/pause")
    assert draft_pause.status_code == 409
    assert "it is draft" in draft_pause.json()["detail"]

    await api.post(f"{journey}/publish")
    sent = await api.post(
        "/api/events", json={"event_id": "reg-1", "member": "m-0001", "name": "registered"}
    )
    assert sent.json()["events"][0]["journeys"] == 1

    paused = await api.post(f"{journey}/pause")
    assert paused.status_code == 200
    assert paused.json() == {"journey_id": welcome["id"], "status": "paused", "signalled": 1}
    assert (await api.post(f"{journey}/pause")).status_code == 409
    assert (await api.post(f"{journey}/resume")).json()["status"] == "live"
    assert (await api.post(f"{journey}/resume")).status_code == 409

    stopped = await api.post(f"{journey}/stop")
    assert stopped.json() == {"journey_id": welcome["id"], "status": "stopped", "signalled": 1}
    member_id = harness.runs(welcome["id"])[0].member_id
    assert await harness.result(welcome["id"], member_id) == "stopped"

    for action in ("pause", "resume", "stop", "publish"):
        response = await api.post(f"{journey}/{action}")
        assert response.status_code == 409, action
        assert "stopped" in response.json()["detail"]
    assert (await api.put(journey, json=welcome)).status_code == 409


async def test_enrol_a_member_by_api_once_per_request(
    api: httpx.AsyncClient, welcome: dict[str, Any], harness: Harness
) -> None:
    await _publish(api, _API_JOURNEY)
    url = "/api/journeys/api_enrolled/enroll"
    unknown = await api.post(url, json={"member": "m-9", "request_id": "r-1"})
    assert unknown.status_code == 404
    assert "PUT /api/members/m-9" in unknown.json()["detail"]

    await api.put("/api/members/m-9", json={"phone": "13800000009"})
    enrolled = await api.post(url, json={"member": "m-9", "request_id": "r-1"})
    assert enrolled.status_code == 202
    assert enrolled.json()["enrolled"] is True
    member_id = harness.runs("api_enrolled")[0].member_id
    assert await harness.result("api_enrolled", member_id) == "completed"

    again = await api.post(url, json={"member": "m-9", "request_id": "r-1"})
    assert again.json() == {
        "journey_id": "api_enrolled",
        "member": "m-9",
        "enrolled": False,
        "workflow_id": None,
    }
    coupons = (await api.get("/api/members/m-9")).json()["coupons"]
    assert [c["template_id"] for c in coupons] == ["welcome_no_threshold"]

    await _publish(api, welcome)
    refused = await api.post(
        f"/api/journeys/{welcome['id']}/enroll", json={"member": "m-9", "request_id": "r-2"}
    )
    assert refused.status_code == 409
    assert "trigger_event" in refused.json()["detail"]
