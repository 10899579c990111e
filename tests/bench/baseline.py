"""The hand-written baseline for ``bench_welcome``: the welcome coupon pack as a
developer would write it straight on Temporal, without the journey engine.

Same side effects as the engine's ``welcome_coupon_pack`` run (4 coupons, 5 messages
through the same channel type, the same store tables, idempotency keys shaped
``workflow id:node id:1``), each a regular activity, with the same scaled waits, and no
node-event log. Kept in its own module so the workflow sandbox can import it.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from sqlalchemy import update
    from sqlalchemy.engine import Engine
    from sqlmodel import Session, col, select

    from channels.base import Channel, OutboundMessage
    from engine.delivery.templating import render
    from engine.store.models import (
        Coupon,
        CouponTemplate,
        Member,
        MessageLog,
        MessageTemplate,
        utcnow,
    )

__all__ = [
    "BASELINE_WORKFLOW",
    "BaselineActivities",
    "BaselineInput",
    "CouponInput",
    "CouponVars",
    "MessageInput",
    "WelcomeBaselineWorkflow",
]

BASELINE_WORKFLOW = "BenchWelcomeBaseline"
_TIMEOUT = timedelta(minutes=2)
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=5))
_DAY = 86400.0
_ADDRESS = {"sms": "phone", "email": "email", "wechat": "wechat_openid"}


@dataclass
class BaselineInput:
    member_id: int
    journey_id: str
    time_scale: float


@dataclass
class CouponInput:
    key: str
    member_id: int
    template_id: str


@dataclass
class CouponVars:
    """What a message template may say about the coupon just issued."""

    code: str = ""
    name: str = ""
    value: float | None = None
    threshold: float | None = None
    expires_at: str = ""


@dataclass
class MessageInput:
    key: str
    member_id: int
    journey_id: str
    node_id: str
    channel: str
    template_id: str
    coupon: CouponVars = field(default_factory=CouponVars)


@workflow.defn(name=BASELINE_WORKFLOW)
class WelcomeBaselineWorkflow:
    def __init__(self) -> None:
        self._paid = False

    @workflow.signal
    def order_paid(self) -> None:
        self._paid = True

    @workflow.run
    async def run(self, inp: BaselineInput) -> str:
        day = _DAY * inp.time_scale
        coupon = await self._coupon(inp, "coupon_no_threshold", "welcome_no_threshold")
        await self._send(inp, "sms_coupon_arrived", "sms", "welcome_coupon_sms", coupon)
        await workflow.sleep(2 * day)
        await self._send(inp, "remind_no_threshold", "wechat", "coupon_expiry_wechat", coupon)
        try:
            await workflow.wait_condition(lambda: self._paid, timeout=day)
            return "converted"
        except TimeoutError:
            pass
        for node, template, channel in (
            ("low", "welcome_low_threshold", "sms"),
            ("mid", "welcome_mid_threshold", "wechat"),
            ("high", "welcome_high_threshold", "sms"),
        ):
            coupon = await self._coupon(inp, f"coupon_{node}", template)
            await workflow.sleep(2 * day)
            await self._send(inp, f"remind_{node}", channel, f"coupon_expiry_{channel}", coupon)
        return "completed"

    def _key(self, node_id: str) -> str:
        return f"{workflow.info().workflow_id}:{node_id}:1"

    async def _coupon(self, inp: BaselineInput, node_id: str, template_id: str) -> CouponVars:
        coupon: CouponVars = await workflow.execute_activity(
            "bench_issue_coupon",
            CouponInput(self._key(node_id), inp.member_id, template_id),
            result_type=CouponVars,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        return coupon

    async def _send(
        self, inp: BaselineInput, node_id: str, channel: str, template: str, coupon: CouponVars
    ) -> None:
        await workflow.execute_activity(
            "bench_send_message",
            MessageInput(
                self._key(node_id),
                inp.member_id,
                inp.journey_id,
                node_id,
                channel,
                template,
                coupon,
            ),
            result_type=str,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )


class BaselineActivities:
    """Coupon and message activities over the engine's store and channels."""

    def __init__(self, engine: Engine, channels: Mapping[str, Channel]) -> None:
        self._engine = engine
        self._channels = channels

    def all(self) -> list[Any]:
        return [self.issue_coupon, self.send_message]

    @activity.defn(name="bench_issue_coupon")
    async def issue_coupon(self, inp: CouponInput) -> CouponVars:
        return await asyncio.to_thread(self._issue, inp)

    def _issue(self, inp: CouponInput) -> CouponVars:
        with Session(self._engine, expire_on_commit=False) as session:
            template = session.get(CouponTemplate, inp.template_id)
            assert template is not None
            coupon = session.exec(select(Coupon).where(Coupon.idempotency_key == inp.key)).first()
            if coupon is None:
                session.execute(
                    update(CouponTemplate)
                    .where(col(CouponTemplate.id) == inp.template_id)
                    .values(issued=CouponTemplate.issued + 1)
                )
                now = utcnow()
                coupon = Coupon(
                    idempotency_key=inp.key,
                    template_id=inp.template_id,
                    member_id=inp.member_id,
                    code="CPN-" + hashlib.sha256(inp.key.encode()).hexdigest()[:12].upper(),
                    issued_at=now,
                    expires_at=now + timedelta(days=template.validity_days),
                )
                session.add(coupon)
                session.commit()
            return CouponVars(
                code=coupon.code,
                name=template.name,
                value=template.value,
                threshold=template.threshold,
                expires_at=coupon.expires_at.strftime("%Y-%m-%d"),
            )

    @activity.defn(name="bench_send_message")
    async def send_message(self, inp: MessageInput) -> str:
        message = await asyncio.to_thread(self._prepare, inp)
        if message is None:
            return "already_sent"
        result = await self._channels[inp.channel].send(message)
        await asyncio.to_thread(self._settle, inp.key, result.provider_message_id)
        return "accepted" if result.accepted else "failed"

    def _prepare(self, inp: MessageInput) -> OutboundMessage | None:
        with Session(self._engine, expire_on_commit=False) as session:
            row = session.exec(
                select(MessageLog).where(MessageLog.idempotency_key == inp.key)
            ).first()
            if row is not None and row.status != "sending":
                return None
            member = session.get(Member, inp.member_id)
            template = session.get(MessageTemplate, inp.template_id)
            assert member is not None and template is not None
            context = {
                "member": {
                    "external_id": member.external_id,
                    "first_name": member.first_name or "",
                    "phone": member.phone,
                    "email": member.email,
                    "attributes": member.attributes,
                },
                "coupon": vars(inp.coupon),
                "journey": {"id": inp.journey_id},
            }
            row = row or MessageLog(
                idempotency_key=inp.key,
                member_id=inp.member_id,
                journey_id=inp.journey_id,
                node_id=inp.node_id,
                channel=inp.channel,
                template_id=inp.template_id,
                recipient=getattr(member, _ADDRESS[inp.channel]) or "",
                body=render(template.body, context),
            )
            session.add(row)
            session.commit()
            return OutboundMessage(
                channel=inp.channel,
                to=row.recipient,
                body=row.body,
                idempotency_key=inp.key,
                data={"template_id": template.provider_template or template.id},
            )

    def _settle(self, key: str, provider_message_id: str | None) -> None:
        with Session(self._engine) as session:
            row = session.exec(select(MessageLog).where(MessageLog.idempotency_key == key)).one()
            row.status, row.provider_message_id = "accepted", provider_message_id
            row.updated_at = utcnow()
            session.add(row)
            session.commit()
