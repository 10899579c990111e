"""The app as deployed: every /api route closed without a configured, matching key, and
Temporal needed only by the routes that reach members' workflows."""

from __future__ import annotations

from pathlib import Path

import httpx

from engine.config import Settings
from tests.support import database_url
from web.app import create_app


def _client(tmp_path: Path, api_keys: str) -> httpx.AsyncClient:
    settings = Settings(database_url=database_url(tmp_path), api_keys=api_keys)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://test"
    )


async def test_missing_key_is_refused(tmp_path: Path) -> None:
    async with _client(tmp_path, "secret") as client:
        response = await client.get("/api/journeys")
    assert response.status_code == 401
    assert response.json() == {"detail": "missing X-API-Key header"}


async def test_wrong_key_is_refused(tmp_path: Path) -> None:
    async with _client(tmp_path, "secret") as client:
        response = await client.post(
            "/api/events",
            headers={"X-API-Key": "guess"},
            json={"event_id": "e", "member": "m", "name": "x"},
        )
    assert response.status_code == 401
    assert "does not match" in response.json()["detail"]


async def test_without_configured_keys_everything_is_refused(tmp_path: Path) -> None:
    async with _client(tmp_path, " , ") as client:
        for key in ("", "secret"):
            response = await client.get("/api/templates", headers={"X-API-Key": key})
            assert response.status_code == 401
            assert "JOURNEY_API_KEYS" in response.json()["detail"]


async def test_any_configured_key_opens_the_api_and_health_stays_open(tmp_path: Path) -> None:
    async with _client(tmp_path, "one,two") as client:
        assert (await client.get("/api/tags", headers={"X-API-Key": "two"})).status_code == 200
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/docs")).status_code == 200


async def test_temporal_is_connected_on_first_need(tmp_path: Path) -> None:
    settings = Settings(
        database_url=database_url(tmp_path), api_keys="k", temporal_address="127.0.0.1:9"
    )
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"X-API-Key": "k"}
    ) as client:
        assert (await client.put("/api/tags/vip", json={})).status_code == 200
        event = {"event_id": "e-1", "member": "m-1", "name": "registered"}
        response = await client.post("/api/events", json=event)
    assert response.status_code == 503
    assert "127.0.0.1:9 is unreachable" in response.json()["detail"]
