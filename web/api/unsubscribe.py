"""The unsubscribe page behind the link in marketing email (``engine.delivery.unsubscribe``).

``GET`` only shows a confirmation: mail scanners and link previews fetch URLs, and a
fetch must not unsubscribe anyone. ``POST`` records the opt-out.

The ``POST`` is also the RFC 8058 one-click target (``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``): the mailbox provider posts ``List-Unsubscribe=One-Click``
with no cookie and no CSRF token, so none is asked for. The signed token in the URL is
the protection: only whoever received the link can forge the request, and all it can do
is unsubscribe that one member from that one channel and purpose.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from engine.delivery.consent import record_consent
from engine.delivery.unsubscribe import Target, UnsubscribeLinks
from engine.store.models import Member
from web.deps import SessionDep

__all__ = ["router"]

router = APIRouter(tags=["unsubscribe"], include_in_schema=False)

_PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>退订 / Unsubscribe</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
button{font-size:1rem;padding:.5rem 1.5rem}</style></head>
<body>
{% if state == "confirm" %}
<h1>退订 / Unsubscribe</h1>
<p>确定不再接收{{ names[0] }}营销消息吗？</p>
<p>Stop receiving marketing messages by {{ names[1] }}?</p>
<form method="post"><button type="submit">确认退订 / Unsubscribe</button></form>
{% elif state == "done" %}
<h1>已退订 / Unsubscribed</h1>
<p>您将不再收到{{ names[0] }}营销消息。</p>
<p>You will no longer receive marketing messages by {{ names[1] }}.</p>
{% else %}
<h1>链接无效 / Link not valid</h1>
<p>此退订链接无效或已过期。</p>
<p>This unsubscribe link is not valid.</p>
{% endif %}
</body></html>"""
)

_NAMES = {"email": ("邮件", "email"), "sms": ("短信", "SMS"), "wechat": ("微信", "WeChat")}


def _links(request: Request) -> UnsubscribeLinks:
    return cast(UnsubscribeLinks, request.app.state.unsubscribe_links)


LinksDep = Annotated[UnsubscribeLinks, Depends(_links)]


def _target(token: str, session: SessionDep, links: LinksDep) -> Target | None:
    """A genuine token for a member who still exists, else ``None`` (the 404 page)."""
    target = links.read(token)
    if target is None or session.get(Member, target.member_id) is None:
        return None
    return target


TargetDep = Annotated[Target | None, Depends(_target)]


def _page(state: str, target: Target | None) -> HTMLResponse:
    names = _NAMES.get(target.channel, ("", "")) if target else ("", "")
    code = status.HTTP_404_NOT_FOUND if target is None else status.HTTP_200_OK
    return HTMLResponse(_PAGE.render(state=state, names=names), status_code=code)


@router.get("/unsubscribe/{token}")
def confirm(target: TargetDep) -> HTMLResponse:
    return _page("confirm" if target else "invalid", target)


@router.post("/unsubscribe/{token}")
async def unsubscribe(target: TargetDep, session: SessionDep) -> HTMLResponse:
    """Accepts any body (the page's empty form, or ``List-Unsubscribe=One-Click``)."""
    if target is None:
        return _page("invalid", None)
    await run_in_threadpool(_record, session, target)
    return _page("done", target)


def _record(session: Session, target: Target) -> None:
    record_consent(
        session, target.member_id, target.channel, "unsubscribe_link", purpose=target.purpose
    )
    session.commit()
