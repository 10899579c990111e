"""Per-node analytics of a journey, for the analyst's funnel and node badges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from engine.analytics import JourneyStats, journey_stats
from web.api.journeys import get_record
from web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["analytics"])


@router.get("/journeys/{journey_id}/stats")
def stats(
    session: SessionDep,
    journey_id: str,
    version: Annotated[
        int | None, Query(ge=1, description="Count one version only; default: all versions.")
    ] = None,
) -> JourneyStats:
    get_record(session, journey_id)
    try:
        return journey_stats(session, journey_id, version)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
