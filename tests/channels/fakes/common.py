"""Behaviour every fake provider can be told to show for a given recipient."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import PlainTextResponse, Response


@dataclass
class Script:
    """Per-recipient misbehaviour: an HTTP status instead of an answer, a provider error
    code, or a delay after the message is accepted (the response is lost, the send is not:
    the case idempotency keys exist for)."""

    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, Any] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)

    def status_response(self, recipient: str) -> Response | None:
        status = self.statuses.get(recipient)
        if status is None:
            return None
        return PlainTextResponse("upstream trouble", status_code=status)

    async def delay(self, recipient: str) -> None:
        if seconds := self.delays.get(recipient):
            await asyncio.sleep(seconds)
