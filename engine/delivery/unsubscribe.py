"""How members opt themselves out: signed unsubscribe links and SMS replies.

Links: the token in the URL is the member's whole authority to opt out, so it is an
HMAC-SHA256 over member id, channel and purpose with ``JOURNEY_SECRET_KEY``. Nothing is
stored per link; a tampered or foreign token simply fails to verify.

Without a configured key each process draws a random one (and warns): links then stop
working when the process restarts, and a worker's links do not verify in a separate web
process. Production sets ``JOURNEY_SECRET_KEY`` for every process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from sqlmodel import Session

from engine.config import Settings, get_settings
from engine.delivery.consent import ADDRESS_FIELDS, PURPOSES, opt_out_by_address

__all__ = [
    "LOCAL_BASE_URL",
    "OPT_OUT_REPLIES",
    "Target",
    "UnsubscribeLinks",
    "is_opt_out_reply",
    "links_for",
    "opt_out_reply",
    "unsubscribe_url",
]

LOCAL_BASE_URL = "http://127.0.0.1:8000"
"""Where ``journey web`` listens by default; used while ``JOURNEY_PUBLIC_BASE_URL`` is unset."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """Who a verified token lets opt out of what."""

    member_id: int
    channel: str
    purpose: str


@dataclass(frozen=True)
class UnsubscribeLinks:
    secret: bytes = field(repr=False)
    base_url: str = LOCAL_BASE_URL

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def token(self, member_id: int, channel: str, purpose: str = "marketing") -> str:
        payload = f"{member_id}.{channel}.{purpose}"
        return f"{payload}.{self._signature(payload)}"

    def read(self, token: str) -> Target | None:
        """The target of a genuine token, ``None`` for anything else."""
        payload, _, signature = token.rpartition(".")
        if not hmac.compare_digest(self._signature(payload).encode(), signature.encode()):
            return None
        member_id, channel, purpose = payload.split(".")  # we signed exactly this shape
        return Target(int(member_id), channel, purpose)

    def url(self, member_id: int, channel: str, purpose: str = "marketing") -> str:
        return f"{self.base_url}/unsubscribe/{self.token(member_id, channel, purpose)}"


@lru_cache(maxsize=1)
def _process_secret() -> bytes:
    log.warning(
        "JOURNEY_SECRET_KEY is not set: unsubscribe links are signed with a random key that"
        " dies with this process and is not shared with other processes; set it in production"
    )
    return secrets.token_bytes(32)


def links_for(settings: Settings) -> UnsubscribeLinks:
    secret = settings.secret_key.encode() if settings.secret_key else _process_secret()
    return UnsubscribeLinks(secret, settings.public_base_url.rstrip("/") or LOCAL_BASE_URL)


def unsubscribe_url(member_id: int, channel: str, purpose: str = "marketing") -> str:
    """``{public_base_url}/unsubscribe/{token}`` with the settings of this process."""
    if channel not in ADDRESS_FIELDS or purpose not in PURPOSES:
        raise ValueError(f"no unsubscribe link for channel {channel!r}, purpose {purpose!r}")
    return links_for(get_settings()).url(member_id, channel, purpose)


OPT_OUT_REPLIES = frozenset({"T", "TD", "STOP", "退订", "UNSUBSCRIBE"})
"""What a member may text back to stop marketing SMS; our opt-out line says "reply T"."""


def is_opt_out_reply(text: str) -> bool:
    return text.strip().upper() in OPT_OUT_REPLIES


def opt_out_reply(session: Session, phone: str, text: str) -> list[int]:
    """Records an SMS opt-out for every member at ``phone`` when ``text`` asks for one;
    returns their ids (empty for any other reply, or an unknown number)."""
    if not phone or not is_opt_out_reply(text):
        return []
    return opt_out_by_address(session, "sms", phone, "sms_reply_T")
