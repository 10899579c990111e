from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from channels.base import Channel, ErrorKind
from channels.fake import FakeChannel, FakeOutbox
from tests.channels.conftest import MessageFactory


async def test_records_and_deduplicates_in_memory(message: MessageFactory) -> None:
    sms = FakeChannel("sms")
    assert isinstance(sms, Channel)
    msg = message(data={"template_id": "T1"})
    first, again = await sms.send(msg), await sms.send(msg)
    other = await sms.send(message())

    assert first.accepted and first.provider_message_id == again.provider_message_id
    assert other.provider_message_id != first.provider_message_id
    assert sms.calls == 3
    assert [(m["recipient"], m["data"]) for m in sms.delivered] == [
        (msg.to, {"template_id": "T1"}),
        ("+8613800000000", {}),
    ]
    await sms.aclose()


async def test_dedupes_across_instances_sharing_a_file(
    tmp_path: Path, message: MessageFactory
) -> None:
    path = tmp_path / "outbox.db"
    msg = message()
    before_crash = await FakeChannel("sms", path).send(msg)
    after_restart = await FakeChannel("sms", path).send(msg)

    assert before_crash.provider_message_id == after_restart.provider_message_id
    rows = FakeOutbox.read(path)
    assert [r["idempotency_key"] for r in rows] == [msg.idempotency_key]
    assert FakeChannel("sms", path).calls == 2
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_channels_sharing_a_file_keep_their_own_messages(
    tmp_path: Path, message: MessageFactory
) -> None:
    path = tmp_path / "outbox.db"
    sms, email = FakeChannel("sms", path), FakeChannel("email", path)
    await sms.send(message())
    await email.send(message("ada@example.com", channel="email"))
    assert [m["channel"] for m in FakeOutbox.read(path)] == ["sms", "email"]
    assert [m["recipient"] for m in email.delivered] == ["ada@example.com"]
    assert (sms.calls, email.calls) == (1, 1)


async def test_scripted_failures(message: MessageFactory) -> None:
    sms = FakeChannel("sms", fail_next={"+8613800000009": ErrorKind.RATE_LIMITED})
    limited = await sms.send(message("+8613800000009"))
    recovered = await sms.send(message("+8613800000009"))
    opted_out = await sms.send(message("optout-member-7"))
    bounced = await sms.send(message("bounce@example.com"))

    assert limited.error is not None and limited.error.kind is ErrorKind.RATE_LIMITED
    assert limited.error.retry_after == 1.0
    assert recovered.accepted
    assert opted_out.error is not None and opted_out.error.kind is ErrorKind.OPTED_OUT
    assert bounced.error is not None and bounced.error.kind is ErrorKind.PERMANENT
    assert sms.calls == 4
    assert [m["recipient"] for m in sms.delivered] == ["+8613800000009"]
    await sms.aclose()


async def test_prefix_rules_can_be_replaced(message: MessageFactory) -> None:
    sms = FakeChannel("sms", failure_prefixes={})
    assert (await sms.send(message("optout-member-7"))).accepted


KILLED_WORKER = """
import asyncio, os, signal, sys
from channels.base import OutboundMessage
from channels.fake import FakeChannel

message = OutboundMessage(channel="sms", to="+8613800000000", body="hi", idempotency_key="k-1")
asyncio.run(FakeChannel("sms", sys.argv[1]).send(message))
os.kill(os.getpid(), signal.SIGKILL)
"""


async def test_outbox_survives_a_killed_worker(tmp_path: Path, message: MessageFactory) -> None:
    path = tmp_path / "outbox.db"
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.run([sys.executable, "-c", KILLED_WORKER, str(path)], cwd=root, check=False)
    assert worker.returncode == -signal.SIGKILL

    replayed = await FakeChannel("sms", path).send(message(idempotency_key="k-1"))
    assert replayed.accepted
    assert [r["idempotency_key"] for r in FakeOutbox.read(path)] == ["k-1"]
    assert FakeChannel("sms", path).calls == 2
