"""Publishing, pausing, resuming and stopping journeys, and enrolling members by API.

Status changes are committed before running members are signalled: a member whose
signal is lost still learns the status from the store at its next step.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from engine.publishing import InvalidJourney, StatusConflict, publish, set_status
from engine.runtime.routing import RunDispatcher
from engine.store.models import Member
from web.api.journeys import get_record
from web.deps import DispatcherDep, SessionDep
from web.problems import JourneyProblems, ProblemsOut

__all__ = ["router"]

router = APIRouter(tags=["lifecycle"])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "The journey's status does not allow this."}
}


class PublishedOut(BaseModel):
    journey_id: str
    version: int
    status: str


class StatusOut(BaseModel):
    journey_id: str
    status: str
    signalled: int
    """Running members told at once."""


class EnrollIn(BaseModel):
    member: str = Field(min_length=1, max_length=128, description="The member's external id.")
    request_id: str = Field(
        min_length=1, max_length=128, description="Repeating a request id does not re-enrol."
    )


class EnrollOut(BaseModel):
    journey_id: str
    member: str
    enrolled: bool
    workflow_id: str | None
    """None when the journey's re-entry rule keeps the member out."""


@router.post(
    "/journeys/{journey_id}/publish",
    status_code=status.HTTP_201_CREATED,
    responses={422: {"model": ProblemsOut}, **_CONFLICT},
)
def publish_journey(session: SessionDep, journey_id: str) -> PublishedOut:
    record = get_record(session, journey_id)
    try:
        version = publish(session, journey_id)
    except StatusConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except InvalidJourney as exc:
        raise JourneyProblems(exc.problems) from exc
    try:
        session.commit()
    except IntegrityError as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"journey {journey_id} was published by another request at the same time; retry",
        ) from exc
    return PublishedOut(journey_id=journey_id, version=version.version, status=record.status)


@router.post("/journeys/{journey_id}/pause", responses=_CONFLICT)
async def pause_journey(session: SessionDep, router: DispatcherDep, journey_id: str) -> StatusOut:
    """Members stay where they are and take no action until the journey resumes."""
    return await _control(session, router, journey_id, "pause")


@router.post("/journeys/{journey_id}/resume", responses=_CONFLICT)
async def resume_journey(session: SessionDep, router: DispatcherDep, journey_id: str) -> StatusOut:
    return await _control(session, router, journey_id, "resume")


@router.post("/journeys/{journey_id}/stop", responses=_CONFLICT)
async def stop_journey(session: SessionDep, router: DispatcherDep, journey_id: str) -> StatusOut:
    """Final: every running member leaves, and the journey takes no new members."""
    return await _control(session, router, journey_id, "stop")


async def _control(
    session: Session,
    router: RunDispatcher,
    journey_id: str,
    action: Literal["pause", "resume", "stop"],
) -> StatusOut:
    get_record(session, journey_id)
    try:
        record = set_status(session, journey_id, action)
    except StatusConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    signalled = await router.control(journey_id, action)
    return StatusOut(journey_id=journey_id, status=record.status, signalled=signalled)


@router.post(
    "/journeys/{journey_id}/enroll", status_code=status.HTTP_202_ACCEPTED, responses=_CONFLICT
)
async def enroll_member(
    session: SessionDep, router: DispatcherDep, journey_id: str, body: EnrollIn
) -> EnrollOut:
    get_record(session, journey_id)
    member = session.exec(select(Member).where(Member.external_id == body.member)).first()
    if member is None or member.id is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"member {body.member} does not exist; create it with PUT /api/members/{body.member}",
        )
    member_id = member.id
    session.close()  # done reading: hold no connection while Temporal answers
    try:
        workflow_id = await router.enroll(journey_id, member_id, body.request_id)
    except LookupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return EnrollOut(
        journey_id=journey_id,
        member=body.member,
        enrolled=workflow_id is not None,
        workflow_id=workflow_id,
    )
