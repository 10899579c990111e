"""Marketer-authored message templates, rendered in Jinja2's sandbox.

Templates come from people who are not developers and may be copied from anywhere:
the sandbox stops them reaching Python internals, and ``StrictUndefined`` turns a
misspelt variable into an error instead of a blank in a customer's SMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jinja2 import (
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "render_params",
    "DEFAULT_OPT_OUT_LINE",
    "TemplateIssue",
    "TemplateProblem",
    "check_template",
    "render",
    "sample_context",
    "sms_segment_length",
    "with_opt_out_line",
]

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)

DEFAULT_OPT_OUT_LINE = "回T退订"
"""Chinese carriers require marketing SMS to say how to unsubscribe."""

WECHAT_BODY_LIMIT = 200
WECHAT_KEYWORD_LIMIT = 20
"""WeChat cuts template keyword values (``thing`` fields) at 20 characters."""
"""WeChat truncates long template message content; keep it readable in the chat."""

# GSM 03.38: the basic set costs one septet, the extension set two (escape + char).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = "^{}\\[~]|€\f"


class TemplateProblem(ValueError):
    """A template that cannot render: bad syntax, unknown variable, or a sandbox escape."""


def render(source: str, context: Mapping[str, Any]) -> str:
    try:
        return _env.from_string(source).render(**context)
    except TemplateError as exc:
        raise TemplateProblem(str(exc)) from exc


def render_params(params: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """Provider template parameters (WeChat keywords, Aliyun / Tencent variables), each
    a small template of its own."""
    return {name: render(source, context) for name, source in params.items()}


def with_opt_out_line(body: str, line: str) -> str:
    """The body with the opt-out line at its end, unless it already says it somewhere."""
    if not line or line in body:
        return body
    body = body.rstrip()
    return f"{body} {line}" if body[-1:].isascii() else body + line


def sms_segment_length(body: str) -> int:
    """Characters one SMS segment holds for this body: 160 in the GSM alphabet, 70 as
    soon as one character is outside it (UCS-2, e.g. any Chinese character)."""
    return 160 if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body) else 70


def _sms_length(body: str) -> int:
    return sum(2 if c in _GSM_EXTENDED else 1 for c in body)


@dataclass(frozen=True)
class TemplateIssue:
    """An ``error`` stops a template from being sent at all; a ``warning`` sends but
    costs more or reads badly (several SMS segments, truncated WeChat content)."""

    severity: Literal["error", "warning"]
    code: str
    message: str


def _render_issue(source: str, context: Mapping[str, Any]) -> tuple[str, TemplateIssue | None]:
    try:
        return _env.from_string(source).render(**context), None
    except TemplateSyntaxError as exc:
        return "", TemplateIssue("error", "syntax", f"line {exc.lineno}: {exc.message}")
    except SecurityError as exc:
        return "", TemplateIssue("error", "unsafe", f"not allowed in templates: {exc}")
    except UndefinedError as exc:
        return "", TemplateIssue("error", "unknown_variable", f"{exc}")
    except TemplateError as exc:
        return "", TemplateIssue("error", "render_failed", str(exc))


def check_template(
    channel: str,
    subject: str | None,
    body: str,
    *,
    opt_out_line: str = "",
    params: Mapping[str, str] | None = None,
) -> list[TemplateIssue]:
    """Renders the template against :func:`sample_context` to find, before publishing,
    what would otherwise fail or misbehave for a waiting member. ``opt_out_line`` is
    what marketing SMS get appended, so the segment count matches what is sent."""
    context = sample_context()
    issues = []
    if subject:
        _, issue = _render_issue(subject, context)
        if issue is not None:
            issues.append(TemplateIssue(issue.severity, issue.code, "subject: " + issue.message))
    issues.extend(_param_issues(channel, params or {}, context))
    text, issue = _render_issue(body, context)
    if issue is not None:
        return [*issues, issue]
    if channel == "sms":
        text = with_opt_out_line(text, opt_out_line)
        limit = sms_segment_length(text)
        if (length := _sms_length(text)) > limit:
            issues.append(
                TemplateIssue(
                    "warning",
                    "sms_multi_segment",
                    f"about {length} characters with sample values: more than one SMS"
                    f" segment ({limit}), each billed separately",
                )
            )
    if channel == "wechat" and len(text) > WECHAT_BODY_LIMIT:
        issues.append(
            TemplateIssue(
                "warning",
                "wechat_too_long",
                f"about {len(text)} characters with sample values; WeChat shows"
                f" {WECHAT_BODY_LIMIT} at most",
            )
        )
    return issues


def _param_issues(
    channel: str, params: Mapping[str, str], context: Mapping[str, Any]
) -> list[TemplateIssue]:
    issues = []
    for name, source in params.items():
        value, issue = _render_issue(source, context)
        if issue is not None:
            issues.append(TemplateIssue(issue.severity, issue.code, f"{name}: {issue.message}"))
        elif channel == "wechat" and name.startswith("kw.") and len(value) > WECHAT_KEYWORD_LIMIT:
            issues.append(
                TemplateIssue(
                    "warning",
                    "wechat_keyword_too_long",
                    f"{name}: {len(value)} characters with sample values; WeChat cuts"
                    f" keyword values at {WECHAT_KEYWORD_LIMIT}",
                )
            )
    return issues


class _AnyAttributes(dict[str, Any]):
    """Member attributes are free-form, so any name renders in a check."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def sample_context() -> dict[str, Any]:
    """Variables every template may use, with plausible values, so a template can be
    checked when it is saved rather than when a member is waiting for it."""
    return {
        "member": {
            "external_id": "m-0001",
            "first_name": "小明",
            "phone": "13800000000",
            "email": "member@example.com",
            "attributes": _AnyAttributes(),
            "points": 0,
        },
        "coupon": {
            "code": "CPN-SAMPLE",
            "name": "新人券",
            "value": 10,
            "threshold": 0,
            "expires_at": "2026-01-01",
        },
        "journey": {"id": "sample", "name": "Sample"},
    }
