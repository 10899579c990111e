"""What every HTTP provider adapter shares, so the adapters differ only in protocol.

Two layers decide a failure: the HTTP status first (a 5xx or 429 means the same thing at
every provider, whatever the body says), then the provider's own error code, looked up in
a :class:`CodeTable`. Transport trouble never escapes as an exception: it becomes a
transient :class:`SendResult`, because the runtime retries those and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from channels.base import ErrorKind, SendResult

__all__ = [
    "CodeTable",
    "ProviderClient",
    "json_object",
    "retry_after_seconds",
    "status_failure",
    "unparseable",
]


@dataclass(frozen=True)
class CodeTable:
    """Maps a provider's error codes to error kinds.

    Exact codes win over prefixes, so a family such as Tencent's ``LimitExceeded.*`` can
    be mapped once while a single member of it is mapped differently. Unknown codes fall
    to ``default``: permanent for this recipient, so a code we have never seen skips one
    member instead of retrying forever or halting a whole channel.
    """

    exact: Mapping[str, ErrorKind]
    prefixes: Mapping[str, ErrorKind] = field(default_factory=dict)
    retry_after: Mapping[str, float] = field(default_factory=dict)
    """Back-off hints for rate-limit codes whose responses carry no Retry-After."""
    default: ErrorKind = ErrorKind.PERMANENT

    def kind(self, code: str) -> ErrorKind:
        if code in self.exact:
            return self.exact[code]
        for prefix, kind in self.prefixes.items():
            if code.startswith(prefix):
                return kind
        return self.default

    def failed(self, code: str, message: str, retry_after: float | None = None) -> SendResult:
        kind = self.kind(code)
        if kind is ErrorKind.RATE_LIMITED and retry_after is None:
            retry_after = self.retry_after.get(code)
        return SendResult.failed(kind, message, provider_code=code, retry_after=retry_after)


class ProviderClient:
    """An httpx client bound to one provider's base URL and timeout.

    It borrows an injected client (tests, connection sharing) or owns one it creates, and
    closes only what it owns.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._owned = client is None
        self._client = client or httpx.AsyncClient(transport=transport, timeout=timeout)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | SendResult:
        """Send a request; transport failures come back as a failed result, not raised."""
        try:
            return await self._client.request(
                method, self.base_url + path, timeout=self.timeout, **kwargs
            )
        except httpx.TimeoutException as exc:
            return SendResult.failed(ErrorKind.TRANSIENT, f"timed out: {exc!r}")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return SendResult.failed(ErrorKind.BAD_CONFIG, f"bad provider URL: {exc}")
        except httpx.TransportError as exc:
            return SendResult.failed(ErrorKind.TRANSIENT, f"network error: {exc!r}")

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def status_failure(response: httpx.Response) -> SendResult | None:
    """The failures the status line decides on its own, whatever the body claims."""
    status = response.status_code
    if status == 429:
        return SendResult.failed(
            ErrorKind.RATE_LIMITED,
            "HTTP 429 Too Many Requests",
            provider_code="429",
            retry_after=retry_after_seconds(response.headers),
        )
    if status >= 500 or status == 408:
        return SendResult.failed(
            ErrorKind.TRANSIENT, f"HTTP {status} from provider", provider_code=str(status)
        )
    return None


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def unparseable(response: httpx.Response) -> SendResult:
    """A body we cannot read: a 4xx means we are talking to the wrong thing (bad URL,
    proxy, credentials); otherwise assume a glitch that a retry may clear."""
    kind = ErrorKind.BAD_CONFIG if 400 <= response.status_code < 500 else ErrorKind.TRANSIENT
    return SendResult.failed(
        kind,
        f"unexpected response (HTTP {response.status_code})",
        provider_code=str(response.status_code),
    )
