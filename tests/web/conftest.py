"""The API against a real store and Temporal's time-skipping server, so routing really
starts workflows and a journey's days pass in milliseconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from journeys.playbooks import load_playbook
from tests.support import Harness
from web.app import create_app

API_KEY = "test-key"


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    settings = harness.settings.model_copy(update={"api_keys": f"other-key, {API_KEY}"})
    app = create_app(settings, client=harness.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"X-API-Key": API_KEY},
    ) as client:
        yield client


@pytest.fixture
def welcome() -> dict[str, Any]:
    """The welcome pack without its holdout, so every test member gets the sends."""
    data = load_playbook("welcome_coupon_pack").model_dump(mode="json")
    data["settings"]["holdout_percent"] = 0
    return data
