"""Frequency caps: parsing the setting, the member's calendar, and counting sends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from engine.config import Settings
from engine.delivery.pressure import (
    Cap,
    cap_reached,
    next_local_day,
    parse_caps,
    parse_rate_limits,
    period_start,
)
from engine.store.db import get_engine, init_db, session_scope
from engine.store.models import Member, MessageLog

# Monday 2025-03-10 16:30 UTC: Tuesday 00:30 in Shanghai, Monday 09:30 in Los Angeles.
AT = datetime(2025, 3, 10, 16, 30, tzinfo=UTC)


def test_caps_parse_into_typed_rules() -> None:
    assert parse_caps(" sms:day=1, all:week=5 ") == (
        Cap("sms", "day", 1),
        Cap("all", "week", 5),
    )
    assert parse_caps("") == ()


@pytest.mark.parametrize("text", ["sms:month=1", "fax:day=1", "sms:day", "sms:day=-1", "sms=1"])
def test_bad_caps_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_caps(text)


def test_rate_limits_parse_per_channel() -> None:
    assert parse_rate_limits("sms=50,wechat=100") == {"sms": 50.0, "wechat": 100.0}
    with pytest.raises(ValueError):
        parse_rate_limits("all=5")
    with pytest.raises(ValueError):
        parse_rate_limits("sms=0")


def test_settings_read_caps_and_rate_limits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOURNEY_CAPS", "sms:day=1,all:week=3")
    monkeypatch.setenv("JOURNEY_RATE_LIMITS", "email=20")
    monkeypatch.setenv("JOURNEY_QUIET_HOURS", "21:00-09:00")
    settings = Settings()
    assert settings.caps == (Cap("sms", "day", 1), Cap("all", "week", 3))
    assert settings.rate_limits == {"email": 20.0}
    assert settings.quiet_hours == "21:00-09:00"
    assert settings.sms_opt_out_line == "回T退订"
    monkeypatch.setenv("JOURNEY_QUIET_HOURS", "9pm-9am")
    with pytest.raises(ValueError):
        Settings()


def test_periods_follow_the_members_calendar() -> None:
    assert period_start(AT, "Asia/Shanghai", "day") == datetime(2025, 3, 10, 16, tzinfo=UTC)
    assert period_start(AT, "America/Los_Angeles", "day") == datetime(2025, 3, 10, 7, tzinfo=UTC)
    # Shanghai's week began on Monday the 10th local; Los Angeles's on Monday the 10th too,
    # which was 07:00 UTC (PDT since the 9th).
    assert period_start(AT, "Asia/Shanghai", "week") == datetime(2025, 3, 9, 16, tzinfo=UTC)
    assert period_start(AT, "America/Los_Angeles", "week") == datetime(2025, 3, 10, 7, tzinfo=UTC)
    assert next_local_day(AT, "Asia/Shanghai") == datetime(2025, 3, 11, 16, tzinfo=UTC)
    assert next_local_day(AT, "America/Los_Angeles") == datetime(2025, 3, 11, 7, tzinfo=UTC)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = get_engine(f"sqlite:///{tmp_path}/caps.db")
    init_db(engine)
    with session_scope(engine) as s:
        s.add(Member(id=1, external_id="m-1", timezone="America/Los_Angeles"))
        s.flush()
        yield s


def _sent(session: Session, at: datetime, channel: str = "sms", **fields: str) -> None:
    session.add(
        MessageLog(
            idempotency_key=f"k-{at.isoformat()}-{channel}-{fields}",
            member_id=1,
            channel=channel,
            template_id="t",
            recipient="x",
            body="b",
            created_at=at,
            **{"status": "accepted", **fields},
        )
    )
    session.flush()


def test_cap_counts_the_members_local_day_only(session: Session) -> None:
    caps = (Cap("sms", "day", 1),)
    _sent(session, AT - timedelta(hours=10))  # 23:30 the day before in Los Angeles
    assert not cap_reached(session, 1, "sms", "America/Los_Angeles", caps, AT)
    _sent(session, AT - timedelta(hours=6))  # 03:30 today in LA, yesterday in Shanghai
    assert cap_reached(session, 1, "sms", "America/Los_Angeles", caps, AT)
    assert not cap_reached(session, 1, "sms", "Asia/Shanghai", caps, AT)
    assert not cap_reached(session, 1, "email", "America/Los_Angeles", caps, AT)


def test_cap_counts_in_flight_but_not_failed_or_transactional(session: Session) -> None:
    caps = (Cap("all", "week", 2),)
    la = "America/Los_Angeles"
    _sent(session, AT, status="failed")
    _sent(session, AT, "email", purpose="transactional")
    assert not cap_reached(session, 1, "wechat", la, caps, AT)
    _sent(session, AT, "email", status="sending")
    _sent(session, AT, "wechat", status="delivered")
    assert cap_reached(session, 1, "sms", la, caps, AT)
    assert not cap_reached(session, 1, "sms", la, (), AT)
