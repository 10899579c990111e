"""The REST API: ``create_app`` builds it from settings, so tests and ``journey web``
run the same app against different stores and Temporal servers.

Everything under ``/api`` needs an ``X-API-Key``; ``/webhooks`` (called by providers)
checks the provider's signature or a token instead, and ``/unsubscribe`` the signed
token in its link. The OpenAPI docs at ``/docs`` show the endpoints and let a key be
entered with "Authorize".
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request, status
from fastapi.responses import JSONResponse
from temporalio.client import Client
from temporalio.service import RPCError

from engine.config import Settings, get_settings
from engine.delivery.unsubscribe import links_for
from engine.store.db import get_engine, init_db
from web.api import (
    catalog,
    channels,
    events,
    journeys,
    members,
    publishing,
    stats,
    unsubscribe,
    webhooks,
)
from web.deps import Services, require_api_key
from web.problems import JourneyProblems, problems_handler

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    """``client`` is connected from the settings on first need unless one is given."""
    settings = settings or get_settings()
    engine = get_engine(settings.database_url)
    init_db(engine)
    app = FastAPI(
        title="Journey Engine",
        summary="Lifecycle marketing journeys: definitions, members, events and analytics.",
        version="0.1.0",
    )
    app.state.services = Services(settings, engine, client)
    app.state.unsubscribe_links = links_for(settings)  # warns now if JOURNEY_SECRET_KEY is unset
    app.add_exception_handler(JourneyProblems, problems_handler)
    app.add_exception_handler(RPCError, _temporal_failed)

    api = APIRouter(prefix="/api", dependencies=[Depends(require_api_key)])
    for module in (journeys, publishing, members, events, catalog, stats, channels):
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(webhooks.router)
    app.include_router(unsubscribe.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def _temporal_failed(_request: Request, exc: Exception) -> JSONResponse:
    """What was stored stays stored; the caller may retry the call."""
    return JSONResponse(
        {"detail": f"Temporal did not accept the call: {exc}; stored changes are kept, retry"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
