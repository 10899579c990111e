"""Operators' channel control and consent by hand, behind the API key like all of /api."""

from __future__ import annotations

import httpx

from engine.delivery.consent import halted_reason, is_opted_out
from engine.store.db import session_scope
from tests.support import Harness
from tests.web.conftest import API_KEY


async def test_endpoints_need_the_api_key(api: httpx.AsyncClient, harness: Harness) -> None:
    harness.member("m-0001")
    calls = [
        ("GET", "/api/channels", None),
        ("POST", "/api/channels/sms/halt", {"reason": "x"}),
        ("POST", "/api/channels/sms/resume", None),
        ("GET", "/api/members/m-0001/consent", None),
        ("POST", "/api/members/m-0001/consent", {"channel": "sms", "opted_out": True}),
    ]
    for method, path, body in calls:
        for headers in ({"X-API-Key": ""}, {"X-API-Key": "guess"}):
            response = await api.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
    with session_scope(harness.engine) as session:
        assert halted_reason(session, "sms") is None
    assert (await api.get("/api/members/m-0001/consent")).json() == []
    assert api.headers["X-API-Key"] == API_KEY


async def test_halt_and_resume_a_channel(api: httpx.AsyncClient, harness: Harness) -> None:
    listed = (await api.get("/api/channels")).json()
    assert [(c["channel"], c["halted"], c["reason"]) for c in listed] == [
        ("sms", False, None),
        ("email", False, None),
        ("wechat", False, None),
    ]
    halted = await api.post("/api/channels/sms/halt", json={"reason": "balance exhausted"})
    assert halted.status_code == 200
    assert halted.json()["halted"] is True and halted.json()["reason"] == "balance exhausted"
    with session_scope(harness.engine) as session:
        assert halted_reason(session, "sms") == "balance exhausted"
    listed = (await api.get("/api/channels")).json()
    assert [(c["channel"], c["halted"]) for c in listed][0] == ("sms", True)

    resumed = await api.post("/api/channels/sms/resume")
    assert (resumed.status_code, resumed.json()["halted"], resumed.json()["reason"]) == (
        200,
        False,
        None,
    )
    with session_scope(harness.engine) as session:
        assert halted_reason(session, "sms") is None
    assert (await api.post("/api/channels/fax/halt", json={"reason": "x"})).status_code == 422
    assert (await api.post("/api/channels/sms/halt", json={"reason": ""})).status_code == 422


async def test_consent_by_hand(api: httpx.AsyncClient, harness: Harness) -> None:
    member = harness.member("m-0001")
    assert (await api.get("/api/members/nobody/consent")).status_code == 404
    missing = await api.post(
        "/api/members/nobody/consent", json={"channel": "sms", "opted_out": True}
    )
    assert missing.status_code == 404

    out = {"channel": "sms", "opted_out": True, "source": "call_centre"}
    for _ in range(2):  # repeating the state that holds adds no row
        response = await api.post("/api/members/m-0001/consent", json=out)
        assert response.status_code == 200
        assert response.json()["source"] == "call_centre"
    back_in = {"channel": "sms", "opted_out": False, "source": "resubscribed_in_store"}
    assert (await api.post("/api/members/m-0001/consent", json=back_in)).status_code == 200

    rows = (await api.get("/api/members/m-0001/consent")).json()
    assert [(r["channel"], r["purpose"], r["opted_out"], r["source"]) for r in rows] == [
        ("sms", "marketing", False, "resubscribed_in_store"),
        ("sms", "marketing", True, "call_centre"),
    ]
    with session_scope(harness.engine) as session:
        assert not is_opted_out(session, member, "sms", "marketing")
    bad = {"channel": "fax", "opted_out": True}
    assert (await api.post("/api/members/m-0001/consent", json=bad)).status_code == 422
