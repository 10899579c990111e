"""Provider callbacks against the real app and store: each receipt format applied once,
duplicates and unknown messages acknowledged, forged pushes refused, and SMS "T" replies
turned into opt-outs that later journey sends honour."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from channels.sms_twilio import twilio_signature
from engine.config import Settings
from engine.delivery.consent import is_opted_out
from engine.store.db import session_scope
from engine.store.models import Consent, MessageLog
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, send, trigger
from web.app import create_app

TOKEN = "hook-token"
TWILIO_AUTH = "twilio-auth-token"
WECHAT_TOKEN = "wechat-token"
BASE = "https://crm.example.com"
ALIYUN_OK = {"code": 0, "msg": "成功"}
TENCENT_OK = {"result": 0, "errmsg": "OK"}


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://test"
    )


@pytest.fixture
async def hooks(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """No X-API-Key: providers do not have one."""
    settings = harness.settings.model_copy(
        update={
            "webhook_token": TOKEN,
            "twilio_auth_token": TWILIO_AUTH,
            "wechat_token": WECHAT_TOKEN,
            "public_base_url": BASE + "/",
        }
    )
    async with _client(settings) as client:
        yield client


def _sent(
    harness: Harness,
    member_id: int,
    key: str,
    provider_id: str | None,
    channel: str = "sms",
    status: str = "accepted",
) -> None:
    with session_scope(harness.engine) as session:
        session.add(
            MessageLog(
                idempotency_key=key,
                member_id=member_id,
                channel=channel,
                template_id="followup_sms",
                recipient="13800000001",
                body="hello",
                status=status,
                provider_message_id=provider_id,
            )
        )


def _status(harness: Harness, key: str) -> tuple[str, str | None, str | None]:
    with session_scope(harness.engine) as session:
        row = session.exec(select(MessageLog).where(MessageLog.idempotency_key == key)).one()
        return row.status, row.error_kind, row.error


def _consents(harness: Harness) -> list[tuple[int, str, str, bool, str]]:
    with session_scope(harness.engine) as session:
        rows = session.exec(select(Consent)).all()
    return [(c.member_id, c.channel, c.purpose, c.opted_out, c.source) for c in rows]


def _opted_out(harness: Harness, member_id: int, channel: str) -> bool:
    with session_scope(harness.engine) as session:
        return is_opted_out(session, member_id, channel, "marketing")


def _aliyun(biz_id: str, success: bool, out_id: str = "", err: str = "DELIVERED") -> Any:
    return {
        "phone_number": "13800000001",
        "success": success,
        "err_code": err,
        "biz_id": biz_id,
        "out_id": out_id,
    }


# --- Aliyun / Tencent delivery reports ---------------------------------------------------


async def test_aliyun_reports_settle_messages_once(
    hooks: httpx.AsyncClient, harness: Harness
) -> None:
    member = harness.member("m-0001")
    _sent(harness, member, "k-delivered", "biz-1^0")
    _sent(harness, member, "k-failed", None, status="sending")  # found by out_id only
    url = f"/webhooks/aliyun/sms-report?token={TOKEN}"
    reports = [_aliyun("biz-1^0", True), _aliyun("biz-2^0", False, "k-failed", "MK:0001")]

    for _ in range(2):  # the second push is a duplicate: acknowledged, nothing changes
        response = await hooks.post(url, json=reports)
        assert response.status_code == 200
        assert response.json() == ALIYUN_OK
        assert _status(harness, "k-delivered") == ("delivered", None, None)
        assert _status(harness, "k-failed") == ("failed", "undelivered", "MK:0001")

    late_failure = await hooks.post(url, json=[_aliyun("biz-1^0", False, err="MK:0005")])
    assert late_failure.json() == ALIYUN_OK
    assert _status(harness, "k-delivered") == ("delivered", None, None)  # never moved back
    unknown = await hooks.post(url, json=[_aliyun("biz-404^0", True)])
    assert (unknown.status_code, unknown.json()) == (200, ALIYUN_OK)
    assert _consents(harness) == []  # an undelivered SMS is no opt-out


async def test_tencent_callback_settles_messages(
    hooks: httpx.AsyncClient, harness: Harness
) -> None:
    member = harness.member("m-0001")
    _sent(harness, member, "k-1", "2019:1")
    _sent(harness, member, "k-2", "2019:2")
    _sent(harness, member, "k-wechat", "2019:3", channel="wechat")  # another provider's id
    reports = [
        {"mobile": "13800000001", "report_status": "SUCCESS", "errmsg": "DELIVRD", "sid": "2019:1"},
        {"mobile": "13800000001", "report_status": "FAIL", "errmsg": "MK:0005", "sid": "2019:2"},
        {"mobile": "13800000001", "report_status": "SUCCESS", "sid": "2019:3"},
    ]
    url = f"/webhooks/tencent/sms-callback?token={TOKEN}"
    for _ in range(2):
        response = await hooks.post(url, json=reports)
        assert (response.status_code, response.json()) == (200, TENCENT_OK)
    assert _status(harness, "k-1") == ("delivered", None, None)
    assert _status(harness, "k-2") == ("failed", "undelivered", "MK:0005")
    assert _status(harness, "k-wechat") == ("accepted", None, None)


@pytest.mark.parametrize("path", ["/webhooks/aliyun/sms-report", "/webhooks/tencent/sms-callback"])
async def test_token_webhooks_refuse_a_missing_or_wrong_token(
    hooks: httpx.AsyncClient, harness: Harness, path: str
) -> None:
    _sent(harness, harness.member("m-0001"), "k-1", "2019:1")
    body = [{"report_status": "SUCCESS", "sid": "2019:1", "biz_id": "2019:1", "success": True}]
    for query in ("", "?token=guess", f"?token={TOKEN}x"):
        response = await hooks.post(path + query, json=body)
        assert response.status_code == 401, query
    assert _status(harness, "k-1") == ("accepted", None, None)
    malformed = await hooks.post(f"{path}?token={TOKEN}", content=b"not json")
    assert malformed.status_code == 400


async def test_token_webhooks_are_closed_without_a_configured_token(harness: Harness) -> None:
    async with _client(harness.settings) as client:
        for path in ("/webhooks/aliyun/sms-report", "/webhooks/tencent/sms-reply"):
            response = await client.post(f"{path}?token=", json=[])
            assert response.status_code == 503
            assert response.json() == {"detail": "webhook token not configured"}


# --- Twilio -------------------------------------------------------------------------


def _signed(path: str, params: dict[str, str], base: str = BASE) -> dict[str, str]:
    return {"X-Twilio-Signature": twilio_signature(base + path, params, TWILIO_AUTH)}


async def test_twilio_status_callback_needs_a_valid_signature(
    hooks: httpx.AsyncClient, harness: Harness
) -> None:
    _sent(harness, harness.member("m-0001"), "k-1", "SM1")
    path = "/webhooks/twilio/status"
    sent = {"MessageSid": "SM1", "MessageStatus": "sent", "To": "+14155550101"}
    delivered = {**sent, "MessageStatus": "delivered"}

    tampered = await hooks.post(path, data=delivered, headers=_signed(path, sent))
    assert tampered.status_code == 403
    unsigned = await hooks.post(path, data=delivered)
    assert unsigned.status_code == 403
    assert _status(harness, "k-1") == ("accepted", None, None)

    interim = await hooks.post(path, data=sent, headers=_signed(path, sent))
    assert interim.status_code == 204
    assert _status(harness, "k-1") == ("accepted", None, None)
    for _ in range(2):
        response = await hooks.post(path, data=delivered, headers=_signed(path, delivered))
        assert response.status_code == 204
    assert _status(harness, "k-1") == ("delivered", None, None)


async def test_twilio_signature_uses_the_request_url_without_a_public_base(
    harness: Harness,
) -> None:
    member = harness.member("m-0001")
    _sent(harness, member, "k-1", "SM1")
    settings = harness.settings.model_copy(update={"twilio_auth_token": TWILIO_AUTH})
    # Twilio error 21610: the recipient had replied STOP, which is an opt-out.
    params = {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "21610"}
    path = "/webhooks/twilio/status"
    async with _client(settings) as client:
        wrong_url = await client.post(path, data=params, headers=_signed(path, params))
        assert wrong_url.status_code == 403
        response = await client.post(
            path, data=params, headers=_signed(path, params, "http://test")
        )
        assert response.status_code == 204
    assert _status(harness, "k-1") == ("failed", "opted_out", "21610")
    assert _consents(harness) == [(member, "sms", "marketing", True, "sms_21610")]


async def test_twilio_reply_t_opts_out_and_the_next_send_is_skipped(
    hooks: httpx.AsyncClient, harness: Harness
) -> None:
    member = harness.member("m-0001", phone="+14155550101")
    other = harness.member("m-0002", phone="+14155550102")
    path = "/webhooks/twilio/inbound"
    chat = {"From": "+14155550102", "Body": "T please? no, just hello"}
    response = await hooks.post(path, data=chat, headers=_signed(path, chat))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response></Response>" in response.text

    reply = {"From": "+14155550101", "Body": "  t \n", "MessageSid": "SM9"}
    forged = await hooks.post(path, data=reply, headers=_signed(path, chat))
    assert forged.status_code == 403
    assert _consents(harness) == []
    assert (await hooks.post(path, data=reply, headers=_signed(path, reply))).status_code == 200
    assert _consents(harness) == [(member, "sms", "marketing", True, "sms_reply_T")]
    assert _opted_out(harness, member, "sms") and not _opted_out(harness, other, "sms")

    harness.publish(journey("after_reply", [trigger(), send("sms"), exit_()]))
    await harness.event("m-0001", "registered")
    assert await harness.result("after_reply", member) == "completed"
    assert harness.skips("after_reply") == {("sms", "opted_out"): 1}
    assert harness.delivered("sms") == []


async def test_twilio_webhooks_are_closed_without_an_auth_token(harness: Harness) -> None:
    async with _client(harness.settings) as client:
        response = await client.post("/webhooks/twilio/inbound", data={"Body": "T"})
    assert response.status_code == 503
    assert response.json() == {"detail": "twilio auth token not configured"}


# --- Aliyun / Tencent SMS replies -------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "body", "ok"),
    [
        (
            "aliyun",
            [{"phone_number": "13800000001", "content": " 退订 ", "sign_name": "品牌"}],
            ALIYUN_OK,
        ),
        (
            "tencent",
            {"mobile": "13800000001", "text": "td", "sign": "品牌", "nationcode": "86"},
            TENCENT_OK,
        ),
    ],
)
async def test_chinese_sms_replies_opt_out(
    hooks: httpx.AsyncClient, harness: Harness, provider: str, body: Any, ok: dict[str, Any]
) -> None:
    member = harness.member("m-0001", phone="13800000001")
    url = f"/webhooks/{provider}/sms-reply"
    assert (await hooks.post(url, json=body)).status_code == 401
    assert _consents(harness) == []
    for _ in range(2):  # a repeated push adds no second row
        response = await hooks.post(f"{url}?token={TOKEN}", json=body)
        assert (response.status_code, response.json()) == (200, ok)
    assert _consents(harness) == [(member, "sms", "marketing", True, "sms_reply_T")]


async def test_other_sms_replies_change_nothing(hooks: httpx.AsyncClient, harness: Harness) -> None:
    harness.member("m-0001", phone="13800000001")
    chat = [{"phone_number": "13800000001", "content": "什么时候发货？"}]
    url = f"/webhooks/aliyun/sms-reply?token={TOKEN}"
    assert (await hooks.post(url, json=chat)).json() == ALIYUN_OK
    assert _consents(harness) == []
    assert (await hooks.post(url, json=[{"content": "T"}])).status_code == 400
    unknown = await hooks.post(f"/webhooks/twilio/sms-reply?token={TOKEN}", json=chat)
    assert unknown.status_code == 404


# --- WeChat -------------------------------------------------------------------------


def _wechat_query(timestamp: str = "1700000000", nonce: str = "n0nce") -> dict[str, str]:
    raw = "".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode()
    return {"signature": hashlib.sha1(raw).hexdigest(), "timestamp": timestamp, "nonce": nonce}


def _template_event(msg_id: str, status: str, event: str = "TEMPLATESENDJOBFINISH") -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
        "<FromUserName><![CDATA[openid-m-0001]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><MsgID>{msg_id}</MsgID>"
        f"<Status><![CDATA[{status}]]></Status></xml>"
    )


async def test_wechat_server_url_verification(hooks: httpx.AsyncClient) -> None:
    query = {**_wechat_query(), "echostr": "echo-123"}
    response = await hooks.get("/webhooks/wechat", params=query)
    assert (response.status_code, response.text) == (200, "echo-123")
    forged = await hooks.get("/webhooks/wechat", params={**query, "nonce": "other"})
    assert forged.status_code == 403
    assert "echo-123" not in forged.text


async def test_wechat_template_receipts(hooks: httpx.AsyncClient, harness: Harness) -> None:
    member = harness.member("m-0001")
    _sent(harness, member, "k-ok", "200163836", channel="wechat")
    _sent(harness, member, "k-blocked", "200163837", channel="wechat")
    _sent(harness, member, "k-sms", "200163838")  # same id, other channel: untouched
    query = _wechat_query()

    async def push(body: str, params: dict[str, str] = query) -> httpx.Response:
        return await hooks.post("/webhooks/wechat", params=params, content=body.encode())

    forged = await push(_template_event("200163836", "success"), {**query, "timestamp": "1"})
    assert forged.status_code == 403
    assert _status(harness, "k-ok") == ("accepted", None, None)

    for _ in range(2):
        for body in (
            _template_event("200163836", "success"),
            _template_event("200163837", "failed:user block"),
            _template_event("200163838", "success"),
            _template_event("200163839", "success"),  # unknown
            _template_event("200163836", "success", event="VIEW"),  # not a receipt
        ):
            response = await push(body)
            assert (response.status_code, response.text) == (200, "success")
    assert _status(harness, "k-ok") == ("delivered", None, None)
    assert _status(harness, "k-blocked") == ("failed", "opted_out", "user block")
    assert _status(harness, "k-sms") == ("accepted", None, None)
    assert _consents(harness) == [(member, "wechat", "marketing", True, "wechat_user_block")]
    assert (await push("<xml><unclosed>")).status_code == 400


async def test_wechat_webhook_is_closed_without_a_token(harness: Harness) -> None:
    async with _client(harness.settings) as client:
        response = await client.get("/webhooks/wechat", params={**_wechat_query(), "echostr": "e"})
    assert response.status_code == 503
    assert json.loads(response.text) == {"detail": "wechat token not configured"}
