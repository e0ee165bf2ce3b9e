"""Worker scaling: ``extapi serve --workers 1`` against ``--workers 2`` in one run.

Run it with ``.venv/bin/python -m bench.workers [--database-url URL] [--redis-url URL]
[--users 10000] [--duration 10] [--connections 16] [--output FILE]``.

What it does:

1. makes a fresh PostgreSQL database (``extapi_workers`` on the local server by default,
   dropped and created again), seeds it through the real CLI (``bench/run.py``'s ``seed``:
   rate-limit budgets at their maximum) and loads ``--users`` people with five custom profile
   fields and job assignments (``bench/scale_data.py``);
2. for one worker and then two, starts ``extapi serve --workers N`` with its rate-limit windows
   in Redis (so that both workers share them, as they must), and drives two scenarios with
   ``wrk`` (one thread, as ``bench/run.py`` does), pinned with ``taskset`` to the last core:

   * **status**: ``query { totara_webapi_status { status } }``;
   * **users page**: ``core_user_users``, 100 users with five fields and their custom fields;

3. reads the CPU time of wrk (``getrusage`` of the reaped child), of every server process
   (``/proc/PID/stat``) and of the whole machine (``/proc/stat``) over each load run, so the
   report can say where the two cores went: to the server, to wrk, or to someone else.

The ceiling: the server can use at most the cores wrk and the other processes leave it; the
report gives each share, and the server's CPU per request, from which the ceiling on an
otherwise idle machine follows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.people import cpu_seconds, socket_owners
from bench.run import (
    GRAPHQL_PATH,
    STATUS_QUERY,
    BenchError,
    WrkResult,
    check_status,
    deliver,
    ensure_wrk,
    extapi_command,
    fetch_token,
    fmt_us,
    host_facts,
    log,
    reset_postgres,
    run_wrk,
    scratch_dir,
    seed,
    server,
    wrk_version,
)
from bench.scale import load_average, worker_pids
from bench.scale_data import load
from extapi.db.engine import make_engine

USERS_PAGE = {
    "query": "{ core_user_users(query: {pagination: {limit: 100}}) { items { id username "
    "firstname lastname email custom_fields { shortname data } } next_cursor } }"
}


@dataclass(frozen=True)
class Options:
    database_url: str
    redis_url: str
    users: int
    duration: int
    connections: int
    warmup: int
    output: Path | None


@dataclass(frozen=True)
class Measured:
    workers: int
    scenario: str
    result: WrkResult
    seconds: float
    wrk_cpu: float
    server_cpu: float
    machine_busy: float

    @property
    def other_cpu(self) -> float:
        return max(0.0, self.machine_busy - self.wrk_cpu - self.server_cpu)

    def cores(self, cpu: float) -> float:
        return cpu / self.seconds

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_cpu / self.result.requests


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/extapi_workers"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=16, help="open connections (wrk -c)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run")
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    args = parser.parse_args(argv)
    if args.users < 1000 or args.duration < 1 or args.connections < 1 or args.warmup < 0:
        parser.error("--users >= 1000, --duration and --connections >= 1, --warmup >= 0")
    return Options(
        args.database_url,
        args.redis_url,
        args.users,
        args.duration,
        args.connections,
        args.warmup,
        args.output,
    )


# --- CPU accounting -------------------------------------------------------------------------
def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent not idle (nor waiting on I/O) since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def processes_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
    return total


def pinned() -> list[str]:
    """``taskset -c LAST`` when there are two cores or more and taskset exists."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cores[-1])]


def timed_wrk(
    wrk: str, url: str, env: Mapping[str, str], options: Options, seconds: int
) -> tuple[WrkResult, float, float]:
    """One wrk run: its result, wrk's own CPU seconds and the wall time."""
    before = children_cpu()
    started = time.perf_counter()
    result = run_wrk(
        wrk, "post_graphql.lua", url, env, options.connections, seconds, prefix=pinned()
    )
    return result, children_cpu() - before, time.perf_counter() - started


def measure(
    wrk: str, base: str, pids: list[int], body: str, token: str, options: Options
) -> tuple[WrkResult, float, float, float, float]:
    env = {"BENCH_BODY": body, "BENCH_TOKEN": token}
    url = base + GRAPHQL_PATH
    if options.warmup:
        timed_wrk(wrk, url, env, options, options.warmup)
    server_before, machine_before = processes_cpu(pids), machine_busy_seconds()
    result, wrk_cpu, wall = timed_wrk(wrk, url, env, options, options.duration)
    server_cpu = processes_cpu(pids) - server_before
    machine = machine_busy_seconds() - machine_before
    return result, wall, wrk_cpu, server_cpu, machine


# --- run ------------------------------------------------------------------------------------
def bench(options: Options) -> str:
    wrk = ensure_wrk()
    started_load = load_average()
    backend = reset_postgres(options.database_url)
    env = {
        **os.environ,
        "EXTAPI_DATABASE_URL": options.database_url,
        "EXTAPI_REDIS_URL": options.redis_url,
        "EXTAPI_RATE_LIMIT_BACKEND": "redis",
        "EXTAPI_REDIS_PREFIX": f"extapi:workers:{os.getpid()}:",
    }
    log(f"seeding {backend} and loading {options.users:,} people")
    creds = seed(env)
    engine = make_engine(options.database_url)
    try:
        load(engine, options.users, log)
    finally:
        engine.dispose()
    scenarios = {
        "status": json.dumps(STATUS_QUERY),
        "users page": json.dumps(USERS_PAGE),
    }
    runs: list[Measured] = []
    with scratch_dir("extapi-workers-") as tmp:
        for workers in (1, 2):
            with server(extapi_command(workers), env, tmp / f"extapi-{workers}.log") as base:
                port = int(base.rsplit(":", 1)[1])
                pids = worker_pids(port)
                if len(pids) != workers:
                    raise BenchError(f"expected {workers} worker processes, found {pids}")
                # the supervisor's CPU counts too (it should be near zero)
                every = sorted(set(pids) | set(socket_owners(port)))
                token = fetch_token(base, creds)
                check_status(base + GRAPHQL_PATH, token)
                for name, body in scenarios.items():
                    log(f"{workers} worker(s): {name}")
                    result, wall, wrk_cpu, server_cpu, machine = measure(
                        wrk, base, every, body, token, options
                    )
                    runs.append(Measured(workers, name, result, wall, wrk_cpu, server_cpu, machine))
                    log(
                        f"  {result.rps:,.0f} req/s; CPU cores: server {server_cpu / wall:.2f}, "
                        f"wrk {wrk_cpu / wall:.2f}, machine {machine / wall:.2f}"
                    )
    return render(options, wrk, backend, runs, started_load)


# --- report ---------------------------------------------------------------------------------
def render(
    options: Options, wrk: str, backend: str, runs: list[Measured], started_load: str
) -> str:
    cores = len(os.sched_getaffinity(0))
    pin = " ".join(pinned()) or "not pinned"
    lines = [
        f"### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, PostgreSQL + Redis: "
        "one worker against two",
        "",
        *(f"- {name}: {value}" for name, value in host_facts()),
        f"- Load generator: {wrk_version(wrk)}, -t1 -c{options.connections}, {pin}",
        f"- Database: {backend}, {options.users:,} people with 5 custom fields; rate limits on, "
        "windows in Redis, budgets at their maximum",
        f"- Duration: {options.duration} s per run after a {options.warmup} s warm-up",
        f"- Load average: {started_load} at the start, {load_average()} at the end (shared "
        "machine)",
        "",
        "| Workers | Scenario | Requests/s | p50 | p99 | Server cores | wrk cores "
        "| Other cores (PostgreSQL, Redis, everyone else) | Machine busy | Server CPU ms/request |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r.workers} | {r.scenario} | {r.result.rps:,.0f} | {fmt_us(r.result.p50_us)} "
            f"| {fmt_us(r.result.p99_us)} | {r.cores(r.server_cpu):.2f} "
            f"| {r.cores(r.wrk_cpu):.2f} | {r.cores(r.other_cpu):.2f} "
            f"| {r.cores(r.machine_busy):.2f} of {cores} | {r.server_ms_per_request:.2f} |"
        )
    lines.append("")
    for scenario in dict.fromkeys(r.scenario for r in runs):
        one = next(r for r in runs if r.scenario == scenario and r.workers == 1)
        two = next(r for r in runs if r.scenario == scenario and r.workers == 2)
        per_request = two.server_cpu / two.result.requests
        idle_ceiling = (cores - two.cores(two.wrk_cpu)) / per_request
        lines.append(
            f"- {scenario}: two workers / one = **{two.result.rps / one.result.rps:.2f}x**. "
            f"The machine was {two.cores(two.machine_busy):.2f} of {cores} cores busy: wrk "
            f"took {two.cores(two.wrk_cpu):.2f}, every other process (the database, Redis and "
            f"whatever else runs on the machine) {two.cores(two.other_cpu):.2f}, and the "
            f"server got {two.cores(two.server_cpu):.2f} (one worker got "
            f"{one.cores(one.server_cpu):.2f}). At {1000 * per_request:.2f} ms of server CPU "
            f"per request, the cores wrk leaves on an otherwise idle machine "
            f"({cores - two.cores(two.wrk_cpu):.2f}) would cap the server at about "
            f"{idle_ceiling:,.0f} requests/s, less what the database and Redis need."
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return deliver(lambda: bench(options), options.output)


if __name__ == "__main__":
    sys.exit(main())
