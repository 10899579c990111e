"""Members who cannot get an action are skipped with a reason and go on."""

from __future__ import annotations

from sqlmodel import select

from engine.store.db import session_scope
from engine.store.models import Coupon, CouponTemplate, MemberTag
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, messages, path_of, send, trigger

TAG = {"id": "tag", "kind": "add_tag", "tag": "recalled"}


async def test_member_without_phone_is_skipped_no_address_and_continues(harness: Harness) -> None:
    harness.publish(journey("skip_no_phone", [trigger(), send("sms"), TAG, exit_()]))
    member_id = harness.member("m-0001", phone=None)
    await harness.event("m-0001", "registered")

    assert await harness.result("skip_no_phone", member_id) == "completed"
    assert harness.skips("skip_no_phone") == {("sms", "no_address"): 1}
    assert path_of(harness, "skip_no_phone", member_id) == ["start", "sms", "tag", "done"]
    assert harness.delivered() == []
    assert [(m.status, m.error_kind) for m in messages(harness)] == [("skipped", "no_address")]
    with session_scope(harness.engine) as session:
        assert session.exec(select(MemberTag.tag)).all() == ["recalled"]


async def test_opted_out_recipient_is_skipped_and_continues(harness: Harness) -> None:
    harness.publish(journey("skip_optout", [trigger(), send("sms"), TAG, exit_()]))
    member_id = harness.member("m-0001", phone="optout-13800000001")
    await harness.event("m-0001", "registered")

    assert await harness.result("skip_optout", member_id) == "completed"
    assert harness.skips("skip_optout") == {("sms", "opted_out"): 1}
    assert path_of(harness, "skip_optout", member_id) == ["start", "sms", "tag", "done"]
    assert harness.delivered() == []
    assert [(m.status, m.error_kind) for m in messages(harness)] == [("failed", "opted_out")]


async def test_second_member_gets_out_of_stock_when_one_coupon_is_left(harness: Harness) -> None:
    with session_scope(harness.engine) as session:
        session.add(CouponTemplate(id="last_one", name="Only one", value=5, stock=1))
    harness.publish(
        journey(
            "skip_stock",
            [trigger(), {"id": "coupon", "kind": "send_coupon", "coupon": "last_one"}, exit_()],
        )
    )
    first = harness.member("m-0001")
    second = harness.member("m-0002")
    await harness.event("m-0001", "registered")
    assert await harness.result("skip_stock", first) == "completed"
    await harness.event("m-0002", "registered")
    assert await harness.result("skip_stock", second) == "completed"

    assert harness.skips("skip_stock") == {("coupon", "out_of_stock"): 1}
    assert path_of(harness, "skip_stock", second) == ["start", "coupon", "done"]
    with session_scope(harness.engine) as session:
        assert session.exec(select(Coupon.member_id)).all() == [first]
        template = session.get(CouponTemplate, "last_one")
        assert template is not None and template.issued == 1
