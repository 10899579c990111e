"""What every request may need, as ``Annotated`` aliases: the store session, the
Temporal router and the API-key check.

The Temporal client is connected on first need rather than at start-up, so the API
serves catalog and journey edits while Temporal is still starting or briefly down.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from engine.config import Settings
from engine.runtime.routing import RunDispatcher
from workers.worker import connect

__all__ = [
    "DispatcherDep",
    "Services",
    "ServicesDep",
    "SessionDep",
    "get_services",
    "require_api_key",
]


class Services:
    """Held by the app for its lifetime; one RunDispatcher so its fan-out limit is shared."""

    def __init__(self, settings: Settings, engine: Engine, client: Client | None) -> None:
        self.settings = settings
        self.engine = engine
        self._client = client
        self._router: RunDispatcher | None = None
        self._lock = asyncio.Lock()

    async def router(self) -> RunDispatcher:
        async with self._lock:
            if self._router is None:
                client = self._client or await connect(self.settings)
                self._router = RunDispatcher(
                    client, self.engine, self.settings.task_queue, self.settings.time_scale
                )
            return self._router


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def _session(services: ServicesDep) -> Iterator[Session]:
    """Routes commit explicitly (some must commit before signalling workflows); whatever
    is not committed when the request ends is rolled back, so nothing is half-stored.
    Not ``engine.store.db.session_scope``: its SQLite writer lock belongs to one thread, and a
    request's session passes between the thread pool and the event loop."""
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(_session)]


async def _router(services: ServicesDep) -> RunDispatcher:
    try:
        return await services.router()
    except RuntimeError as exc:  # temporalio reports a failed connect as RuntimeError
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Temporal at {services.settings.temporal_address} is unreachable: {exc}",
        ) from exc


DispatcherDep = Annotated[RunDispatcher, Depends(_router)]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="One of JOURNEY_API_KEYS."
)


def require_api_key(
    services: ServicesDep, key: Annotated[str | None, Security(_api_key_header)]
) -> str:
    """Closed by default: with no keys configured nobody gets in."""
    keys = services.settings.api_key_set()
    if not keys:
        raise _unauthorized("the server has no API keys: set JOURNEY_API_KEYS to enable the API")
    if key is None:
        raise _unauthorized("missing X-API-Key header")
    if not any(secrets.compare_digest(key.encode(), k.encode()) for k in keys):
        raise _unauthorized("the X-API-Key header does not match any configured key")
    return key


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "X-API-Key"}
    )
