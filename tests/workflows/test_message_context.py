"""What a message template can say about the member, the coupon and the journey."""

from __future__ import annotations

import json

from engine.store.db import session_scope
from engine.store.models import MessageTemplate, PointsEntry
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, send, trigger


async def test_template_reads_points_coupon_and_journey_name(harness: Harness) -> None:
    with session_scope(harness.engine) as session:
        session.add(
            MessageTemplate(
                id="points_sms",
                channel="sms",
                body="{{ member.first_name }}: {{ member.points }} 积分 · {{ journey.name }}",
            )
        )
    member_id = harness.member("m-0001", first_name="小明")
    with session_scope(harness.engine) as session:
        session.add(PointsEntry(idempotency_key="grant-1", member_id=member_id, delta=120))
        session.add(PointsEntry(idempotency_key="grant-2", member_id=member_id, delta=-20))
    data = journey("points_note", [trigger(), send("s", "points_sms"), exit_()])
    data["name"] = "Points note 积分提醒"
    harness.publish(data)
    await harness.event("m-0001", "registered")

    assert await harness.result("points_note", member_id) == "completed"
    (message,) = harness.delivered()
    assert message["body"].startswith("小明: 100 积分 · Points note 积分提醒")


async def test_provider_parameters_reach_the_channel(harness: Harness) -> None:
    """WeChat keywords (and SMS template variables) are rendered per member and handed
    to the adapter with the provider's template id."""
    with session_scope(harness.engine) as session:
        session.add(
            MessageTemplate(
                id="arrived_wechat",
                channel="wechat",
                body="{{ member.first_name }}，券已到账",
                provider_template="TPL-COUPON-ARRIVED",
                params={"kw.thing1": "{{ coupon.name }}", "kw.time2": "{{ coupon.expires_at }}"},
            )
        )
    member_id = harness.member("m-0002", first_name="小红")
    harness.publish(
        journey(
            "coupon_note",
            [
                trigger(),
                {"id": "c", "kind": "send_coupon", "coupon": "welcome_no_threshold"},
                send("s", "arrived_wechat", channel="wechat"),
                exit_(),
            ],
        )
    )
    await harness.event("m-0002", "registered")

    assert await harness.result("coupon_note", member_id) == "completed"
    (message,) = harness.delivered("wechat")
    data = message["data"] if isinstance(message["data"], dict) else json.loads(message["data"])
    assert data["template_id"] == "TPL-COUPON-ARRIVED"
    assert data["kw.thing1"] == "新人10元无门槛券"
    assert data["kw.time2"].count("-") == 2
