"""The one error shape for journey definitions: every problem, each naming its node,
so an editor can mark all the bad nodes from a single response."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from journeys.validate import Problem

__all__ = ["JourneyProblems", "ProblemOut", "ProblemsOut", "problems_handler", "problems_out"]


class ProblemOut(BaseModel):
    node_id: str | None
    code: str
    message: str


class ProblemsOut(BaseModel):
    problems: list[ProblemOut]


def problems_out(problems: Iterable[Problem]) -> list[ProblemOut]:
    return [ProblemOut(node_id=p.node_id, code=p.code, message=p.message) for p in problems]


class JourneyProblems(Exception):
    """Raised by a route to answer 422 with ``{"problems": [...]}``."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        super().__init__("journey has problems")
        self.problems = problems_out(problems)


async def problems_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JourneyProblems)
    body = ProblemsOut(problems=exc.problems)
    return JSONResponse(body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
