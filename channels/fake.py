"""A stand-in provider for tests and demos that behaves like a real one where it matters.

It accepts a send once per idempotency key (a repeat gets the first provider message id
back and is counted in ``calls`` but not delivered again), and its outbox lives in a
SQLite file so it survives a worker process being killed mid-journey: that is how tests
prove a replayed activity does not send twice. With ``path=None`` it lives in memory.

Failures are scripted by recipient: ``fail_next`` fails one send to a recipient, and
``failure_prefixes`` fails every send to recipients starting with a prefix (by default
``optout...`` is opted out, ``bounce...`` permanent, ``badcontent...`` rejected content,
``flaky...`` transient), so engine tests can exercise every skip reason.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from channels.base import ErrorKind, OutboundMessage, SendResult

__all__ = ["DEFAULT_FAILURE_PREFIXES", "FakeChannel", "FakeOutbox"]

DEFAULT_FAILURE_PREFIXES: Mapping[str, ErrorKind] = {
    "optout": ErrorKind.OPTED_OUT,
    "bounce": ErrorKind.PERMANENT,
    "badcontent": ErrorKind.BAD_CONTENT,
    "flaky": ErrorKind.TRANSIENT,
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    provider_message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    html TEXT,
    purpose TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (channel, idempotency_key)
);
CREATE TABLE IF NOT EXISTS calls (channel TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""


class FakeOutbox:
    """The SQLite store; one short connection per operation, so nothing is left half
    written in a killed process and several processes can share the file."""

    def __init__(self, path: str | Path | None) -> None:
        self._path = str(path) if path is not None else None
        # An in-memory database vanishes with its last connection, so keep one open.
        self._memory = (
            sqlite3.connect(":memory:", check_same_thread=False) if self._path is None else None
        )
        with self._connect() as db:
            if self._path is not None:
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if self._memory is not None:
            with self._memory:
                yield self._memory
            return
        assert self._path is not None
        with closing(sqlite3.connect(self._path, timeout=10)) as db, db:
            yield db

    @staticmethod
    def _count(db: sqlite3.Connection, channel: str) -> None:
        db.execute(
            "INSERT INTO calls VALUES (?, 1) ON CONFLICT (channel) DO UPDATE SET count = count + 1",
            (channel,),
        )

    def refuse(self, channel: str) -> None:
        """Count a call that the fake provider refused."""
        with self._connect() as db:
            self._count(db, channel)

    def accept(self, channel: str, message: OutboundMessage) -> str:
        """Count the call and store the message unless its key was seen before; returns
        the provider message id the key was first stored under."""
        with self._connect() as db:
            self._count(db, channel)
            db.execute(
                "INSERT OR IGNORE INTO outbox (channel, idempotency_key, provider_message_id,"
                " recipient, subject, body, html, purpose, data)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    channel,
                    message.idempotency_key,
                    f"fake-{uuid.uuid4().hex[:16]}",
                    message.to,
                    message.subject,
                    message.body,
                    message.html,
                    message.purpose,
                    json.dumps(message.data, sort_keys=True),
                ),
            )
            (provider_message_id,) = db.execute(
                "SELECT provider_message_id FROM outbox WHERE channel = ? AND idempotency_key = ?",
                (channel, message.idempotency_key),
            ).fetchone()
        return str(provider_message_id)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._connect() as db:
            cursor = db.execute(
                "SELECT * FROM outbox WHERE ? IS NULL OR channel = ? ORDER BY seq",
                (channel, channel),
            )
            columns = [c[0] for c in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return [{**row, "data": json.loads(row["data"])} for row in rows]

    def calls(self, channel: str | None = None) -> int:
        with self._connect() as db:
            (count,) = db.execute(
                "SELECT COALESCE(SUM(count), 0) FROM calls WHERE ? IS NULL OR channel = ?",
                (channel, channel),
            ).fetchone()
        return int(count)

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()

    @staticmethod
    def read(path: str | Path) -> list[dict[str, Any]]:
        """Every accepted message in a file, in acceptance order, for assertions."""
        return FakeOutbox(path).messages()


class FakeChannel:
    def __init__(
        self,
        name: str,
        path: str | Path | None = None,
        *,
        fail_next: dict[str, ErrorKind] | None = None,
        failure_prefixes: Mapping[str, ErrorKind] = DEFAULT_FAILURE_PREFIXES,
    ) -> None:
        self.name = name
        self.outbox = FakeOutbox(path)
        self.fail_next: dict[str, ErrorKind] = dict(fail_next or {})
        self.failure_prefixes = dict(failure_prefixes)

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return self.outbox.messages(self.name)

    @property
    def calls(self) -> int:
        return self.outbox.calls(self.name)

    async def aclose(self) -> None:
        self.outbox.close()

    def _failure(self, recipient: str) -> ErrorKind | None:
        if recipient in self.fail_next:
            return self.fail_next.pop(recipient)
        return next(
            (
                kind
                for prefix, kind in self.failure_prefixes.items()
                if recipient.startswith(prefix)
            ),
            None,
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        kind = self._failure(message.to)
        if kind is None:
            # SQLite blocks; off the event loop it stalls no other workflow or activity.
            return SendResult.ok(await asyncio.to_thread(self.outbox.accept, self.name, message))
        await asyncio.to_thread(self.outbox.refuse, self.name)
        return SendResult.failed(
            kind,
            f"fake {self.name} failure for {message.to}",
            provider_code=f"fake.{kind}",
            retry_after=1.0 if kind is ErrorKind.RATE_LIMITED else None,
        )
