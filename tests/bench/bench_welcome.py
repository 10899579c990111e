"""``make bench``: members/s of the journey engine against a hand-written workflow.

One Temporal dev server (the venv's ``temporal`` binary, nothing downloaded) serves the
whole run. Each phase enters N fresh members into the welcome coupon pack:

* engine: ``registered`` events stored, then routed by ``engine.runtime.routing.RunDispatcher``; the
  worker is ``workers.worker.build_worker`` with the real Settings (pollers, cache);
* baseline: ``tests.bench.baseline.WelcomeBaselineWorkflow``, the same 4 coupons,
  5 messages and 5 waits as plain activities and timers, same worker settings.

Phases alternate (baseline, engine, ...) after a small warm-up of each, and the run
ends with a table and one JSON line. Waits are scaled so a day lasts ``--day`` seconds.

    python -m tests.bench.bench_welcome [--members 200] [--rounds 2] [--timings]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import resource
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from temporalio import activity, client
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from channels.base import Channel
from engine.config import Settings
from engine.publishing import publish, save_draft
from engine.runtime.ingest import IncomingEvent, MemberIn, store_event
from engine.runtime.routing import RunDispatcher
from engine.store.catalog import load_catalog_rows
from engine.store.db import get_engine, init_db, session_scope
from engine.store.models import Coupon, CouponTemplate, MessageLog, NodeEvent
from journeys.playbooks import load_catalog, load_playbook
from tests.bench.baseline import (
    BASELINE_WORKFLOW,
    BaselineActivities,
    BaselineInput,
    WelcomeBaselineWorkflow,
)
from tests.support import DEV_SERVER, fake_channels
from workers.worker import build_worker

JOURNEY = "welcome_coupon_pack"
COUPONS, MESSAGES, WAITS = 4, 5, 5
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_START_CONCURRENCY = 64  # the RunDispatcher's own fan-out limit, used for both sides


# ---------------------------------------------------------------- CPU readings


def find_server_pid() -> int:
    """The dev server is a child of this process running the venv's temporal binary."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and cmdline and cmdline[0].decode().endswith("temporal"):
            return int(entry.name)
    raise RuntimeError("no temporal dev server child process found")


def process_cpu_ms(pid: int) -> float:
    """utime + stime of a process from /proc/<pid>/stat, in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / _CLK_TCK


def self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


# ---------------------------------------------------------------- activity timings


class _Timings:
    def __init__(self) -> None:
        self.total: dict[str, float] = defaultdict(float)
        self.count: dict[str, int] = defaultdict(int)

    def reset(self) -> None:
        self.total.clear()
        self.count.clear()

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            name: {"n": self.count[name], "mean_ms": round(self.total[name] / self.count[name], 2)}
            for name in sorted(self.total)
        }


class _TimingActivity(ActivityInboundInterceptor):
    def __init__(self, nxt: ActivityInboundInterceptor, timings: _Timings) -> None:
        super().__init__(nxt)
        self._timings = timings

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        started = time.perf_counter()
        try:
            return await super().execute_activity(input)
        finally:
            name = activity.info().activity_type
            if activity.info().is_local:
                name += " (local)"
            self._timings.total[name] += (time.perf_counter() - started) * 1000
            self._timings.count[name] += 1


class TimingInterceptor(client.Interceptor, Interceptor):
    """Wall time of every activity by type (local ones included), for ``--timings``."""

    def __init__(self) -> None:
        self.timings = _Timings()

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _TimingActivity(next, self.timings)


# ---------------------------------------------------------------- phases


@dataclass
class PhaseResult:
    side: str
    members: int
    seconds: float
    start_seconds: float
    steps: int
    server_cpu_ms: float
    worker_cpu_ms: float
    coupons: int
    messages: int

    @property
    def members_per_s(self) -> float:
        return self.members / self.seconds

    @property
    def server_ms_per_step(self) -> float:
        return self.server_cpu_ms / max(self.steps, 1)

    @property
    def worker_ms_per_member(self) -> float:
        return self.worker_cpu_ms / self.members


@dataclass
class Bench:
    client: Client
    settings: Settings
    engine: Engine
    channels: dict[str, Channel]
    server_pid: int
    timing: TimingInterceptor | None
    profile: str | None
    phase_timeout: float = 600.0
    _phase: int = 0

    def members(self, side: str, n: int) -> list[tuple[int, int]]:
        """N new members, each with a stored ``registered`` event: (member id, event row)."""
        self._phase += 1
        rows: list[tuple[int, int]] = []
        with session_scope(self.engine) as session:
            for i in range(n):
                external = f"{side}-{self._phase}-{i:05d}"
                profile = MemberIn(
                    phone=f"139{self._phase:03d}{i:05d}",
                    email=f"{external}@example.com",
                    wechat_openid=f"openid-{external}",
                    first_name=f"M{i}",
                )
                incoming = IncomingEvent(
                    event_id=uuid.uuid4().hex, member=external, name="registered", profile=profile
                )
                event, _ = store_event(session, incoming)
                assert event.id is not None
                rows.append((event.member_id, event.id))
        return rows

    def worker(self, side: str, task_queue: str) -> AbstractAsyncContextManager[object]:
        """The engine's own worker (a Worker or a group of them), or the baseline's."""
        if side == "engine":
            return build_worker(self.client, self.settings, self.channels, task_queue=task_queue)
        s = self.settings
        restrictions = SandboxRestrictions.default.with_passthrough_modules("tests.bench")
        return Worker(
            self.client,
            task_queue=task_queue,
            workflows=[WelcomeBaselineWorkflow],
            activities=BaselineActivities(self.engine, self.channels).all(),
            workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
            max_cached_workflows=s.max_cached_workflows,
            max_concurrent_workflow_task_polls=s.workflow_pollers,
            max_concurrent_activity_task_polls=s.activity_pollers,
            max_concurrent_activities=s.max_concurrent_activities,
            max_concurrent_local_activities=s.max_concurrent_activities,
        )

    async def run(self, side: str, n: int) -> PhaseResult:
        rows = self.members(side, n)
        task_queue = f"bench-{side}-{self._phase}-{uuid.uuid4().hex[:6]}"
        worker = self.worker(side, task_queue)
        limit = asyncio.Semaphore(_START_CONCURRENCY)
        router = RunDispatcher(self.client, self.engine, task_queue, self.settings.time_scale)

        async def enter(member_id: int, event_row: int) -> str:
            async with limit:
                if side == "engine":
                    told = await router.route(event_row)
                    assert told == 1, f"event {event_row} reached {told} workflows"
                    return f"journey:{JOURNEY}:member:{member_id}:entry:1"
                workflow_id = f"bench:{task_queue}:member:{member_id}"
                await self.client.start_workflow(
                    BASELINE_WORKFLOW,
                    BaselineInput(member_id, JOURNEY, self.settings.time_scale),
                    id=workflow_id,
                    task_queue=task_queue,
                )
                return workflow_id

        async def finish(workflow_id: str) -> Any:
            return await self.client.get_workflow_handle(workflow_id).result()

        async with worker:
            if self.timing:
                self.timing.timings.reset()
            profiler = cProfile.Profile() if self.profile == side else None
            server_before, worker_before = process_cpu_ms(self.server_pid), self_cpu_ms()
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            ids = await asyncio.gather(*(enter(m, e) for m, e in rows))
            entered = time.perf_counter()
            results = await asyncio.wait_for(
                asyncio.gather(*(finish(w) for w in ids)), timeout=self.phase_timeout
            )
            seconds = time.perf_counter() - started
            if profiler:
                profiler.disable()
            server_cpu = process_cpu_ms(self.server_pid) - server_before
            worker_cpu = self_cpu_ms() - worker_before
        assert set(results) == {"completed"}, f"unexpected outcomes {set(results)}"
        if profiler:
            _print_profile(profiler, side)
        if self.timing:
            print(f"  activity wall time ({side}):", json.dumps(self.timing.timings.summary()))
        coupons, messages, entered_nodes = self._written(rows)
        steps = entered_nodes if side == "engine" else n * (COUPONS + MESSAGES + WAITS)
        return PhaseResult(
            side, n, seconds, entered - started, steps, server_cpu, worker_cpu, coupons, messages
        )

    def _written(self, rows: list[tuple[int, int]]) -> tuple[int, int, int]:
        low, high = min(m for m, _ in rows), max(m for m, _ in rows)
        with session_scope(self.engine) as session:

            def count(column: Any, *where: Any) -> int:
                return int(session.exec(select(func.count(column)).where(*where)).one())

            coupons = count(Coupon.id, col(Coupon.member_id).between(low, high))
            messages = count(
                MessageLog.id,
                col(MessageLog.member_id).between(low, high),
                MessageLog.status == "accepted",
            )
            nodes = count(
                NodeEvent.id,
                col(NodeEvent.member_id).between(low, high),
                NodeEvent.kind == "entered",
            )
        return coupons, messages, nodes


def _print_profile(profiler: cProfile.Profile, side: str) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    print(f"--- cProfile of the {side} phase (event-loop thread, by tottime) ---")
    print(out.getvalue())


# ---------------------------------------------------------------- set-up and report


def prepare_store(directory: Path, day_seconds: float) -> Settings:
    settings = Settings(
        database_url=f"sqlite:///{directory}/journey.db",
        time_scale=day_seconds / 86400,
    )
    engine = get_engine(settings.database_url)
    init_db(engine)
    with session_scope(engine) as session:
        load_catalog_rows(session, load_catalog())
        # Unlimited stock, so a long run never turns coupons into "out_of_stock" skips.
        session.execute(update(CouponTemplate).values(stock=None))
    playbook = load_playbook(JOURNEY)
    journey = playbook.model_copy(
        update={"settings": playbook.settings.model_copy(update={"holdout_percent": 0})}
    )
    with session_scope(engine) as session:
        save_draft(session, journey)
    with session_scope(engine) as session:
        publish(session, JOURNEY)
    return settings


def report(results: list[PhaseResult], args: argparse.Namespace) -> dict[str, Any]:
    print()
    print(
        f"{'phase':<10}{'members':>8}{'seconds':>9}{'enter s':>9}{'members/s':>11}"
        f"{'steps':>8}{'srv ms/step':>13}{'wrk ms/member':>15}{'coupons':>9}{'msgs':>7}"
    )
    for r in results:
        print(
            f"{r.side:<10}{r.members:>8}{r.seconds:>9.2f}{r.start_seconds:>9.2f}"
            f"{r.members_per_s:>11.1f}{r.steps:>8}{r.server_ms_per_step:>13.3f}"
            f"{r.worker_ms_per_member:>15.1f}{r.coupons:>9}{r.messages:>7}"
        )

    def mean(side: str, value: Callable[[PhaseResult], float]) -> float:
        picked = [value(r) for r in results if r.side == side]
        return sum(picked) / len(picked)

    engine_rate = mean("engine", lambda r: r.members_per_s)
    base_rate = mean("baseline", lambda r: r.members_per_s)
    figures: dict[str, Any] = {
        "members": args.members,
        "rounds": args.rounds,
        "day_seconds": args.day,
        "engine_members_per_s": round(engine_rate, 1),
        "baseline_members_per_s": round(base_rate, 1),
        "ratio": round(engine_rate / base_rate, 3),
        "engine_server_cpu_ms_per_step": round(mean("engine", lambda r: r.server_ms_per_step), 3),
        "baseline_server_cpu_ms_per_step": round(
            mean("baseline", lambda r: r.server_ms_per_step), 3
        ),
        "engine_worker_cpu_ms_per_member": round(
            mean("engine", lambda r: r.worker_ms_per_member), 1
        ),
        "baseline_worker_cpu_ms_per_member": round(
            mean("baseline", lambda r: r.worker_ms_per_member), 1
        ),
        "engine_steps_per_member": mean("engine", lambda r: r.steps / r.members),
        "baseline_steps_per_member": mean("baseline", lambda r: r.steps / r.members),
        "phases": [{**asdict(r), "members_per_s": round(r.members_per_s, 1)} for r in results],
    }
    print()
    print(
        f"engine {engine_rate:.1f} members/s, baseline {base_rate:.1f} members/s, "
        f"ratio engine/baseline {figures['ratio']:.3f} (target >= 1.0)"
    )
    print(json.dumps(figures))
    return figures


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=args.server_arg,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="bench-welcome-", dir=args.tmp_dir) as tmp:
            settings = prepare_store(Path(tmp), args.day)
            timing = TimingInterceptor() if args.timings else None
            bench_client = env.client
            if timing:
                config = env.client.config()
                config["interceptors"] = [timing]
                bench_client = Client(**config)
            bench = Bench(
                bench_client,
                settings,
                get_engine(settings.database_url),
                fake_channels(Path(tmp) / "outbox.db"),
                find_server_pid(),
                timing,
                args.profile,
                args.phase_timeout,
            )
            print(
                f"dev server pid {bench.server_pid}; {args.members} members x {args.rounds} "
                f"rounds per side; a day lasts {args.day} s"
            )
            results: list[PhaseResult] = []
            order = ["baseline", "engine"]
            for side in order:
                warm = await bench.run(side, args.warmup)
                print(f"  warm-up {side}: {warm.members_per_s:.1f} members/s")
            for round_no in range(args.rounds):
                for side in order if round_no % 2 == 0 else order[::-1]:
                    result = await bench.run(side, args.members)
                    print(
                        f"  round {round_no + 1} {side}: {result.members_per_s:.1f} members/s "
                        f"({result.seconds:.2f} s)"
                    )
                    results.append(result)
            return report(results, args)
    finally:
        await env.shutdown()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=200, help="members per phase")
    parser.add_argument("--rounds", type=int, default=2, help="phases per side")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up members per side")
    parser.add_argument(
        "--day", type=float, default=0.25, help="seconds a journey day lasts (default 0.25)"
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra dev server argument, repeatable (e.g. --server-arg=--dynamic-config-value "
        "--server-arg=matching.numTaskqueueReadPartitions=1)",
    )
    parser.add_argument(
        "--phase-timeout", type=float, default=600.0, help="give up on a phase after this"
    )
    parser.add_argument(
        "--tmp-dir",
        default="/dev/shm" if Path("/dev/shm").is_dir() else None,
        help="where the SQLite store and outbox live (default /dev/shm: no disk fsyncs)",
    )
    parser.add_argument(
        "--timings", action="store_true", help="print mean wall time per activity type"
    )
    parser.add_argument(
        "--profile",
        choices=["engine", "baseline"],
        help="cProfile the event-loop thread during that side's phases",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
