"""Who may be sent what: opt-outs per member, channel and purpose, and halted channels.

Every path that learns of an opt-out (unsubscribe link, SMS "T" reply, WeChat 43004 /
43101, Twilio 21610, hard bounce) records it here with its source, and the send path
asks here before it calls a provider.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from engine.models import ChannelState, Consent, utcnow

__all__ = ["halt_channel", "halted_reason", "is_opted_out", "record_consent", "resume_channel"]

PURPOSES = ("marketing", "transactional")


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
    return any(
        (row := _latest(session, member_id, channel, p)) is not None and row.opted_out
        for p in purposes
    )


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
