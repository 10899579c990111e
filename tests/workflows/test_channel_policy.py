"""Consent, suppression, halted channels, the SMS opt-out line and per-channel send
queues, end to end through member workflows."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from channels.base import ErrorKind
from channels.fake import FakeChannel
from engine.delivery.consent import halted_reason, record_consent, resume_channel
from engine.store.db import session_scope
from engine.store.models import Consent, MessageTemplate
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, messages, send, trigger


def _fake(harness: Harness, channel: str) -> FakeChannel:
    fake = harness.channels[channel]
    assert isinstance(fake, FakeChannel)
    return fake


def _consents(harness: Harness) -> list[tuple[int, str, str, bool, str]]:
    with session_scope(harness.engine) as session:
        rows = session.exec(select(Consent).order_by(Consent.id)).all()  # type: ignore[arg-type]
    return [(c.member_id, c.channel, c.purpose, c.opted_out, c.source) for c in rows]


def _email_template(harness: Harness) -> None:
    with session_scope(harness.engine) as session:
        session.add(
            MessageTemplate(
                id="notice_email", channel="email", subject="Hi", body="{{ member.first_name }}"
            )
        )


def _transactional(node_id: str, template: str, channel: str) -> dict[str, Any]:
    return {**send(node_id, template, channel), "purpose": "transactional"}


async def test_opted_out_member_is_skipped_without_calling_the_provider(harness: Harness) -> None:
    harness.publish(journey("policy_consent", [trigger(), send("sms"), exit_()]))
    member_id = harness.member("m-0001")
    with session_scope(harness.engine) as session:
        record_consent(session, member_id, "sms", "sms_reply_T")
    await harness.event("m-0001", "registered")

    assert await harness.result("policy_consent", member_id) == "completed"
    assert harness.skips("policy_consent") == {("sms", "opted_out"): 1}
    assert _fake(harness, "sms").calls == 0
    assert [(m.status, m.error_kind) for m in messages(harness)] == [("skipped", "opted_out")]


async def test_provider_opt_out_is_recorded_and_the_next_journey_skips_without_a_call(
    harness: Harness,
) -> None:
    harness.publish(journey("policy_learn_a", [trigger(), send("sms"), exit_()]))
    harness.publish(journey("policy_learn_b", [trigger("order_paid"), send("sms"), exit_()]))
    member_id = harness.member("m-0001", phone="optout-13800000001")
    fake = _fake(harness, "sms")

    await harness.event("m-0001", "registered")
    assert await harness.result("policy_learn_a", member_id) == "completed"
    assert fake.calls == 1
    assert _consents(harness) == [(member_id, "sms", "marketing", True, "sms_fake.opted_out")]

    await harness.event("m-0001", "order_paid")
    assert await harness.result("policy_learn_b", member_id) == "completed"
    assert fake.calls == 1  # the second journey did not ask the provider again
    assert harness.skips("policy_learn_b") == {("sms", "opted_out"): 1}
    assert [m.status for m in messages(harness)] == ["failed", "skipped"]


async def test_hard_bounce_suppresses_the_address_for_every_purpose(harness: Harness) -> None:
    _email_template(harness)
    harness.publish(
        journey("policy_bounce_a", [trigger(), send("mail", "notice_email", "email"), exit_()])
    )
    harness.publish(
        journey(
            "policy_bounce_b",
            [trigger("order_paid"), _transactional("mail", "notice_email", "email"), exit_()],
        )
    )
    member_id = harness.member("m-0001", email="bounce-0001@example.com")
    fake = _fake(harness, "email")

    await harness.event("m-0001", "registered")
    assert await harness.result("policy_bounce_a", member_id) == "completed"
    assert harness.skips("policy_bounce_a") == {("mail", "permanent"): 1}
    assert sorted(_consents(harness)) == [
        (member_id, "email", "marketing", True, "hard_bounce"),
        (member_id, "email", "transactional", True, "hard_bounce"),
    ]

    await harness.event("m-0001", "order_paid")
    assert await harness.result("policy_bounce_b", member_id) == "completed"
    assert harness.skips("policy_bounce_b") == {("mail", "opted_out"): 1}
    assert fake.calls == 1


async def test_halted_channel_skips_later_sends_until_resumed(harness: Harness) -> None:
    harness.publish(journey("policy_halt", [trigger(), send("sms"), exit_()]))
    first = harness.member("m-0001", phone="13900000001")
    second = harness.member("m-0002", phone="13900000002")
    third = harness.member("m-0003", phone="13900000003")
    fake = _fake(harness, "sms")
    fake.fail_next["13900000001"] = ErrorKind.HALTED

    await harness.event("m-0001", "registered")
    assert await harness.result("policy_halt", first) == "completed"
    with session_scope(harness.engine) as session:
        assert halted_reason(session, "sms") is not None
    await harness.event("m-0002", "registered")
    assert await harness.result("policy_halt", second) == "completed"
    assert fake.calls == 1  # only the call that learnt of the halt
    assert harness.skips("policy_halt") == {("sms", "channel_halted"): 2}

    with session_scope(harness.engine) as session:
        resume_channel(session, "sms")
    await harness.event("m-0003", "registered")
    assert await harness.result("policy_halt", third) == "completed"
    assert [m["recipient"] for m in fake.delivered] == ["13900000003"]
    assert harness.skips("policy_halt") == {("sms", "channel_halted"): 2}


async def test_opt_out_line_is_appended_to_marketing_sms_only(harness: Harness) -> None:
    _email_template(harness)
    harness.publish(
        journey(
            "policy_line",
            [
                trigger(),
                send("marketing"),
                _transactional("receipt", "followup_sms", "sms"),
                send("mail", "notice_email", "email"),
                exit_(),
            ],
        )
    )
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")

    assert await harness.result("policy_line", member_id) == "completed"
    bodies = {m.node_id: m.body for m in messages(harness)}
    assert bodies["marketing"].endswith("回T退订")
    assert "退订" not in bodies["receipt"]
    assert "退订" not in bodies["mail"]
    assert [m["body"] for m in harness.delivered("sms")] == [bodies["marketing"], bodies["receipt"]]


async def test_send_runs_on_the_channel_task_queue(harness: Harness) -> None:
    harness.publish(
        journey(
            "policy_queue",
            [trigger(), send("sms"), send("wx", "followup_wechat", "wechat"), exit_()],
        )
    )
    member_id = harness.member("m-0001")
    await harness.event("m-0001", "registered")
    assert await harness.result("policy_queue", member_id) == "completed"

    history = await harness.handle("policy_queue", member_id).fetch_history()
    queues = [
        e.activity_task_scheduled_event_attributes.task_queue.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    base = harness.settings.task_queue
    assert queues == [f"{base}-send-sms", f"{base}-send-wechat"]
    assert len(harness.delivered()) == 2
