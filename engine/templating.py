"""Marketer-authored message templates, rendered in Jinja2's sandbox.

Templates come from people who are not developers and may be copied from anywhere:
the sandbox stops them reaching Python internals, and ``StrictUndefined`` turns a
misspelt variable into an error instead of a blank in a customer's SMS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["TemplateProblem", "render", "sample_context"]

_env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


class TemplateProblem(ValueError):
    """A template that cannot render: bad syntax, unknown variable, or a sandbox escape."""


def render(source: str, context: Mapping[str, Any]) -> str:
    try:
        return _env.from_string(source).render(**context)
    except TemplateError as exc:
        raise TemplateProblem(str(exc)) from exc


def sample_context() -> dict[str, Any]:
    """Variables every template may use, with plausible values, so a template can be
    checked when it is saved rather than when a member is waiting for it."""
    return {
        "member": {
            "external_id": "m-0001",
            "first_name": "小明",
            "phone": "13800000000",
            "email": "member@example.com",
            "attributes": {},
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
