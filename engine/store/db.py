"""Database engine and sessions. SQLite gets WAL and a busy timeout so the web app
and the worker can write to one file at the same time; PostgreSQL needs nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from engine.store import models as _models  # noqa: F401  (registers the tables)

__all__ = ["get_engine", "init_db", "make_engine", "session_scope"]


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache
def get_engine(url: str) -> Engine:
    """One engine (and pool) per URL per process."""
    return make_engine(url)


def init_db(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


_sqlite_writers: dict[int, threading.RLock] = {}


def _writer_lock(engine: Engine) -> AbstractContextManager[object]:
    """SQLite takes one writer at a time and makes the others sleep and retry; queueing
    this process's units of work on a lock instead keeps latency flat under load."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _sqlite_writers.setdefault(id(engine), threading.RLock())


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: committed when the block ends, rolled back if it raises."""
    with _writer_lock(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
