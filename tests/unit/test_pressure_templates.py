"""Templates are checked before publishing: errors block it, warnings are reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from engine.delivery.templating import check_template, sms_segment_length, with_opt_out_line
from engine.publishing import InvalidJourney, lint_journey, publish, save_draft
from engine.store.db import get_engine, init_db, session_scope
from engine.store.models import MessageTemplate
from journeys.model import Journey


def _codes(channel: str, body: str, subject: str | None = None, **kw: str) -> list[str]:
    return [f"{i.severity}:{i.code}" for i in check_template(channel, subject, body, **kw)]


def test_errors_are_syntax_unknown_variables_and_sandbox_escapes() -> None:
    assert _codes("sms", "{{ member.first_name }}好") == []
    assert _codes("sms", "{% if member %}hi") == ["error:syntax"]
    assert _codes("sms", "{{ member.nickname }}") == ["error:unknown_variable"]
    assert _codes("sms", "{{ coupon.code.__class__.__mro__ }}") == ["error:unsafe"]
    assert _codes("email", "ok", subject="{{ shop }}") == ["error:unknown_variable"]


def test_member_attributes_are_free_form() -> None:
    assert _codes("sms", "{{ member.attributes.city }}") == []


def test_sms_over_one_segment_counts_the_opt_out_line() -> None:
    body = "您" * 67  # 71 with the four-character line
    assert _codes("sms", body) == []
    assert _codes("sms", body, opt_out_line="回T退订") == ["warning:sms_multi_segment"]
    assert _codes("sms", "a" * 160) == []
    assert _codes("sms", "a" * 159 + "{") == ["warning:sms_multi_segment"]  # { takes two


def test_long_wechat_content_warns() -> None:
    assert _codes("wechat", "好" * 200) == []
    assert _codes("wechat", "好" * 201) == ["warning:wechat_too_long"]


def test_segment_length_depends_on_the_alphabet() -> None:
    assert sms_segment_length("Hello, reply STOP") == 160
    assert sms_segment_length("Hello 您好") == 70


def test_opt_out_line_is_added_once() -> None:
    assert with_opt_out_line("感谢购买。", "回T退订") == "感谢购买。回T退订"
    assert with_opt_out_line("Thanks! ", "Reply STOP") == "Thanks! Reply STOP"
    assert with_opt_out_line("感谢购买，回T退订", "回T退订") == "感谢购买，回T退订"
    assert with_opt_out_line("hi", "") == "hi"


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = get_engine(f"sqlite:///{tmp_path}/publish.db")
    init_db(engine)
    with session_scope(engine) as s:
        s.add(MessageTemplate(id="ok", channel="sms", body="{{ member.first_name }}"))
        s.add(MessageTemplate(id="escape", channel="sms", body="{{ ''.__class__ }}"))
        s.add(MessageTemplate(id="typo", channel="sms", body="{{ membr.first_name }}"))
        s.add(MessageTemplate(id="long", channel="sms", body="您" * 70))
        s.flush()
        yield s


def _journey(*templates: str) -> Journey:
    sends = [
        {"id": f"send_{t}", "kind": "send_message", "channel": "sms", "template": t}
        for t in templates
    ]
    nodes = [{"id": "start", "kind": "trigger_api"}, *sends, {"id": "done", "kind": "exit"}]
    ids = [n["id"] for n in nodes]
    return Journey.model_validate(
        {
            "id": "tpl",
            "name": "tpl",
            "nodes": nodes,
            "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)],
        }
    )


def test_broken_templates_block_publishing_naming_the_node(session: Session) -> None:
    save_draft(session, _journey("ok", "escape", "typo"))
    with pytest.raises(InvalidJourney) as caught:
        publish(session, "tpl")
    problems = [(p.node_id, p.code) for p in caught.value.problems]
    assert problems == [("send_escape", "template_error"), ("send_typo", "template_error")]
    assert "unsafe" in caught.value.problems[0].message


def test_warnings_do_not_block_publishing(session: Session) -> None:
    journey = _journey("ok", "long")
    save_draft(session, journey)
    assert publish(session, "tpl").version == 1
    assert [(p.node_id, p.code) for p in lint_journey(session, journey)] == [
        ("send_long", "sms_multi_segment")
    ]
