"""Journey definitions: create, read, edit the draft, and validate without publishing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from engine.publishing import StatusConflict, load_catalog, save_draft, versions
from engine.store.models import JourneyRecord
from journeys.model import Journey, journey_json_schema
from journeys.validate import Problem, validate_json
from web.deps import SessionDep
from web.problems import JourneyProblems, ProblemOut, ProblemsOut, problems_out

__all__ = ["get_record", "router"]

router = APIRouter(tags=["journeys"])

JourneyBody = Annotated[
    Any, Body(description="A journey as JSON; its schema is at GET /api/schema/journey.")
]
_PROBLEMS: dict[int | str, dict[str, Any]] = {422: {"model": ProblemsOut}}


class JourneySummary(BaseModel):
    id: str
    name: str
    status: str
    live_version: int | None


class VersionOut(BaseModel):
    version: int
    published_at: datetime


class JourneyDetail(JourneySummary):
    draft: dict[str, Any]
    versions: list[VersionOut]
    problems: list[ProblemOut]
    """What would stop the draft from being published, against today's catalog."""
    created_at: datetime
    updated_at: datetime


class ValidationOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]


def get_record(session: Session, journey_id: str) -> JourneyRecord:
    record = session.get(JourneyRecord, journey_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"journey {journey_id} does not exist")
    return record


@router.get("/schema/journey")
def journey_schema() -> dict[str, Any]:
    return journey_json_schema()


@router.get("/journeys")
def list_journeys(session: SessionDep) -> list[JourneySummary]:
    records = session.exec(select(JourneyRecord).order_by(col(JourneyRecord.id))).all()
    return [JourneySummary.model_validate(r, from_attributes=True) for r in records]


@router.post(
    "/journeys",
    status_code=status.HTTP_201_CREATED,
    responses={**_PROBLEMS, 409: {"description": "A journey with this id exists."}},
)
def create_journey(session: SessionDep, body: JourneyBody) -> JourneyDetail:
    journey, problems = _parse(session, body)
    if session.get(JourneyRecord, journey.id) is not None:
        raise _exists(journey.id)
    record = save_draft(session, journey)
    try:
        session.commit()
    except IntegrityError as exc:  # created by a concurrent request since the check
        raise _exists(journey.id) from exc
    return _detail(session, record, problems)


@router.get("/journeys/{journey_id}")
def get_journey(session: SessionDep, journey_id: str) -> JourneyDetail:
    record = get_record(session, journey_id)
    _, problems = validate_json(record.draft, load_catalog(session))
    return _detail(session, record, problems)


@router.put(
    "/journeys/{journey_id}",
    responses={**_PROBLEMS, 409: {"description": "The journey is stopped."}},
)
def update_journey(session: SessionDep, journey_id: str, body: JourneyBody) -> JourneyDetail:
    """Changes the draft only; members keep running the published version until the
    next publish."""
    get_record(session, journey_id)
    journey, problems = _parse(session, body)
    if journey.id != journey_id:
        raise JourneyProblems(
            [
                Problem(
                    None,
                    "invalid_field",
                    f"id: '{journey.id}' does not match the journey in the path"
                    f" ('{journey_id}'); ids cannot be changed, create a new journey instead.",
                )
            ]
        )
    try:
        record = save_draft(session, journey)
    except StatusConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return _detail(session, record, problems)


@router.post("/journeys/{journey_id}/validate")
def validate_draft(session: SessionDep, journey_id: str) -> ValidationOut:
    record = get_record(session, journey_id)
    _, problems = validate_json(record.draft, load_catalog(session))
    return ValidationOut(valid=not problems, problems=problems_out(problems))


@router.post("/validate")
def validate_body(session: SessionDep, body: JourneyBody) -> ValidationOut:
    """Checks a journey without saving it, e.g. while it is being drawn."""
    _, problems = validate_json(body, load_catalog(session))
    return ValidationOut(valid=not problems, problems=problems_out(problems))


def _parse(session: Session, body: object) -> tuple[Journey, list[Problem]]:
    """The journey and what would stop it from publishing; a body that is not a journey
    at all is refused with its field problems."""
    journey, problems = validate_json(body, load_catalog(session))
    if journey is None:
        raise JourneyProblems(problems)
    return journey, problems


def _exists(journey_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT,
        f"journey {journey_id} already exists; change it with PUT /api/journeys/{journey_id}",
    )


def _detail(session: Session, record: JourneyRecord, problems: list[Problem]) -> JourneyDetail:
    return JourneyDetail(
        id=record.id,
        name=record.name,
        status=record.status,
        live_version=record.live_version,
        draft=record.draft,
        versions=[VersionOut.model_validate(v) for v in versions(session, record.id)],
        problems=problems_out(problems),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
