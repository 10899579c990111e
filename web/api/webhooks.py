"""Callbacks from the providers: delivery receipts and members' SMS replies.

Providers call these, not our API users, so there is no ``X-API-Key``. Each push is
authenticated the way its provider allows: Twilio and WeChat sign their requests, Aliyun
and Tencent SMS callbacks have no signature and carry our ``JOURNEY_WEBHOOK_TOKEN`` in
``?token=`` instead. A missing secret answers 503 (the set-up is incomplete; the provider
retries later), a bad one 401 / 403.

Every answer to a push we accepted is the provider's documented success shape, also for
duplicates and for receipts of messages we do not know: anything else makes the provider
push the same thing again. Malformed pushes answer 400 so they show up in the provider's
console instead of vanishing.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from channels.receipts import (
    Receipt,
    ReceiptError,
    parse_aliyun_reports,
    parse_tencent_reports,
    parse_twilio_status,
    parse_wechat_template_event,
)
from channels.sms_twilio import verify_twilio_signature
from channels.wechat import verify_wechat_signature
from engine.delivery.receipts import apply_receipts
from engine.delivery.unsubscribe import opt_out_reply
from web.deps import ServicesDep, SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)

_SUCCESS: dict[str, dict[str, Any]] = {
    "aliyun": {"code": 0, "msg": "成功"},
    "tencent": {"result": 0, "errmsg": "OK"},
}
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _configured(value: str, name: str) -> str:
    if not value:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"{name} not configured")
    return value


def _matches(given: str | None, expected: str) -> bool:
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


def require_webhook_token(
    services: ServicesDep, token: Annotated[str | None, Query()] = None
) -> None:
    """For the providers without request signatures (Aliyun, Tencent SMS)."""
    expected = _configured(services.settings.webhook_token, "webhook token")
    if not _matches(token, expected):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong webhook token")


TokenChecked = Depends(require_webhook_token)


async def _apply(session: Session, receipts: list[Receipt], channel: str) -> None:
    def work() -> Counter[str]:
        outcomes: Counter[str] = Counter(apply_receipts(session, receipts, channel))
        session.commit()
        return outcomes

    outcomes = await run_in_threadpool(work)
    if outcomes["unknown"]:
        log.info("%d %s receipt(s) matched no message", outcomes["unknown"], channel)


async def _parsed(parse: Callable[[bytes], list[Receipt]], request: Request) -> list[Receipt]:
    try:
        return parse(await request.body())
    except ReceiptError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


# --- Aliyun and Tencent SMS -----------------------------------------------------------


@router.post("/aliyun/sms-report", dependencies=[TokenChecked])
async def aliyun_report(request: Request, session: SessionDep) -> JSONResponse:
    """Aliyun SmsReport: a JSON list of delivery reports (``out_id`` is our key)."""
    await _apply(session, await _parsed(parse_aliyun_reports, request), "sms")
    return JSONResponse(_SUCCESS["aliyun"])


@router.post("/tencent/sms-callback", dependencies=[TokenChecked])
async def tencent_callback(request: Request, session: SessionDep) -> JSONResponse:
    """Tencent SMS status callback: a JSON list of reports keyed by ``sid``."""
    await _apply(session, await _parsed(parse_tencent_reports, request), "sms")
    return JSONResponse(_SUCCESS["tencent"])


def _replies(body: bytes) -> list[tuple[str, str]]:
    """(phone, text) of an Aliyun SmsUp push (list of ``phone_number`` / ``content``) or a
    Tencent reply callback (one object or a list, ``mobile`` / ``text``)."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not JSON: {exc}") from exc
    items = data if isinstance(data, list) else [data]
    replies = []
    for item in items:
        if not isinstance(item, dict):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "expected JSON objects")
        phone = item.get("phone_number") or item.get("mobile")
        text = item.get("content", item.get("text"))
        if not isinstance(phone, str) or not isinstance(text, str):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, "each reply needs phone_number/mobile and content/text"
            )
        replies.append((phone, text))
    return replies


@router.post("/{provider}/sms-reply", dependencies=[TokenChecked])
async def sms_reply(provider: str, request: Request, session: SessionDep) -> JSONResponse:
    """A member's SMS reply: "T", "TD", "退订" (any case, trimmed) records an opt-out."""
    if provider not in _SUCCESS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no SMS replies from {provider!r}")
    replies = _replies(await request.body())

    def work() -> None:
        for phone, text in replies:
            opt_out_reply(session, phone, text)
        session.commit()

    await run_in_threadpool(work)
    return JSONResponse(_SUCCESS[provider])


# --- Twilio ------------------------------------------------------------------------


async def twilio_form(request: Request, services: ServicesDep) -> dict[str, str]:
    """The POST parameters, once ``X-Twilio-Signature`` proves Twilio sent them.

    Twilio signs the URL it called, so behind a proxy that rewrites scheme or host the
    URL is rebuilt from ``JOURNEY_PUBLIC_BASE_URL``.
    """
    auth_token = _configured(services.settings.twilio_auth_token, "twilio auth token")
    form = await request.form()
    params = {key: value for key, value in form.items() if isinstance(value, str)}
    url = str(request.url)
    if base := services.settings.public_base_url.rstrip("/"):
        query = f"?{request.url.query}" if request.url.query else ""
        url = f"{base}{request.url.path}{query}"
    signature = request.headers.get("X-Twilio-Signature", "")
    if not verify_twilio_signature(url, params, signature, auth_token):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "bad X-Twilio-Signature")
    return params


TwilioForm = Annotated[dict[str, str], Depends(twilio_form)]


@router.post("/twilio/status", status_code=status.HTTP_204_NO_CONTENT)
async def twilio_status(params: TwilioForm, session: SessionDep) -> Response:
    """StatusCallback; interim statuses (queued, sent...) change nothing."""
    try:
        receipt = parse_twilio_status(params)
    except ReceiptError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if receipt is not None:
        await _apply(session, [receipt], "sms")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/twilio/inbound")
async def twilio_inbound(params: TwilioForm, session: SessionDep) -> Response:
    """An incoming SMS; empty TwiML, so Twilio sends no reply of its own making."""

    def work() -> None:
        opt_out_reply(session, params.get("From", ""), params.get("Body", ""))
        session.commit()

    await run_in_threadpool(work)
    return Response(_EMPTY_TWIML, media_type="application/xml")


# --- WeChat official account ------------------------------------------------------


def wechat_signed(
    services: ServicesDep,
    signature: Annotated[str, Query()] = "",
    timestamp: Annotated[str, Query()] = "",
    nonce: Annotated[str, Query()] = "",
) -> None:
    """WeChat signs both the URL check and every push in the query string."""
    token = _configured(services.settings.wechat_token, "wechat token")
    if not verify_wechat_signature(token, timestamp, nonce, signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "bad WeChat signature")


WeChatSigned = Depends(wechat_signed)


@router.get("/wechat", dependencies=[WeChatSigned], response_class=PlainTextResponse)
def wechat_verify(echostr: Annotated[str, Query()]) -> str:
    """Server URL verification when the URL is saved in the WeChat console."""
    return echostr


@router.post("/wechat", dependencies=[WeChatSigned], response_class=PlainTextResponse)
async def wechat_event(request: Request, session: SessionDep) -> str:
    """Event pushes in plaintext mode; only TEMPLATESENDJOBFINISH is a receipt, other
    events are acknowledged and ignored. "success" stops WeChat from retrying."""
    body = await request.body()
    try:
        receipt = parse_wechat_template_event(body)
    except (ReceiptError, UnicodeDecodeError) as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
    if receipt is not None:
        await _apply(session, [receipt], "wechat")
    return "success"
