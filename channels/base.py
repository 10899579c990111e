"""The one interface every channel adapter speaks, and how it reports failure.

Channels know nothing of journeys: they get a rendered message with an idempotency
key and say what happened, classified so the runtime can decide between retrying,
skipping the member, recording an opt-out, or halting the channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = [
    "Channel",
    "ChannelError",
    "ErrorKind",
    "OutboundMessage",
    "SendResult",
]


class ErrorKind(StrEnum):
    TRANSIENT = "transient"
    """Network trouble, 5xx, timeouts: retry with backoff."""
    RATE_LIMITED = "rate_limited"
    """The provider asked us to slow down: retry after ``retry_after`` seconds."""
    PERMANENT = "permanent"
    """This recipient can never get this message (bad number, not following)."""
    OPTED_OUT = "opted_out"
    """The recipient refused marketing: record the opt-out, never retry."""
    BAD_CONTENT = "bad_content"
    """The provider rejected the content (template, signature, keyword)."""
    BAD_CONFIG = "bad_config"
    """Our credentials or account set-up are wrong: no retry will help."""
    HALTED = "halted"
    """The account cannot send at all (e.g. out of balance): stop the channel."""

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED)


@dataclass(frozen=True)
class ChannelError:
    kind: ErrorKind
    message: str
    provider_code: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """A rendered message for one recipient.

    ``idempotency_key`` is unique per (workflow, node, visit); adapters pass it to
    providers that accept one so a retried send is delivered once.
    """

    channel: str
    to: str
    body: str
    idempotency_key: str
    subject: str | None = None
    html: str | None = None
    purpose: str = "marketing"
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    accepted: bool
    provider_message_id: str | None = None
    error: ChannelError | None = None

    @classmethod
    def ok(cls, provider_message_id: str) -> SendResult:
        return cls(accepted=True, provider_message_id=provider_message_id)

    @classmethod
    def failed(
        cls,
        kind: ErrorKind,
        message: str,
        *,
        provider_code: str | None = None,
        retry_after: float | None = None,
    ) -> SendResult:
        return cls(
            accepted=False,
            error=ChannelError(kind, message, provider_code, retry_after),
        )


@runtime_checkable
class Channel(Protocol):
    """A way to reach a member: ``name`` is ``sms``, ``email`` or ``wechat``."""

    name: str

    async def send(self, message: OutboundMessage) -> SendResult: ...
