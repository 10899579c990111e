from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from channels.base import ErrorKind, OutboundMessage
from channels.email_smtp import SmtpChannel, SmtpConfig, message_id
from tests.channels.conftest import MessageFactory
from tests.channels.fakes.smtp import (
    PASSWORD,
    USERNAME,
    Handler,
    free_port,
    self_signed_cert,
    start_server,
)

UNSUBSCRIBE = "https://journeys.example.com/unsubscribe?token=abc123"


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp(cert: tuple[Path, Path]) -> Iterator[tuple[Handler, SmtpConfig]]:
    handler = Handler()
    controller = start_server(handler, *cert)
    config = SmtpConfig(
        host="127.0.0.1",
        port=controller.port,
        sender="Good Shop <news@shop.example.com>",
        username=USERNAME,
        password=PASSWORD,
        ca_file=str(cert[0]),
        unsubscribe_mailto="unsubscribe@shop.example.com",
        timeout=2,
    )
    try:
        yield handler, config
    finally:
        controller.stop()


def email_message(
    message: MessageFactory, to: str = "ada@example.com", **extra: Any
) -> OutboundMessage:
    fields: dict[str, Any] = {
        "channel": "email",
        "subject": "Your welcome coupon",
        "body": "Hello Ada, here is 10% off.",
        "html": "<p>Hello Ada, here is <b>10%</b> off.</p>",
        "data": {"unsubscribe_url": UNSUBSCRIBE},
    }
    return message(to, **(fields | extra))


async def test_marketing_mail_is_multipart_with_one_click_unsubscribe(
    smtp: tuple[Handler, SmtpConfig], message: MessageFactory
) -> None:
    handler, config = smtp
    msg = email_message(message)
    result = await SmtpChannel(config).send(msg)

    assert result.accepted
    [received] = handler.messages
    assert handler.envelopes == [("news@shop.example.com", ["ada@example.com"])]
    assert received["Subject"] == "Your welcome coupon"
    assert received["Message-ID"] == message_id(msg.idempotency_key, "shop.example.com")
    assert result.provider_message_id == received["Message-ID"].strip("<>")
    assert received["List-Unsubscribe"] == (
        f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@shop.example.com?subject=unsubscribe>"
    )
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content_type() == "multipart/alternative"
    assert _part(received, "plain").strip() == "Hello Ada, here is 10% off."
    assert "<b>10%</b>" in _part(received, "html")


def _part(email: EmailMessage, subtype: str) -> str:
    body = email.get_body(preferencelist=(subtype,))
    assert body is not None and body.get_content_subtype() == subtype
    return str(body.get_content())


async def test_transactional_mail_has_no_unsubscribe_headers(
    smtp: tuple[Handler, SmtpConfig], message: MessageFactory
) -> None:
    handler, config = smtp
    result = await SmtpChannel(config).send(email_message(message, purpose="transactional"))
    assert result.accepted
    [received] = handler.messages
    assert "List-Unsubscribe" not in received
    assert "List-Unsubscribe-Post" not in received


async def test_same_key_gives_same_message_id(
    smtp: tuple[Handler, SmtpConfig], message: MessageFactory
) -> None:
    handler, config = smtp
    msg = email_message(message)
    channel = SmtpChannel(config)
    first, second = await channel.send(msg), await channel.send(msg)
    assert first.provider_message_id == second.provider_message_id
    assert len({m["Message-ID"] for m in handler.messages}) == 1


@pytest.mark.parametrize(
    ("to", "subject", "kind", "code"),
    [
        ("unknown@example.com", "hi", ErrorKind.PERMANENT, "550"),
        ("greylisted@example.com", "hi", ErrorKind.TRANSIENT, "451"),
        ("ada@example.com", "SPAMMY offer", ErrorKind.BAD_CONTENT, "554"),
    ],
)
async def test_smtp_replies_are_classified(
    smtp: tuple[Handler, SmtpConfig],
    message: MessageFactory,
    to: str,
    subject: str,
    kind: ErrorKind,
    code: str,
) -> None:
    handler, config = smtp
    result = await SmtpChannel(config).send(email_message(message, to, subject=subject))
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (kind, code)
    assert handler.messages == []


async def test_wrong_password_is_bad_config(
    smtp: tuple[Handler, SmtpConfig], message: MessageFactory
) -> None:
    _, config = smtp
    bad = replace(config, password="wrong")
    result = await SmtpChannel(bad).send(email_message(message))
    assert result.error is not None
    assert (result.error.kind, result.error.provider_code) == (ErrorKind.BAD_CONFIG, "535")


async def test_untrusted_certificate_is_bad_config(
    smtp: tuple[Handler, SmtpConfig], message: MessageFactory
) -> None:
    _, config = smtp
    untrusting = replace(config, ca_file=None)
    result = await SmtpChannel(untrusting).send(email_message(message))
    assert result.error is not None and result.error.kind is ErrorKind.BAD_CONFIG


async def test_no_server_is_transient(message: MessageFactory) -> None:
    config = SmtpConfig(
        host="127.0.0.1", port=free_port(), sender="news@shop.example.com", timeout=1
    )
    result = await SmtpChannel(config).send(email_message(message))
    assert result.error is not None and result.error.kind is ErrorKind.TRANSIENT
