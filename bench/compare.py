"""Before/after benchmark of the status query: two versions of extapi measured in one run.

Run it with ``.venv/bin/python -m bench.compare --before REF [--after REF] [--rounds 3]
[--duration 10] [--database-url postgresql://.../name] [--redis-url URL] [--output FILE]``.

``--before`` (and ``--after``, default: this working tree) name git commits. Each is checked
out into a scratch folder with ``git worktree``, gets its own fresh database (SQLite files, or
``NAME_before`` / ``NAME_after`` beside the PostgreSQL database given), seeded through its own
command line, and its own ``extapi serve`` on a free port. Both servers stay up for the whole
run, and wrk (the same options as ``bench/run.py``) alternates between them: before, after,
before, after ... so that whatever else the machine is doing falls on both sides alike. The
report gives each round and the median of each side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.run import (
    GRAPHQL_PATH,
    STATUS_QUERY,
    BenchError,
    Options,
    WrkResult,
    check_status,
    deliver,
    ensure_wrk,
    extapi_command,
    fetch_token,
    fmt_us,
    log,
    machine_facts,
    measure,
    prepare_database,
    report_title,
    scratch_dir,
    seed,
    server,
)

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Side:
    label: str
    ref: str
    root: Path
    base: str
    token: str


def parse_args(argv: list[str] | None = None) -> tuple[Options, str, str | None, int]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git commit of the 'before' side")
    parser.add_argument("--after", default=None, help="git commit (default: the working tree)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=16, help="open connections (wrk -c)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds before each run")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--redis-url", default=None, help="rate-limit windows in this Redis")
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
    return options, args.before, args.after, args.rounds


def commit_of(ref: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"unknown git commit {ref!r}: {done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def checkout(ref: str | None, tmp: Path, label: str) -> Iterator[tuple[Path, str]]:
    """The folder holding ``ref`` (a throwaway worktree) or this working tree for None."""
    if ref is None:
        yield ROOT, "working tree"
        return
    commit = commit_of(ref)
    folder = tmp / label
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(folder), commit],
        check=True,
    )
    try:
        yield folder, commit
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
            check=False,
        )


def side_database(options: Options, tmp: Path, label: str) -> tuple[str, str]:
    if options.database_url is None:
        return prepare_database(None, tmp, label)
    url = make_url(options.database_url)
    named = url.set(database=f"{url.database}_{label}").render_as_string(hide_password=False)
    return prepare_database(named, tmp, label)


def start_side(
    stack: ExitStack, options: Options, tmp: Path, label: str, ref: str | None
) -> tuple[Side, str]:
    root, shown = stack.enter_context(checkout(ref, tmp, label))
    url, backend = side_database(options, tmp, label)
    env = {**os.environ, "EXTAPI_DATABASE_URL": url, "PYTHONPATH": str(root)}
    if options.redis_url:
        env["EXTAPI_REDIS_URL"] = options.redis_url
        env["EXTAPI_REDIS_PREFIX"] = f"extapi:compare:{os.getpid()}:{label}:"
    log(f"{label} ({shown}): seeding {backend}")
    creds = seed(env, root=root)
    base = stack.enter_context(server(extapi_command(1), env, tmp / f"{label}.log", root=root))
    token = fetch_token(base, creds)
    check_status(base + GRAPHQL_PATH, token)
    return Side(label, shown, root, base, token), backend


def render(
    sides: list[Side], runs: dict[str, list[WrkResult]], facts: list[tuple[str, str]], title: str
) -> str:
    lines = [f"### {title}: status query before and after", ""]
    lines += [f"- {name}: {value}" for name, value in facts]
    lines += [f"- {side.label}: {side.ref}" for side in sides]
    lines += ["", "| Round | Side | Requests/s | p50 | p99 |", "|---:|---|---:|---:|---:|"]
    rounds = len(runs[sides[0].label])
    for index in range(rounds):
        for side in sides:
            r = runs[side.label][index]
            lines.append(
                f"| {index + 1} | {side.label} | {r.rps:,.0f} | {fmt_us(r.p50_us)} "
                f"| {fmt_us(r.p99_us)} |"
            )
    medians = {s.label: statistics.median(r.rps for r in runs[s.label]) for s in sides}
    before, after = (medians[s.label] for s in sides)
    lines += [
        "",
        f"Median requests/s: before **{before:,.0f}**, after **{after:,.0f}** "
        f"(after / before = **{100 * after / before:.1f} %**).",
        "",
    ]
    return "\n".join(lines)


def compare(options: Options, before: str, after: str | None, rounds: int) -> str:
    wrk = ensure_wrk()
    body = json.dumps(STATUS_QUERY)
    with scratch_dir("extapi-compare-") as tmp, ExitStack() as stack:
        first, backend = start_side(stack, options, tmp, "before", before)
        second, _ = start_side(stack, options, tmp, "after", after)
        sides = [first, second]
        runs: dict[str, list[WrkResult]] = {side.label: [] for side in sides}
        for index in range(rounds):
            for side in sides:
                log(f"round {index + 1}: {side.label}")
                env = {"BENCH_BODY": body, "BENCH_TOKEN": side.token}
                url = side.base + GRAPHQL_PATH
                runs[side.label].append(measure(wrk, "post_graphql.lua", url, env, options))
        facts = machine_facts(wrk, backend, options)
        if options.redis_url:
            facts.append(("Rate-limit windows", "Redis"))
        return render(sides, runs, facts, report_title(backend))


def main(argv: list[str] | None = None) -> int:
    options, before, after, rounds = parse_args(argv)
    return deliver(lambda: compare(options, before, after, rounds), options.output)


if __name__ == "__main__":
    sys.exit(main())
