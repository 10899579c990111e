"""Members' events in, one or a batch: all checked before any is stored, stored in one
transaction, then routed to journeys.

Routing happens after the commit, so a journey never acts on an event that could
still be rolled back; an event whose routing failed keeps ``routed_at`` empty and is
routed again when the sender re-sends it with the same ``event_id``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from engine.runtime.ingest import IncomingEvent, store_event
from engine.runtime.routing import RunDispatcher
from web.deps import DispatcherDep, SessionDep

__all__ = ["MAX_BATCH", "router"]

router = APIRouter(tags=["events"])

MAX_BATCH = 1000
_ROUTING_CONCURRENCY = 50

EventsBody = Annotated[
    Any,
    Body(
        description=f"One event, or {{'events': [...]}} with up to {MAX_BATCH} events.",
        openapi_examples={
            "one": {
                "value": {"event_id": "e-1", "member": "m-0001", "name": "registered"},
            },
            "batch": {
                "value": {
                    "events": [
                        {"event_id": "e-2", "member": "m-0001", "name": "order_paid"},
                        {"event_id": "e-3", "member": "m-0002", "name": "registered"},
                    ]
                }
            },
        },
    ),
]


class EventResult(BaseModel):
    event_id: str
    status: Literal["accepted", "duplicate"]
    journeys: int
    """Workflows started or signalled for this event."""


class EventsOut(BaseModel):
    events: list[EventResult]


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    responses={422: {"description": "Some events are malformed; none was stored."}},
)
async def post_events(session: SessionDep, router: DispatcherDep, body: EventsBody) -> EventsOut:
    incoming = _parse(body)
    stored = await run_in_threadpool(_store, session, incoming)
    counts = await _route_all(router, [s.route_id for s in stored if s.route_id is not None])
    return EventsOut(
        events=[
            EventResult(
                event_id=s.event_id,
                status="accepted" if s.new else "duplicate",
                journeys=counts.get(s.route_id, 0) if s.route_id is not None else 0,
            )
            for s in stored
        ]
    )


class _Stored(NamedTuple):
    event_id: str
    new: bool
    route_id: int | None
    """The row to route: new, or stored before but never routed; once per request."""


def _store(session: Session, incoming: list[IncomingEvent]) -> list[_Stored]:
    """In a worker thread: a large batch is many statements, and the event loop must
    keep serving other requests meanwhile."""
    stored: list[_Stored] = []
    to_route: set[int] = set()
    try:
        for event in incoming:
            row, new = store_event(session, event)
            assert row.id is not None
            route = (new or row.routed_at is None) and row.id not in to_route
            if route:
                to_route.add(row.id)
            stored.append(_Stored(event.event_id, new, row.id if route else None))
        session.commit()
    except IntegrityError as exc:  # the same event_id or member arrived concurrently
        session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "an event or member in this request was stored by a concurrent request at the"
            " same time; nothing from this request was stored, re-send it",
        ) from exc
    return stored


def _parse(body: object) -> list[IncomingEvent]:
    """Every event or none: a malformed item refuses the whole request, listing all."""
    items = body["events"] if isinstance(body, dict) and "events" in body else [body]
    if not isinstance(items, list) or not items:
        raise _malformed("'events' must be a non-empty list of events", [])
    if len(items) > MAX_BATCH:
        raise _malformed(f"a batch holds at most {MAX_BATCH} events, this one {len(items)}", [])
    events: list[IncomingEvent] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            events.append(IncomingEvent.model_validate(item))
        except ValidationError as exc:
            errors.append(
                {
                    "index": index,
                    "event_id": item.get("event_id") if isinstance(item, dict) else None,
                    "errors": [
                        {
                            "field": ".".join(str(p) for p in e["loc"]) or "event",
                            "message": e["msg"],
                        }
                        for e in exc.errors()
                    ],
                }
            )
    if errors:
        raise _malformed(f"{len(errors)} of {len(items)} events are malformed", errors)
    return events


def _malformed(message: str, errors: list[dict[str, Any]]) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        {"message": f"{message}; nothing was stored", "events": errors},
    )


async def _route_all(router: RunDispatcher, row_ids: list[int]) -> dict[int, int]:
    """Every event gets its try; if any failed, the sender is told to re-send."""
    results = await router.route_many(row_ids, _ROUTING_CONCURRENCY)
    failures = [r for r in results.values() if isinstance(r, Exception)]
    if failures:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the events were stored but {len(failures)} could not be routed"
            f" ({failures[0]!r}); re-send the same request: stored events are not stored"
            " twice, and those not routed yet are routed then",
        )
    return {r: n for r, n in results.items() if isinstance(n, int)}
