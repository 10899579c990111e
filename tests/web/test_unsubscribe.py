"""The unsubscribe link in marketing email: a page to confirm, a POST (also the RFC 8058
one-click target) that records the opt-out, and nothing at all for a forged token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from engine.config import Settings
from engine.delivery.consent import is_opted_out
from engine.delivery.unsubscribe import UnsubscribeLinks
from engine.store.db import session_scope
from engine.store.models import Consent, MessageTemplate
from tests.support import Harness
from tests.workflows.helpers import exit_, journey, send, trigger
from web.app import create_app

SECRET = "unsubscribe-test-secret"
LINKS = UnsubscribeLinks(SECRET.encode(), "https://crm.example.com")


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://test"
    )


@pytest.fixture
async def web(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(harness.settings.model_copy(update={"secret_key": SECRET})) as client:
        yield client


def _consents(harness: Harness) -> list[tuple[int, str, str, bool, str]]:
    with session_scope(harness.engine) as session:
        rows = session.exec(select(Consent)).all()
    return [(c.member_id, c.channel, c.purpose, c.opted_out, c.source) for c in rows]


def _path(token: str) -> str:
    return f"/unsubscribe/{token}"


async def test_link_shows_a_page_and_the_post_unsubscribes(
    web: httpx.AsyncClient, harness: Harness
) -> None:
    member = harness.member("m-0001")
    path = _path(LINKS.token(member, "email"))

    page = await web.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "确定不再接收邮件营销消息吗" in page.text
    assert "Stop receiving marketing messages by email?" in page.text
    assert '<form method="post">' in page.text
    assert _consents(harness) == []  # link scanners fetch pages: a GET records nothing

    for _ in range(2):  # a second click adds no second row
        done = await web.post(path)
        assert done.status_code == 200
        assert "已退订" in done.text and "Unsubscribed" in done.text
    assert _consents(harness) == [(member, "email", "marketing", True, "unsubscribe_link")]
    with session_scope(harness.engine) as session:
        assert is_opted_out(session, member, "email", "marketing")
        assert not is_opted_out(session, member, "email", "transactional")
        assert not is_opted_out(session, member, "sms", "marketing")


async def test_one_click_post_needs_no_csrf_token(web: httpx.AsyncClient, harness: Harness) -> None:
    member = harness.member("m-0001")
    response = await web.post(
        _path(LINKS.token(member, "email")), data={"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert _consents(harness) == [(member, "email", "marketing", True, "unsubscribe_link")]


async def test_tampered_tokens_change_nothing(web: httpx.AsyncClient, harness: Harness) -> None:
    member = harness.member("m-0001")
    other = harness.member("m-0002")
    token = LINKS.token(member, "email")
    payload, _, signature = token.rpartition(".")
    forged = [
        f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        token.replace(f"{member}.", f"{other}.", 1),  # someone else's member id
        token.replace(".email.", ".sms.", 1),
        UnsubscribeLinks(b"another key").token(member, "email"),
        LINKS.token(999, "email"),  # genuine, but nobody is member 999
        "garbage",
    ]
    for bad in forged:
        for method in ("GET", "POST"):
            response = await web.request(method, _path(bad), data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 404, (method, bad)
            assert "链接无效" in response.text
    assert _consents(harness) == []


async def test_marketing_email_carries_a_working_link(harness: Harness) -> None:
    """The worker signs with this process's settings, and the app verifies the link."""
    member = harness.member("m-0001")
    with session_scope(harness.engine) as session:
        session.add(MessageTemplate(id="news_email", channel="email", subject="News", body="Hi"))
    harness.publish(
        journey(
            "news",
            [
                trigger(),
                send("marketing", "news_email", "email"),
                {**send("receipt", "news_email", "email"), "purpose": "transactional"},
                exit_(),
            ],
        )
    )
    await harness.event("m-0001", "registered")
    assert await harness.result("news", member) == "completed"
    marketing, transactional = harness.delivered("email")
    assert "unsubscribe_url" not in transactional["data"]
    url = httpx.URL(marketing["data"]["unsubscribe_url"])
    assert url.path.startswith("/unsubscribe/")

    async with _client(harness.settings) as client:
        assert (await client.get(url.path)).status_code == 200
        assert (await client.post(url.path)).status_code == 200
    assert _consents(harness) == [(member, "email", "marketing", True, "unsubscribe_link")]
