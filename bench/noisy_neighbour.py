"""Noisy-neighbour benchmark: the status query's latency on one worker, alone and beside heavy
or hostile requests that the limits admit.

Run it with ``.venv/bin/python -m bench.noisy_neighbour [--database-url URL] [--seconds 10]
[--users 3000] [--ref REF] [--phases LIST] [--server-env NAME=VALUE ...] [--output FILE]``.
One run takes about two minutes.

What it does, in one run:

1. makes a fresh database (SQLite in a temp dir by default; with ``--database-url`` a
   PostgreSQL database that is dropped and created again), seeds it through the real CLI with
   ``bench/run.py``'s ``seed`` and inserts ``--users`` users directly (``bench/people.py``'s
   ``prefill``);
2. starts the real server (``extapi serve``, one worker) with rate limiting off, so that no
   neighbour is cut short by a 429. ``--ref`` runs the server of another git commit (checked
   out into a scratch worktree, as ``bench/compare.py`` does) to measure a "before";
3. measures the **probe**: one client in this process sending the status query
   (``query { totara_webapi_status { status } }``) over one keep-alive connection, one request
   after the other with no pause, for ``--seconds``; its p50, p99 and worst latency;
4. does so alone, then beside each kind of neighbour in turn, then beside all of them at once.
   Neighbours are separate processes (so they cannot slow the probe's own client down), each
   sending its request in a loop over its own connection; the probe starts once every
   neighbour has had one answer, so the heavy work is surely running:

   * **page**: the largest ``core_user_users`` page the complexity limit admits with five
     fields (1,199 users);
   * **token**: ``POST /totara/oauth2/token.php`` (client secret check, a token written);
   * **large**: a query that sits at the abuse guards' limits (50 aliases, 50 fragments, each
     spread in every alias, two directives on every field: about 7,300 tokens), under a new
     operation name each time so that it is never served from the document cache: about half a
     second of parsing and validation per request;
   * **create**: a batch of 50 ``core_user_create_user`` mutations (the batch limit), each with
     a password, so one request hashes 50 passwords with Argon2id.

Every answer is checked; a neighbour or probe answer with errors ends the run. The table gives,
per phase, the probe's figures and what the neighbours managed meanwhile (so that a server that
kept the probe fast by starving the neighbours would show it). The aim is a probe p99 under
20 ms beside any one neighbour; the last phase, all four at once, goes beyond it.

``--phases`` picks phases (``alone,page,token,large,create,all``); ``--server-env NAME=VALUE``
sets a variable for the server only (``EXTAPI_WORKER_THREADS=2``, say).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from bench.compare import checkout
from bench.people import prefill
from bench.run import (
    GRAPHQL_PATH,
    STATUS_ANSWER,
    STATUS_QUERY,
    TOKEN_PATH,
    BenchError,
    Credentials,
    deliver,
    extapi_command,
    fetch_token,
    host_facts,
    log,
    prepare_database,
    report_title,
    scratch_dir,
    seed,
    server,
)

PAGE_FIELDS = ("id", "username", "firstname", "lastname", "email")
PAGE_LIMIT = (6000 - 5) // len(PAGE_FIELDS)  # Totara's complexity rule: 5 + 5 per user
PAGE_QUERY = (
    f"query heavy_page {{ core_user_users(query: {{pagination: {{limit: {PAGE_LIMIT}}}}}) "
    f"{{ items {{ {' '.join(PAGE_FIELDS)} }} total next_cursor }} }}"
)
LARGE_ALIASES = 50
LARGE_FRAGMENTS = 50
CREATE_BATCH = 50
CREATE_MUTATION = (
    "mutation create_user($input: core_user_create_user_input!) "
    "{ core_user_create_user(input: $input) { user { id } } }"
)
NEIGHBOURS = ("page", "token", "large", "create")
PHASES: list[tuple[str, tuple[str, ...]]] = [
    ("alone", ()),
    ("page", ("page",)),
    ("token", ("token",)),
    ("large", ("large",)),
    ("create", ("create",)),
    ("all", NEIGHBOURS),
]
AIM_MS = 20.0
# How long a neighbour may take for its first answer before the run is abandoned.
FIRST_ANSWER_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Options:
    database_url: str | None
    seconds: int
    users: int
    ref: str | None
    server_env: dict[str, str]
    phases: tuple[str, ...]
    output: Path | None


@dataclass(frozen=True)
class Phase:
    name: str
    latencies_ms: list[float]
    neighbour_requests: int
    neighbour_mean_ms: float | None

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- command line ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of probing per phase")
    parser.add_argument("--users", type=int, default=3000, help="users inserted before the run")
    parser.add_argument("--ref", default=None, help="serve this git commit (default: this tree)")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the server (repeatable)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(name for name, _kinds in PHASES),
        help="the phases to run, comma-separated (default: all)",
    )
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    args = parser.parse_args(argv)
    phases = tuple(name.strip() for name in args.phases.split(",") if name.strip())
    unknown = set(phases) - {name for name, _kinds in PHASES}
    if unknown or not phases:
        parser.error(f"--phases: unknown {sorted(unknown)}; known: {[n for n, _ in PHASES]}")
    if args.seconds < 1 or args.users < PAGE_LIMIT:
        parser.error(f"--seconds must be >= 1 and --users >= {PAGE_LIMIT}")
    server_env: dict[str, str] = {}
    for item in args.server_env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            parser.error(f"--server-env takes NAME=VALUE, got {item!r}")
        server_env[name] = value
    return Options(
        args.database_url, args.seconds, args.users, args.ref, server_env, phases, args.output
    )


# --- requests -------------------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection (the standard library's: less client time per
    request than httpx, so the latencies are mostly the server's)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.http = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        self.http.request("POST", path, body, headers)
        response = self.http.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.http.close()


def graphql_headers(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


def large_query(number: int) -> str:
    """A document at the abuse guards' limits, named ``number`` so the text is always new."""
    marks = "@include(if: true) @skip(if: false)"
    fragments = " ".join(
        f"fragment f{i} on totara_webapi_status "
        f"{{ status {marks} timestamp(format: ISO8601) {marks} }}"
        for i in range(LARGE_FRAGMENTS)
    )
    spreads = " ".join(f"...f{i}" for i in range(LARGE_FRAGMENTS))
    aliases = " ".join(f"a{i}: totara_webapi_status {{ {spreads} }}" for i in range(LARGE_ALIASES))
    return f"query large_{number} {{ {aliases} }} {fragments}"


def create_batch(prefix: str, first: int) -> list[dict[str, Any]]:
    return [
        {
            "query": CREATE_MUTATION,
            "variables": {
                "input": {
                    "username": f"{prefix}{n}",
                    "email": f"{prefix}{n}@example.com",
                    "firstname": f"First{n}",
                    "lastname": f"Last{n}",
                    "auth": "manual",
                    "password": f"Passw0rd!x{n}",
                }
            },
        }
        for n in range(first, first + CREATE_BATCH)
    ]


def check_graphql(status: int, body: bytes, what: str) -> Any:
    answer = orjson.loads(body) if body[:1] in (b"{", b"[") else None
    answers = answer if isinstance(answer, list) else [answer]
    if status != 200 or any(
        not isinstance(a, dict) or a.get("errors") or "data" not in a for a in answers
    ):
        raise BenchError(f"{what}: HTTP {status}: {body[:1000]!r}")
    return answer


def neighbour_request(
    kind: str, conn: Connection, token: str, creds: Credentials, number: int, tag: str
) -> None:
    """Send one neighbour request of ``kind`` and check its answer."""
    if kind == "page":
        body = orjson.dumps({"query": PAGE_QUERY})
        answer = check_graphql(*conn.post(GRAPHQL_PATH, body, graphql_headers(token)), kind)
        if len(answer["data"]["core_user_users"]["items"]) != PAGE_LIMIT:
            raise BenchError(f"page: expected {PAGE_LIMIT} users")
    elif kind == "token":
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            }
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, body = conn.post(TOKEN_PATH, form, headers)
        if status != 200 or b"access_token" not in body:
            raise BenchError(f"token: HTTP {status}: {body[:500]!r}")
    elif kind == "large":
        body = orjson.dumps({"query": large_query(number)})
        check_graphql(*conn.post(GRAPHQL_PATH, body, graphql_headers(token)), kind)
    elif kind == "create":
        body = orjson.dumps(create_batch(f"n{tag}x{number}u", 1))
        check_graphql(*conn.post(GRAPHQL_PATH, body, graphql_headers(token)), kind)
    else:
        raise BenchError(f"unknown neighbour {kind!r}")


def neighbour_loop(
    kind: str,
    base: str,
    token: str,
    creds: Credentials,
    tag: str,
    started: Event,
    stop: Event,
    done: Any,
) -> None:
    """A neighbour process: requests of ``kind`` until ``stop``; ``done`` gets (count,
    seconds) of the requests that finished after ``started`` was set by the parent."""
    conn = Connection(base)
    number = 0
    count, seconds = 0, 0.0
    try:
        while not stop.is_set():
            number += 1
            began = time.perf_counter()
            neighbour_request(kind, conn, token, creds, number, tag)
            if number == 1:
                done.put(("ready", kind))
            elif started.is_set():
                count += 1
                seconds += time.perf_counter() - began
    except BenchError as exc:
        done.put(("error", str(exc)))
        return
    finally:
        conn.close()
    done.put(("done", (count, seconds)))


# --- phases ---------------------------------------------------------------------------------
@contextmanager
def neighbours(
    kinds: Sequence[str], base: str, token: str, creds: Credentials
) -> Iterator[tuple[Event, list[tuple[int, float]]]]:
    """Run one neighbour process per kind; yield once each has had its first answer. After
    the block they are stopped (each finishes its request) and their figures are filled in."""
    context = multiprocessing.get_context("spawn")
    started, stop = context.Event(), context.Event()
    done = context.Queue()
    tag = f"{os.getpid()}{time.monotonic_ns() % 1_000_000}"
    processes = [
        context.Process(
            target=neighbour_loop,
            args=(kind, base, token, creds, f"{tag}{i}", started, stop, done),
            daemon=True,
        )
        for i, kind in enumerate(kinds)
    ]
    for process in processes:
        process.start()
    figures: list[tuple[int, float]] = []
    failed = False
    try:
        for _ in processes:
            state, value = done.get(timeout=FIRST_ANSWER_TIMEOUT_S)
            if state == "error":
                failed = True
                raise BenchError(value)
        started.set()
        yield started, figures
    finally:
        stop.set()
        try:
            for _ in processes if not failed else ():
                state, value = done.get(timeout=FIRST_ANSWER_TIMEOUT_S)
                if state == "error":
                    raise BenchError(value)
                figures.append(value)
        finally:
            for process in processes:
                process.join(timeout=10)
                if process.is_alive():
                    process.kill()


def probe(base: str, token: str, seconds: float) -> list[float]:
    """Status queries one after the other for ``seconds``; their latencies in ms."""
    conn = Connection(base)
    body = orjson.dumps(STATUS_QUERY)
    headers = graphql_headers(token)
    latencies: list[float] = []
    try:
        deadline = time.perf_counter() + seconds
        while True:
            began = time.perf_counter()
            if began >= deadline:
                break
            status, answer = conn.post(GRAPHQL_PATH, body, headers)
            latencies.append((time.perf_counter() - began) * 1000.0)
            if status != 200 or orjson.loads(answer) != STATUS_ANSWER:
                raise BenchError(f"status query: HTTP {status}: {answer[:500]!r}")
    finally:
        conn.close()
    return latencies


def run_phase(
    name: str, kinds: Sequence[str], base: str, token: str, creds: Credentials, seconds: float
) -> Phase:
    if not kinds:
        latencies = probe(base, token, seconds)
        phase = Phase(name, latencies, 0, None)
    else:
        with neighbours(kinds, base, token, creds) as (_started, figures):
            latencies = probe(base, token, seconds)
        count = sum(c for c, _s in figures)
        spent = sum(s for _c, s in figures)
        phase = Phase(name, latencies, count, 1000.0 * spent / count if count else None)
    log(
        f"{name}: {len(latencies)} probes, p50 {phase.percentile(0.5):.2f} ms, "
        f"p99 {phase.percentile(0.99):.2f} ms, max {max(latencies):.2f} ms; "
        f"neighbours {phase.neighbour_requests} requests"
    )
    return phase


# --- report ---------------------------------------------------------------------------------
DESCRIPTIONS = {
    "alone": "alone",
    "page": f"beside `core_user_users` pages of {PAGE_LIMIT} users x 5 fields",
    "token": "beside token requests",
    "large": (
        f"beside new {LARGE_ALIASES}-alias, {LARGE_FRAGMENTS}-fragment documents (about 7,300 "
        "tokens)"
    ),
    "create": f"beside batches of {CREATE_BATCH} user creations with passwords",
    "all": "beside all four neighbours at once",
}


def render(phases: list[Phase], facts: list[tuple[str, str]], title: str, seconds: int) -> str:
    lines = [f"### {title}: noisy neighbour", ""]
    lines += [f"- {name}: {value}" for name, value in facts]
    lines += [
        "",
        f"| Phase ({seconds} s each) | Status queries | p50 | p99 | max "
        "| Neighbour requests | Neighbour mean |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        mean = "" if p.neighbour_mean_ms is None else f"{p.neighbour_mean_ms:,.0f} ms"
        neighbours_done = "" if p.name == "alone" else f"{p.neighbour_requests:,}"
        lines.append(
            f"| {DESCRIPTIONS[p.name]} | {len(p.latencies_ms):,} "
            f"| {p.percentile(0.5):.2f} ms | {p.percentile(0.99):.2f} ms "
            f"| {max(p.latencies_ms):.2f} ms | {neighbours_done} | {mean} |"
        )
    single = [p for p in phases if p.name in NEIGHBOURS]
    if single:
        worst = max(single, key=lambda p: p.percentile(0.99))
        verdict = "meets" if worst.percentile(0.99) < AIM_MS else "misses"
        lines += [
            "",
            f"Worst p99 beside one neighbour: **{worst.percentile(0.99):.2f} ms** ({worst.name}; "
            f"{verdict} the aim of p99 under {AIM_MS:.0f} ms beside any admitted request).",
        ]
    lines.append("")
    return "\n".join(lines)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


# --- main -----------------------------------------------------------------------------------
def bench(options: Options) -> str:
    with scratch_dir("extapi-noisy-") as tmp, ExitStack() as stack:
        root, shown = stack.enter_context(checkout(options.ref, tmp, "server"))
        url, backend = prepare_database(options.database_url, tmp, "noisy")
        env = {
            **os.environ,
            "EXTAPI_DATABASE_URL": url,
            "EXTAPI_RATE_LIMIT_BACKEND": "off",
            "PYTHONPATH": str(root),
            **options.server_env,
        }
        log(f"server code: {shown}; database: {backend}; seeding through the CLI")
        creds = seed(env, root=root)
        log(f"inserting {options.users:,} users directly")
        prefill(url, options.users)
        load_before = load_average()
        base = stack.enter_context(server(extapi_command(1), env, tmp / "extapi.log", root))
        token = fetch_token(base, creds)
        probe(base, token, 1.0)  # warm-up: caches, connections, the document cache
        phases = [
            run_phase(name, kinds, base, token, creds, options.seconds)
            for name, kinds in PHASES
            if name in options.phases
        ]
        facts = [
            *host_facts(),
            ("Database", f"{backend}, {options.users:,} users inserted before the run"),
            ("Server", f"`extapi serve --workers 1` from {shown}, rate limiting off"),
            *((f"Server environment {k}", v) for k, v in sorted(options.server_env.items())),
            (
                "Probe",
                "one client (http.client, one keep-alive connection) sending the status "
                "query back to back",
            ),
            ("Neighbours", "one process per neighbour, one connection each, back to back"),
            (
                "Load average (1/5/15 min) before / after",
                f"{load_before} / {load_average()} (other work shared the machine)",
            ),
        ]
        return render(phases, facts, report_title(backend), options.seconds)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return deliver(lambda: bench(options), options.output)


if __name__ == "__main__":
    sys.exit(main())
