"""Opt-outs found by address (SMS replies, unsubscribe links) and learnt from providers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from channels.base import ChannelError, ErrorKind
from engine.delivery.consent import (
    halted_reason,
    is_opted_out,
    learn_from_failure,
    opt_out_by_address,
    record_consent,
)
from engine.store.db import get_engine, init_db, session_scope
from engine.store.models import Member


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = get_engine(f"sqlite:///{tmp_path}/consent.db")
    init_db(engine)
    with session_scope(engine) as s:
        s.add(Member(id=1, external_id="m-1", phone="13800000001", email="Ann@Example.com"))
        s.add(Member(id=2, external_id="m-2", phone="13800000001", wechat_openid="o-2"))
        s.add(Member(id=3, external_id="m-3", phone="13800000003"))
        s.flush()
        yield s


def test_opt_out_by_address_finds_every_member_at_it(session: Session) -> None:
    assert opt_out_by_address(session, "sms", "13800000001", "sms_reply_T") == [1, 2]
    assert is_opted_out(session, 1, "sms", "marketing")
    assert is_opted_out(session, 2, "sms", "marketing")
    assert not is_opted_out(session, 1, "sms", "transactional")
    assert not is_opted_out(session, 3, "sms", "marketing")


def test_opt_out_by_address_matches_email_regardless_of_case(session: Session) -> None:
    assert opt_out_by_address(session, "email", "ann@example.COM", "unsubscribe_link") == [1]
    assert opt_out_by_address(session, "wechat", "o-2", "unsubscribe_link") == [2]
    assert opt_out_by_address(session, "wechat", "nobody", "unsubscribe_link") == []


def test_re_opt_in_lifts_the_opt_out(session: Session) -> None:
    opt_out_by_address(session, "sms", "13800000003", "sms_reply_T")
    session.flush()
    record_consent(session, 3, "sms", "preference_centre", opted_out=False)
    session.flush()
    assert not is_opted_out(session, 3, "sms", "marketing")


def test_provider_refusals_are_remembered(session: Session) -> None:
    refused = ChannelError(ErrorKind.OPTED_OUT, "refused", "43101")
    assert learn_from_failure(session, 2, "wechat", "marketing", refused) == "opted_out"
    session.flush()
    assert is_opted_out(session, 2, "wechat", "marketing")
    bounce = ChannelError(ErrorKind.PERMANENT, "550 no such user", "550")
    assert learn_from_failure(session, 1, "email", "marketing", bounce) == "permanent"
    session.flush()
    assert is_opted_out(session, 1, "email", "transactional")
    bad_number = ChannelError(ErrorKind.PERMANENT, "invalid number", "21211")
    learn_from_failure(session, 3, "sms", "marketing", bad_number)
    session.flush()
    assert not is_opted_out(session, 3, "sms", "marketing")  # only email bounces suppress
    empty = ChannelError(ErrorKind.HALTED, "out of balance", "isv.AMOUNT_NOT_ENOUGH")
    assert learn_from_failure(session, 3, "sms", "marketing", empty) == "channel_halted"
    session.flush()
    assert halted_reason(session, "sms") == "out of balance"
