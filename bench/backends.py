"""The status query on SQLite (in-memory windows) against PostgreSQL + Redis, measured in turns.

Run it with ``.venv/bin/python -m bench.backends --database-url postgresql://.../name
--redis-url redis://.../N [--before REF] [--rounds 3] [--duration 8] [--output FILE]``.

Issue 14 asks PostgreSQL + Redis to serve at least 0.85 of what SQLite serves on one worker.
This starts one ``extapi serve`` of this working tree on SQLite with its windows in memory, one
on PostgreSQL with its windows in Redis, one on PostgreSQL with its windows in memory (what
Redis costs) and, with ``--before``, one of that git commit on PostgreSQL + Redis too. wrk (the
options of ``bench/run.py``) then runs against each in turn, round after round, so that
whatever else the machine does falls on every side alike. Around each measured run the
server's CPU time is read from ``/proc``: CPU per request is steadier than requests/s on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.compare import checkout
from bench.run import (
    GRAPHQL_PATH,
    STATUS_QUERY,
    Options,
    check_status,
    deliver,
    ensure_wrk,
    extapi_command,
    fetch_token,
    log,
    machine_facts,
    prepare_database,
    report_title,
    run_wrk,
    scratch_dir,
    seed,
    server,
)
from bench.scale import worker_pids
from bench.workers import processes_cpu


@dataclass(frozen=True)
class Side:
    label: str
    ref: str
    url: str
    token: str
    pids: list[int]


@dataclass(frozen=True)
class Run:
    rps: float
    cpu_us: float  # server CPU per request
    cores: float  # server CPU per second of the run


def parse_args(argv: list[str] | None = None) -> tuple[Options, str | None, int]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL (a scratch name)")
    parser.add_argument("--redis-url", required=True, help="Redis for the rate-limit windows")
    parser.add_argument("--before", default=None, help="also this git commit on PG + Redis")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--duration", type=int, default=8, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=16, help="open connections (wrk -c)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run")
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration < 1 or args.connections < 1 or args.warmup < 0:
        parser.error("--rounds, --duration, --connections must be >= 1 and --warmup >= 0")
    options = Options(
        args.duration,
        args.connections,
        args.database_url,
        1,
        args.warmup,
        args.output,
        args.redis_url,
    )
    return options, args.before, args.rounds


def start(
    stack: ExitStack,
    tmp: Path,
    label: str,
    ref: str | None,
    database_url: str | None,
    redis_url: str | None,
) -> tuple[Side, str]:
    name = label.replace(" ", "_").replace("+", "_")
    root, shown = stack.enter_context(checkout(ref, tmp, name))
    url, backend = prepare_database(database_url, tmp, name)
    env = {**os.environ, "EXTAPI_DATABASE_URL": url, "PYTHONPATH": str(root)}
    env.pop("EXTAPI_REDIS_URL", None)
    env.pop("EXTAPI_RATE_LIMIT_BACKEND", None)
    if redis_url:
        env["EXTAPI_REDIS_URL"] = redis_url
        env["EXTAPI_REDIS_PREFIX"] = f"extapi:backends:{os.getpid()}:{name}:"
    log(f"{label} ({shown}): seeding {backend}")
    creds = seed(env, root=root)
    base = stack.enter_context(server(extapi_command(1), env, tmp / f"{name}.log", root=root))
    token = fetch_token(base, creds)
    check_status(base + GRAPHQL_PATH, token)
    pids = worker_pids(int(base.rsplit(":", 1)[1]))
    return Side(label, shown, base + GRAPHQL_PATH, token, pids), backend


def measure(wrk: str, side: Side, options: Options) -> Run:
    env = {"BENCH_BODY": json.dumps(STATUS_QUERY), "BENCH_TOKEN": side.token}
    if options.warmup:
        run_wrk(wrk, "post_graphql.lua", side.url, env, options.connections, options.warmup)
    cpu, clock = processes_cpu(side.pids), time.monotonic()
    result = run_wrk(wrk, "post_graphql.lua", side.url, env, options.connections, options.duration)
    cpu, clock = processes_cpu(side.pids) - cpu, time.monotonic() - clock
    run = Run(result.rps, 1e6 * cpu / max(1.0, result.rps * options.duration), cpu / clock)
    log(f"{side.label}: {run.rps:,.0f} req/s, {run.cpu_us:.0f} µs of server CPU a request")
    return run


def backends(options: Options, before: str | None, rounds: int) -> str:
    wrk = ensure_wrk()
    url = make_url(options.database_url or "")
    pg = url.set(database=f"{url.database}_after").render_as_string(hide_password=False)
    sides: list[Side] = []
    with scratch_dir("extapi-backends-") as tmp, ExitStack() as stack:
        sides.append(start(stack, tmp, "SQLite", None, None, None)[0])
        side, backend = start(stack, tmp, "PostgreSQL + Redis", None, pg, options.redis_url)
        sides.append(side)
        memory = url.set(database=f"{url.database}_memory").render_as_string(hide_password=False)
        sides.append(start(stack, tmp, "PostgreSQL, windows in memory", None, memory, None)[0])
        if before is not None:
            old = url.set(database=f"{url.database}_before").render_as_string(hide_password=False)
            label = "PostgreSQL + Redis, before"
            sides.append(start(stack, tmp, label, before, old, options.redis_url)[0])
        runs: dict[str, list[Run]] = {s.label: [] for s in sides}
        for _ in range(rounds):
            for side in sides:
                runs[side.label].append(measure(wrk, side, options))
        facts = machine_facts(wrk, backend, options)
        load = os.getloadavg()
    title = report_title(backend).rsplit(",", 1)[0]
    lines = [f"### {title}: status query, SQLite against PostgreSQL + Redis", ""]
    lines += [f"- {name}: {value}" for name, value in facts if name != "Database"]
    lines += [f"- {s.label}: {s.ref}" for s in sides]
    lines += [f"- Load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"]
    lines += ["", "| Round | Side | Requests/s | Server CPU µs/request | Server cores |"]
    lines += ["|---:|---|---:|---:|---:|"]
    for index in range(rounds):
        for side in sides:
            r = runs[side.label][index]
            lines.append(
                f"| {index + 1} | {side.label} | {r.rps:,.0f} | {r.cpu_us:.0f} | {r.cores:.2f} |"
            )
    median = {s.label: statistics.median(r.rps for r in runs[s.label]) for s in sides}
    cpu = {s.label: statistics.median(r.cpu_us for r in runs[s.label]) for s in sides}
    lines.append("")
    for side in sides:
        ratio = median[side.label] / median["SQLite"]
        lines.append(
            f"- {side.label}: median **{median[side.label]:,.0f}** req/s "
            f"({cpu[side.label]:.0f} µs of server CPU a request), **{ratio:.2f}** of SQLite"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options, before, rounds = parse_args(argv)
    return deliver(lambda: backends(options, before, rounds), options.output)


if __name__ == "__main__":
    sys.exit(main())
