from __future__ import annotations

import json

import pytest

from channels.receipts import (
    Receipt,
    ReceiptError,
    ReceiptStatus,
    parse_aliyun_reports,
    parse_tencent_reports,
    parse_twilio_status,
    parse_wechat_template_event,
)

ALIYUN = [
    {
        "phone_number": "13800000000",
        "send_time": "2024-06-01 10:00:00",
        "report_time": "2024-06-01 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "932702304080415357^0",
        "out_id": "journey:j1:member:m1:node-sms:0",
    },
    {
        "phone_number": "13800000001",
        "success": False,
        "err_code": "MK:0001",
        "biz_id": "932702304080415358^0",
        "out_id": "",
    },
]


def test_aliyun_reports() -> None:
    assert parse_aliyun_reports(json.dumps(ALIYUN)) == [
        Receipt(
            "932702304080415357^0",
            ReceiptStatus.DELIVERED,
            None,
            "journey:j1:member:m1:node-sms:0",
            "13800000000",
        ),
        Receipt("932702304080415358^0", ReceiptStatus.FAILED, "MK:0001", None, "13800000001"),
    ]


TENCENT = [
    {
        "user_receive_time": "2024-06-01 10:00:05",
        "nationcode": "86",
        "mobile": "13800000000",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "2019:6911181540906427452",
    },
    {"mobile": "13800000001", "report_status": "FAIL", "errmsg": "MK:0005", "sid": "2019:2"},
]


def test_tencent_reports() -> None:
    assert parse_tencent_reports(json.dumps(TENCENT).encode()) == [
        Receipt("2019:6911181540906427452", ReceiptStatus.DELIVERED, None, None, "13800000000"),
        Receipt("2019:2", ReceiptStatus.FAILED, "MK:0005", None, "13800000001"),
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+14155550100"},
            Receipt("SM1", ReceiptStatus.DELIVERED, None, None, "+14155550100"),
        ),
        (
            {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30007"},
            Receipt("SM2", ReceiptStatus.FAILED, "30007"),
        ),
        (
            {"MessageSid": "SM3", "MessageStatus": "failed"},
            Receipt("SM3", ReceiptStatus.FAILED, "failed"),
        ),
        ({"MessageSid": "SM4", "MessageStatus": "sent"}, None),
    ],
)
def test_twilio_status(params: dict[str, str], expected: Receipt | None) -> None:
    assert parse_twilio_status(params) == expected


def _wechat_event(status: str, event: str = "TEMPLATESENDJOBFINISH") -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_7f083739789a]]></ToUserName>"
        "<FromUserName><![CDATA[oia2TjuEGTNoeX76QEjQNrcURxG8]]></FromUserName>"
        "<CreateTime>1395658920</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><MsgID>200163836</MsgID>"
        f"<Status><![CDATA[{status}]]></Status></xml>"
    )


@pytest.mark.parametrize(
    ("status", "final", "reason"),
    [
        ("success", ReceiptStatus.DELIVERED, None),
        ("failed:user block", ReceiptStatus.FAILED, "user block"),
        ("failed: system failed", ReceiptStatus.FAILED, "system failed"),
    ],
)
def test_wechat_template_event(status: str, final: ReceiptStatus, reason: str | None) -> None:
    assert parse_wechat_template_event(_wechat_event(status).encode()) == Receipt(
        "200163836", final, reason, None, "oia2TjuEGTNoeX76QEjQNrcURxG8"
    )


def test_other_wechat_events_are_not_receipts() -> None:
    assert parse_wechat_template_event(_wechat_event("success", event="subscribe")) is None


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{}",
        json.dumps([1, 2]),
        json.dumps([{**ALIYUN[0], "success": "yes"}]),
        json.dumps([{**ALIYUN[0], "biz_id": ""}]),
    ],
)
def test_malformed_aliyun(body: str) -> None:
    with pytest.raises(ReceiptError):
        parse_aliyun_reports(body)


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", "[{}]", json.dumps([{**TENCENT[0], "report_status": "MAYBE"}])],
)
def test_malformed_tencent(body: str | bytes) -> None:
    with pytest.raises(ReceiptError):
        parse_tencent_reports(body)


@pytest.mark.parametrize(
    "params",
    [{"MessageStatus": "delivered"}, {"MessageSid": "SM1", "MessageStatus": "teleported"}, {}],
)
def test_malformed_twilio(params: dict[str, str]) -> None:
    with pytest.raises(ReceiptError):
        parse_twilio_status(params)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><unclosed>",
        _wechat_event("pending"),
        _wechat_event("success").replace("<MsgID>200163836</MsgID>", ""),
        '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Event>&a;</Event></xml>',
    ],
)
def test_malformed_wechat(body: str) -> None:
    with pytest.raises(ReceiptError):
        parse_wechat_template_event(body)
