from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from channels.base import ErrorKind
from channels.provider import CodeTable, ProviderClient, retry_after_seconds, status_failure


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, None), ({"Retry-After": "12"}, 12.0), ({"Retry-After": "soon"}, None)],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers)) == expected


def test_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(httpx.Headers({"Retry-After": when}))
    assert seconds is not None and 25 <= seconds <= 30


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, None), (400, None), (408, ErrorKind.TRANSIENT), (429, ErrorKind.RATE_LIMITED),
     (500, ErrorKind.TRANSIENT), (503, ErrorKind.TRANSIENT)],
)  # fmt: skip
def test_status_failure(status: int, kind: ErrorKind | None) -> None:
    result = status_failure(httpx.Response(status))
    assert (result.error.kind if result and result.error else None) == kind


def test_code_table_prefers_exact_codes_over_prefixes() -> None:
    table = CodeTable(
        exact={"Limit.Daily": ErrorKind.HALTED},
        prefixes={"Limit.": ErrorKind.RATE_LIMITED},
        retry_after={"Limit.Minute": 60.0},
    )
    assert table.kind("Limit.Daily") is ErrorKind.HALTED
    assert table.kind("Limit.Other") is ErrorKind.RATE_LIMITED
    assert table.kind("Unknown") is ErrorKind.PERMANENT
    failed = table.failed("Limit.Minute", "slow down")
    assert failed.error is not None and failed.error.retry_after == 60.0


async def test_bad_url_is_bad_config() -> None:
    http = ProviderClient("ftp://example.com", 1)
    result = await http.request("GET", "/")
    await http.aclose()
    assert not isinstance(result, httpx.Response)
    assert result.error is not None and result.error.kind is ErrorKind.BAD_CONFIG
