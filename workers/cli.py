"""The `journey` command: run the product (all of it, or one process), validate journey
files, and load demo data."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from engine.config import Settings, get_settings
from engine.demo import demo_events, load_demo
from engine.store.db import get_engine, init_db
from journeys.validate import validate_json

__all__ = ["main"]

_BIN = Path(sys.executable).parent


def _wait_for_port(host: str, port: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on {host}:{port} after {seconds:.0f}s")


def cmd_validate(args: argparse.Namespace) -> int:
    """Exit status 1 and one line per problem when a journey file is invalid."""
    status = 0
    for path in args.files:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"{path}: cannot read JSON: {exc}")
            status = 1
            continue
        _, problems = validate_json(data)
        for p in problems:
            print(f"{path}: {p.node_id or '(journey)'}: {p.code}: {p.message}")
        if problems:
            status = 1
        else:
            print(f"{path}: valid")
    return status


async def _route_demo(settings: Settings, members: int) -> int:
    from engine.runtime.routing import RunDispatcher
    from workers.worker import connect

    engine = get_engine(settings.database_url)
    router = RunDispatcher(
        await connect(settings), engine, settings.task_queue, settings.time_scale
    )
    results = await router.route_many(demo_events(engine, members))
    for outcome in results.values():
        if isinstance(outcome, Exception):
            raise outcome
    return sum(n for n in results.values() if isinstance(n, int))


def cmd_demo(args: argparse.Namespace) -> int:
    settings = get_settings()
    engine = get_engine(settings.database_url)
    init_db(engine)
    published = load_demo(engine)
    print(f"published playbooks: {', '.join(published) or 'none new'}")
    if args.members:
        told = asyncio.run(_route_demo(settings, args.members))
        print(f"demo members: {args.members}, workflows started or signalled: {told}")
    return 0


async def _run_worker(settings: Settings) -> None:
    from channels.registry import build_channels, close_channels
    from workers.worker import build_worker, connect

    channels = build_channels(os.environ)
    worker = build_worker(await connect(settings), settings, channels)
    try:
        await worker.run()
    finally:
        await close_channels(channels)


def cmd_worker(_: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        asyncio.run(_run_worker(settings))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run("web.app:create_app", factory=True, host=args.host, port=args.port)
    return 0


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Children get their own process group, so Ctrl-C reaches them only through us and
    they are stopped in order."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def cmd_up(args: argparse.Namespace) -> int:
    var = Path("var")
    var.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("JOURNEY_API_KEYS", secrets.token_urlsafe(18))
    # One key for the worker (which signs unsubscribe links) and the web app (which checks them).
    env.setdefault("JOURNEY_SECRET_KEY", secrets.token_urlsafe(32))
    env.setdefault("JOURNEY_FAKE_OUTBOX", str(var / "outbox.db"))
    if args.time_scale:
        env["JOURNEY_TIME_SCALE"] = str(args.time_scale)
    os.environ.update(env)
    get_settings.cache_clear()
    settings = get_settings()
    host, port = settings.temporal_address.rsplit(":", 1)
    children: list[subprocess.Popen[bytes]] = []
    # A service manager or `timeout` stops us with SIGTERM: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if not args.no_temporal:
        children.append(
            _spawn(
                [
                    str(_BIN / "temporal"),
                    "server",
                    "start-dev",
                    "--ip",
                    host,
                    "--port",
                    port,
                    "--ui-port",
                    str(int(port) + 1000),
                    "--ui-disable-news-fetch",
                    "--db-filename",
                    str(var / "temporal.db"),
                    "--sqlite-pragma",
                    "journal_mode=wal",
                    "--sqlite-pragma",
                    "synchronous=normal",
                    "--log-level",
                    "warn",
                ],
                env,
                var / "temporal.log",
            )
        )
    try:
        _wait_for_port(host, int(port), 60)
        journey = [str(_BIN / "journey")]
        children.append(_spawn([*journey, "worker"], env, var / "worker.log"))
        children.append(_spawn([*journey, "web", "--port", str(args.port)], env, var / "web.log"))
        _wait_for_port("127.0.0.1", args.port, 60)
        cmd_demo(argparse.Namespace(members=args.demo_members))
        print(
            "\nJourney Engine is running.\n"
            f"  API docs      http://127.0.0.1:{args.port}/docs\n"
            f"  Temporal UI   http://{host}:{int(port) + 1000}\n"
            f"  API key       {env['JOURNEY_API_KEYS'].split(',')[0]}   (header X-API-Key)\n"
            f"  store         {settings.database_url}\n"
            f"  logs          {var}/temporal.log, worker.log, web.log\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("a process stopped; see the logs in var/", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...")
        return 0
    finally:
        for child in reversed(children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in reversed(children):
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="journey", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="Temporal dev server, worker, web API and demo data")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--demo-members", type=int, default=40)
    up.add_argument("--time-scale", type=float, default=None, help="e.g. 0.0001: a day in 9 s")
    up.add_argument("--no-temporal", action="store_true", help="use TEMPORAL_ADDRESS as is")
    up.set_defaults(func=cmd_up)
    sub.add_parser("worker", help="run the Temporal worker").set_defaults(func=cmd_worker)
    web = sub.add_parser("web", help="run the web API")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.set_defaults(func=cmd_web)
    val = sub.add_parser("validate", help="validate journey JSON files")
    val.add_argument("files", nargs="+")
    val.set_defaults(func=cmd_validate)
    demo = sub.add_parser("demo", help="load the catalog, playbooks and demo members")
    demo.add_argument("--members", type=int, default=0, help="also enter N demo members")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    status: int = args.func(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
