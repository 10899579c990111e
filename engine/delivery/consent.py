"""Who may be sent what: opt-outs per member, channel and purpose, and halted channels.

Every path that learns of an opt-out (unsubscribe link, SMS "T" reply, WeChat 43004 /
43101, Twilio 21610, hard bounce) records it here with its source, and the send path
asks here before it calls a provider.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from channels.base import ChannelError, ErrorKind
from engine.store.models import ChannelState, Consent, Member, utcnow

__all__ = [
    "ADDRESS_FIELDS",
    "halt_channel",
    "halted_reason",
    "is_opted_out",
    "learn_from_failure",
    "opt_out_by_address",
    "record_consent",
    "resume_channel",
]

PURPOSES = ("marketing", "transactional")

ADDRESS_FIELDS = {"sms": "phone", "email": "email", "wechat": "wechat_openid"}
"""The member column that holds each channel's address."""


def record_consent(
    session: Session,
    member_id: int,
    channel: str,
    source: str,
    *,
    purpose: str = "marketing",
    opted_out: bool = True,
) -> Consent:
    """Appends a consent change; repeating the current state adds nothing."""
    current = _latest(session, member_id, channel, purpose)
    if current is not None and current.opted_out == opted_out:
        return current
    row = Consent(
        member_id=member_id, channel=channel, purpose=purpose, opted_out=opted_out, source=source
    )
    session.add(row)
    return row


def _latest(session: Session, member_id: int, channel: str, purpose: str) -> Consent | None:
    return session.exec(
        select(Consent)
        .where(
            Consent.member_id == member_id,
            Consent.channel == channel,
            Consent.purpose == purpose,
        )
        .order_by(col(Consent.at).desc(), col(Consent.id).desc())
    ).first()


def is_opted_out(session: Session, member_id: int, channel: str, purpose: str) -> bool:
    """Transactional sends honour only a transactional opt-out (e.g. a hard bounce,
    recorded for both purposes); marketing honours either."""
    purposes = PURPOSES if purpose == "marketing" else ("transactional",)
    rows = session.exec(
        select(Consent.purpose, Consent.opted_out)
        .where(
            Consent.member_id == member_id,
            Consent.channel == channel,
            col(Consent.purpose).in_(purposes),
        )
        .order_by(col(Consent.at).desc(), col(Consent.id).desc())
    ).all()
    latest: dict[str, bool] = {}
    for row_purpose, opted_out in rows:  # one query; newest first, so first seen wins
        latest.setdefault(row_purpose, opted_out)
    return any(latest.values())


def halted_reason(session: Session, channel: str) -> str | None:
    state = session.get(ChannelState, channel)
    return state.reason or "halted" if state is not None and state.halted else None


def halt_channel(session: Session, channel: str, reason: str) -> None:
    state = session.get(ChannelState, channel) or ChannelState(channel=channel)
    state.halted, state.reason, state.changed_at = True, reason, utcnow()
    session.add(state)


def resume_channel(session: Session, channel: str) -> None:
    state = session.get(ChannelState, channel) or ChannelState(channel=channel)
    state.halted, state.reason, state.changed_at = False, None, utcnow()
    session.add(state)


def opt_out_by_address(
    session: Session, channel: str, address: str, source: str, *, purpose: str = "marketing"
) -> list[int]:
    """Records an opt-out for every member reachable at ``address`` on ``channel`` (an
    SMS "T" reply, an unsubscribe link); returns their ids, empty when nobody matches.
    Email addresses match regardless of case."""
    column = getattr(Member, ADDRESS_FIELDS[channel])
    match = func.lower(column) == address.lower() if channel == "email" else column == address
    member_ids = [m for m in session.exec(select(Member.id).where(match)).all() if m is not None]
    for member_id in member_ids:
        record_consent(session, member_id, channel, source, purpose=purpose)
    return member_ids


def learn_from_failure(
    session: Session, member_id: int, channel: str, purpose: str, error: ChannelError
) -> str:
    """Remembers what a final provider refusal says about the member or the channel, so
    later sends skip without calling the provider; returns the skip reason.

    An opt-out holds for the purpose it was learnt on; a hard bounce makes the address
    useless for every purpose; a halted account stops the whole channel.
    """
    if error.kind is ErrorKind.OPTED_OUT:
        source = f"{channel}_{error.provider_code}" if error.provider_code else channel
        record_consent(session, member_id, channel, source[:64], purpose=purpose)
    elif error.kind is ErrorKind.PERMANENT and channel == "email":
        for each in PURPOSES:
            record_consent(session, member_id, channel, "hard_bounce", purpose=each)
    elif error.kind is ErrorKind.HALTED:
        halt_channel(session, channel, error.message)
        return "channel_halted"
    return str(error.kind)
