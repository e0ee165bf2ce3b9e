"""Scale benchmark: N people (default a million) with profile fields and job assignments.

Run it with ``.venv/bin/python -m bench.scale [--users 1000000] [--database-url URL | --sqlite]
[--reload] [--workers 1] [--redis-url URL] [--plans] [--output FILE]``.

What it does, in one run:

1. uses the database ``extapi_scale_<users>`` on the local PostgreSQL (or ``--database-url``;
   with ``--sqlite`` a file under the system temp folder): if the benchmark's own table
   ``bench_scale`` says it already holds the requested number of people, nothing is loaded;
   otherwise (or with ``--reload``) the database is dropped, created, migrated and seeded
   through the real CLI (``bench/run.py``'s ``seed``: a service account with the API User role,
   an API client, rate-limit budgets at their maximum) and ``bench/scale_data.py`` loads the
   people in a few ``INSERT ... SELECT`` statements;
2. starts ``extapi serve`` (``--workers``, one by default) and, through real HTTP with httpx,
   runs these phases, reading every worker's peak RSS (``VmHWM``) after each:

   * **extract**: ``core_user_users`` from the first cursor to the last, five user fields, the
     five custom fields and the job assignments (id, idnumber, managerjaid) of each user, in
     the largest page the complexity budget allows for a user with two job assignments; the
     time of every page is kept, to compare early, middle and late pages;
   * **delta**: 1,000 users, spread over the id range, get a new ``timemodified`` (SQL), then
     ``core_user_users`` with ``filters: {since_timemodified}`` fetches exactly them;
   * **create**: ``core_user_create_user`` with the five custom fields, one user per request;
   * **manager**: ``totara_job_job_assignment`` of a manager (by idnumber and username) with
     its ``staffcount``, and ``totara_job_job_assignments`` sorted by ``managerjaid`` (the
     API has no manager filter), a page of 100 at the start and deep in the list;
   * **page**: ``core_user_users``, a page of 100 users with five fields and the custom
     fields, at random places in the list;

3. with ``--plans``, runs one request of every phase again in this process (Starlette's
   TestClient over the same database), records every SQL statement the server issued, and
   writes ``EXPLAIN (ANALYZE, BUFFERS)`` of each (plain ``EXPLAIN`` for writes; ``EXPLAIN
   QUERY PLAN`` on SQLite) to ``bench/plans/scale-<users>-<backend>.md``, flagging any
   sequential scan of a large table.

The summary table is printed (Markdown) and appended to ``--output``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text

from bench.people import (
    check_no_errors,
    cmdline,
    fmt_mb,
    graphql_client,
    post_json,
    socket_owners,
    status_kib,
)
from bench.run import (
    BENCH_DIR,
    BenchError,
    Credentials,
    deliver,
    extapi_command,
    fetch_token,
    host_facts,
    log,
    reset_postgres,
    seed,
    server,
)
from bench.scale_data import PROFILE_FIELDS, Loaded, load, loaded, remember_client
from extapi.db.engine import make_engine

MB = 1024 * 1024
BUDGET = 6000  # Totara's default max_query_complexity
USER_FIELDS = "id username firstname lastname email"
# Points per user: 5 fields + custom_fields + job_assignments + 3 per job assignment (two at
# most); custom field values cost nothing (see extapi/limits/cost.py).
EXTRACT_LIMIT = (BUDGET - 5) // (5 + 2 + 2 * 3)
EXTRACT_QUERY = (
    "query extract($cursor: String) { core_user_users(query: {pagination: "
    f"{{limit: {EXTRACT_LIMIT}, cursor: $cursor}}}}) {{ items {{ {USER_FIELDS} "
    "custom_fields { shortname data } job_assignments { id idnumber managerjaid } } "
    "%s next_cursor } }"
)
DELTA_QUERY = (
    "query delta($cursor: String, $since: core_date) { core_user_users(query: {pagination: "
    f"{{limit: {EXTRACT_LIMIT}, cursor: $cursor}}, filters: {{since_timemodified: $since}}}}) "
    f"{{ items {{ {USER_FIELDS} custom_fields {{ shortname data }} "
    "job_assignments { id idnumber managerjaid } } total next_cursor } }"
)
CREATE_MUTATION = (
    "mutation create_user($input: core_user_create_user_input!) "
    "{ core_user_create_user(input: $input) { user { id } } }"
)
MANAGER_QUERY = (
    "query manager($ref: totara_job_job_assignment_reference!) { totara_job_job_assignment("
    "target_job: $ref) { found job_assignment { id idnumber staffcount user { id } } } }"
)
BY_MANAGER_QUERY = (
    "query by_manager($cursor: String) { totara_job_job_assignments(query: {sort: "
    '[{column: "managerjaid"}], pagination: {limit: 100, cursor: $cursor}}) '
    "{ items { id userid managerjaid } next_cursor } }"
)
PAGE_QUERY = (
    "query page($cursor: String) { core_user_users(query: {pagination: {limit: 100, "
    f"cursor: $cursor}}}}) {{ items {{ {USER_FIELDS} custom_fields {{ shortname data }} }} "
    "next_cursor } }"
)
BIG_TABLES = ("users", "profile_data", "job_assignments")
PHASES = ("extract", "delta", "create", "manager", "by manager", "page")


@dataclass(frozen=True)
class Options:
    users: int
    database_url: str
    reload: bool
    workers: int
    redis_url: str | None
    creates: int
    changes: int
    lookups: int
    plans: bool
    output: Path | None
    load_only: bool = False
    phases: tuple[str, ...] = ()


@dataclass
class Phase:
    name: str
    what: str
    count: int
    seconds: float
    requests: int
    times: list[float] = field(default_factory=list)
    hwm: list[int] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def per_request_ms(self, q: float = 0.5) -> float:
        ordered = sorted(self.times)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --- command line ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="people to load")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=None, help="PostgreSQL URL of its own")
    where.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--reload", action="store_true", help="load again even if cached")
    parser.add_argument("--workers", type=int, default=1, help="extapi serve --workers")
    parser.add_argument("--redis-url", default=None, help="rate-limit windows in this Redis")
    parser.add_argument("--creates", type=int, default=200, help="users created, one a request")
    parser.add_argument("--changes", type=int, default=1000, help="users in the delta sync")
    parser.add_argument("--lookups", type=int, default=200, help="requests per look-up phase")
    parser.add_argument("--plans", action="store_true", help="write EXPLAIN of every statement")
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    parser.add_argument("--load-only", action="store_true", help="load (unless cached), no run")
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated phases to run, of {','.join(PHASES)} (default: all)",
    )
    args = parser.parse_args(argv)
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    if not phases or any(p not in PHASES for p in phases):
        parser.error(f"--phases takes some of {','.join(PHASES)}")
    if args.users < 1000 or args.workers < 1 or args.creates < 1 or args.lookups < 1:
        parser.error("--users must be >= 1000; --workers, --creates, --lookups >= 1")
    if not 1 <= args.changes <= args.users // 2:
        parser.error("--changes must be between 1 and half of --users")
    if args.sqlite:
        url = f"sqlite:///{Path(tempfile.gettempdir()) / f'extapi_scale_{args.users}.db'}"
    else:
        url = args.database_url or (
            f"postgresql://postgres@127.0.0.1:5432/extapi_scale_{args.users}"
        )
    return Options(
        args.users,
        url,
        args.reload,
        args.workers,
        args.redis_url,
        args.creates,
        args.changes,
        args.lookups,
        args.plans,
        args.output,
        args.load_only,
        phases,
    )


# --- database -------------------------------------------------------------------------------
def backend_of(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


def cached(url: str, users: int) -> Loaded | None:
    """What the database holds, if it holds ``users`` people and a client's credentials."""
    if url.startswith("sqlite"):
        if not Path(url.removeprefix("sqlite:///")).exists():
            return None
    else:
        import psycopg

        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error:
            return None
    engine = make_engine(url)
    try:
        found = loaded(engine)
    except Exception:  # noqa: BLE001 - a half-made database is simply not cached
        return None
    finally:
        engine.dispose()
    if found is None or found.people != users or not found.client_id:
        return None
    return found


def prepare(options: Options, env: dict[str, str]) -> tuple[Loaded, bool]:
    """The loaded database, loading it first unless cached; True when it was loaded now."""
    url = options.database_url
    found = None if options.reload else cached(url, options.users)
    if found is not None:
        log(f"{url}: already holds {found.people:,} people (loaded in {found.seconds:.0f} s)")
        return found, False
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        log(f"{url}: dropping and creating it ({reset_postgres(url)})")
    log("migrating and seeding through the CLI")
    creds = seed(env)
    engine = make_engine(url)
    try:
        log(f"loading {options.users:,} people")
        done = load(engine, options.users, log)
        remember_client(engine, creds.client_id, creds.client_secret)
    finally:
        engine.dispose()
    log(f"  loaded in {done.seconds:.1f} s")
    return Loaded(
        done.people,
        done.first_user,
        done.first_job,
        done.seconds,
        creds.client_id,
        creds.client_secret,
    ), True


def scalar(url: str, sql: str, **params: Any) -> Any:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def touch_users(url: str, data: Loaded, changes: int) -> tuple[int, list[int]]:
    """Give ``changes`` users, spread over the id range, a timemodified later than any other;
    return that time and the ids."""
    step = data.people // changes
    ids = [data.user_id(1 + i * step) for i in range(changes)]
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            since = int(conn.execute(text("SELECT max(timemodified) FROM users")).scalar_one()) + 1
            conn.execute(
                text("UPDATE users SET timemodified = :t WHERE id = :id"),
                [{"t": since, "id": i} for i in ids],
            )
    finally:
        engine.dispose()
    return since, ids


# --- processes ------------------------------------------------------------------------------
def worker_pids(port: int) -> list[int]:
    """The processes serving requests on ``port``: uvicorn's worker children when it forked
    any, otherwise the one ``extapi serve`` process."""
    owners = socket_owners(port)
    children = [pid for pid in owners if "spawn_main" in cmdline(pid)]
    found = sorted(children or owners)
    if not found:
        raise BenchError(f"no process listens on port {port}")
    return found


def hwm(pids: list[int], key: str = "VmHWM") -> list[int]:
    """Each process's peak RSS so far (or, with ``key="VmRSS"``, its RSS now)."""
    return [(status_kib(pid, key) or 0) * 1024 for pid in pids]


# --- phases ---------------------------------------------------------------------------------
def ask(client: httpx.Client, query: str, variables: dict[str, Any], what: str) -> Any:
    answer = post_json(client, {"query": query, "variables": variables})
    check_no_errors(answer, what)
    return answer["data"]


def extract(client: httpx.Client, expected: int) -> Phase:
    cursor: str | None = None
    times: list[float] = []
    items = 0
    started = time.perf_counter()
    while True:
        # The total is asked for once, as a client that shows progress would.
        query = EXTRACT_QUERY % ("total" if cursor is None else "")
        began = time.perf_counter()
        page = ask(client, query, {"cursor": cursor}, f"extract page {len(times) + 1}")
        times.append(time.perf_counter() - began)
        page = page["core_user_users"]
        if cursor is None and page["total"] != expected:
            raise BenchError(f"extract: total {page['total']}, expected {expected}")
        for user in page["items"]:
            if len(user["custom_fields"]) != len(PROFILE_FIELDS) and user["username"].startswith(
                "scale"
            ):
                raise BenchError(f"user {user['id']} has {len(user['custom_fields'])} fields")
        items += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    seconds = time.perf_counter() - started
    if items != expected:
        raise BenchError(f"extract returned {items} users, expected {expected}")
    phase = Phase("extract", f"all users, {EXTRACT_LIMIT} a page", items, seconds, len(times))
    phase.times = times
    full = times[:-1] or times
    tenth = max(1, len(full) // 10)
    thirds = [full[:tenth], full[len(full) // 2 - tenth // 2 :][:tenth], full[-tenth:]]
    start, middle, end = (1000 * statistics.median(part) for part in thirds)
    phase.notes.append(
        f"median ms per page, first / middle / last {tenth} pages: "
        f"{start:.0f} / {middle:.0f} / {end:.0f}"
    )
    phase.notes.append(f"{items / seconds:,.0f} users/s")
    return phase


def delta(client: httpx.Client, since: int, ids: list[int]) -> Phase:
    cursor: str | None = None
    seen: list[int] = []
    times: list[float] = []
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        data = ask(client, DELTA_QUERY, {"cursor": cursor, "since": str(since)}, "delta")
        times.append(time.perf_counter() - began)
        page = data["core_user_users"]
        if page["total"] != len(ids):
            raise BenchError(f"delta: total {page['total']}, expected {len(ids)}")
        seen += [int(u["id"]) for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    seconds = time.perf_counter() - started
    if sorted(seen) != sorted(ids):
        raise BenchError(f"delta returned {len(seen)} users, not the {len(ids)} changed")
    phase = Phase("delta", "since_timemodified", len(seen), seconds, len(times))
    phase.times = times
    return phase


def create(client: httpx.Client, count: int) -> Phase:
    run = int(time.time())
    times: list[float] = []
    started = time.perf_counter()
    for n in range(count):
        name = f"new{run}x{n}"
        data = {
            "username": name,
            "email": f"{name}@example.com",
            "firstname": "New",
            "lastname": f"Person{n}",
            "idnumber": f"NEW-{run}-{n}",
            "auth": "manual",
            "password": f"Passw0rd!x{n}",  # required; costs one Argon2id hash
            "custom_fields": [
                {"shortname": "employeeid", "data": f"N{run}{n}"},
                {"shortname": "costcentre", "data": "CC1"},
                {"shortname": "region", "data": "North"},
                {"shortname": "remote", "data": "1"},
                {"shortname": "badge", "data": f"B-{n}"},
            ],
        }
        began = time.perf_counter()
        answer = ask(client, CREATE_MUTATION, {"input": data}, f"creating {name}")
        times.append(time.perf_counter() - began)
        if not answer["core_user_create_user"]["user"]["id"]:
            raise BenchError(f"creating {name} returned no id")
    phase = Phase(
        "create",
        "one user (password) + 5 custom fields a request",
        count,
        time.perf_counter() - started,
        count,
    )
    phase.times = times
    return phase


def managers(client: httpx.Client, data: Loaded, count: int) -> Phase:
    """Look up managers' job assignments with their staff counts."""
    rng = random.Random(14)
    bosses = max(2, data.people // 10)
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(count):
        k = rng.randint(1, bosses)
        ref = {"idnumber": f"JA{k}", "user": {"username": f"scale{k}"}}
        began = time.perf_counter()
        answer = ask(client, MANAGER_QUERY, {"ref": ref}, f"manager JA{k}")
        times.append(time.perf_counter() - began)
        job = answer["totara_job_job_assignment"]["job_assignment"]
        if job is None or job["staffcount"] < 1:
            raise BenchError(f"manager JA{k}: {answer}")
    phase = Phase("manager", "a manager's job + staffcount", count, 0.0, count)
    phase.seconds = time.perf_counter() - started
    phase.times = times
    return phase


def deep_cursor(cursor: str, values: dict[str, int]) -> str:
    """A cursor like ``cursor`` pointing after the given sort-key values."""
    payload = json.loads(base64.b64decode(cursor))
    payload["columns"] = {**payload["columns"], **values}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def by_manager(client: httpx.Client, data: Loaded, count: int) -> Phase:
    """Pages of job assignments sorted by manager: first page, then deep cursors."""
    rng = random.Random(15)
    first = ask(client, BY_MANAGER_QUERY, {"cursor": None}, "by manager")
    cursor = first["totara_job_job_assignments"]["next_cursor"]
    keys = json.loads(base64.b64decode(cursor))["columns"]
    times: list[float] = []
    started = time.perf_counter()
    for n in range(count):
        if n % 2 == 0:
            at = None
        else:
            boss = data.first_job + rng.randint(1, max(2, data.people // 10))
            at = deep_cursor(cursor, {name: boss if name != "id" else 0 for name in keys})
        began = time.perf_counter()
        page = ask(client, BY_MANAGER_QUERY, {"cursor": at}, "by manager")
        times.append(time.perf_counter() - began)
        if len(page["totara_job_job_assignments"]["items"]) != 100:
            raise BenchError(f"by manager: a short page {page}")
    phase = Phase("by manager", "100 jobs sorted by managerjaid", count * 100, 0.0, count)
    phase.seconds = time.perf_counter() - started
    phase.times = times
    return phase


def pages(client: httpx.Client, data: Loaded, count: int) -> Phase:
    """Pages of 100 users with five fields and the custom fields, at random places."""
    rng = random.Random(16)
    first = ask(client, PAGE_QUERY, {"cursor": None}, "page")
    cursor = first["core_user_users"]["next_cursor"]
    times: list[float] = []
    started = time.perf_counter()
    for _ in range(count):
        at = deep_cursor(cursor, {"id": data.user_id(rng.randint(0, data.people - 100))})
        began = time.perf_counter()
        page = ask(client, PAGE_QUERY, {"cursor": at}, "page")
        times.append(time.perf_counter() - began)
        if len(page["core_user_users"]["items"]) != 100:
            raise BenchError("page: a short page")
    phase = Phase("page", "100 users + 5 custom fields", count * 100, 0.0, count)
    phase.seconds = time.perf_counter() - started
    phase.times = times
    return phase


# --- run ------------------------------------------------------------------------------------
@dataclass
class Run:
    backend: str
    people: int
    users_total: int
    load_s: float
    loaded_now: bool
    pids: list[int]
    idle_hwm: list[int]
    idle_rss: list[int]
    phases: list[Phase]
    plans: str | None = None


def environment(options: Options) -> dict[str, str]:
    env = {**os.environ, "EXTAPI_DATABASE_URL": options.database_url}
    if options.redis_url:
        env["EXTAPI_REDIS_URL"] = options.redis_url
        env["EXTAPI_REDIS_PREFIX"] = f"extapi:scale:{os.getpid()}:"
    return env


def run_phases(options: Options, tmp: Path) -> Run:
    env = environment(options)
    data, loaded_now = prepare(options, env)
    url = options.database_url
    creds = Credentials(data.client_id, data.client_secret)
    live = int(scalar(url, "SELECT count(*) FROM users WHERE deleted = false"))
    since, ids = touch_users(url, data, options.changes)
    phases: list[Phase] = []
    with server(extapi_command(options.workers), env, tmp / "extapi.log") as base:
        pids = worker_pids(int(base.rsplit(":", 1)[1]))
        idle = hwm(pids)
        idle_rss = hwm(pids, "VmRSS")
        log(f"server at {base}, workers {pids}, VmHWM " + ", ".join(fmt_mb(h) for h in idle))
        with graphql_client(base, fetch_token(base, creds)) as client:
            steps: list[tuple[str, Callable[[], Phase]]] = [
                ("extract", lambda: extract(client, live)),
                ("delta", lambda: delta(client, since, ids)),
                ("create", lambda: create(client, options.creates)),
                ("manager", lambda: managers(client, data, options.lookups)),
                ("by manager", lambda: by_manager(client, data, options.lookups // 4)),
                ("page", lambda: pages(client, data, options.lookups)),
            ]
            for name, step in steps:
                if name not in options.phases:
                    continue
                log(f"{name} ...")
                phase = step()
                phase.hwm = hwm(pids)
                phase.rss = hwm(pids, "VmRSS")
                log(
                    f"  {phase.seconds:.1f} s, {phase.requests} requests, median "
                    f"{phase.per_request_ms():.1f} ms; VmHWM "
                    + ", ".join(fmt_mb(h) for h in phase.hwm)
                )
                phases.append(phase)
    total = int(scalar(url, "SELECT count(*) FROM users"))
    return Run(
        backend_of(url), data.people, total, data.seconds, loaded_now, pids, idle, idle_rss, phases
    )


# --- plans ----------------------------------------------------------------------------------
@contextmanager
def recorded(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs inside the block, with its parameters."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def note(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _c: Any, many: bool
    ) -> None:
        seen.append((statement, parameters[0] if many and parameters else parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def explain(engine: Engine, statement: str, parameters: Any) -> str:
    postgres = engine.dialect.name == "postgresql"
    reads = statement.lstrip().upper().startswith(("SELECT", "WITH"))
    if postgres:
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if reads else "EXPLAIN "
    else:
        prefix = "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        cursor = raw.cursor()  # type: ignore[union-attr]
        try:
            if isinstance(parameters, list):  # SQLite's positional parameters
                parameters = tuple(parameters)
            if parameters:
                cursor.execute(prefix + statement, parameters)
            else:
                cursor.execute(prefix + statement)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        conn.rollback()
    if postgres:
        return "\n".join(str(row[0]) for row in rows)
    return "\n".join(f"{'  ' * 0}{row[-1]}" for row in rows)


_PLACEHOLDERS = re.compile(r"\((?:%\(\w+\)s|\?)(?:, (?:%\(\w+\)s|\?)){9,}\)")


def shown(statement: str) -> str:
    """The statement for the plans file, long IN lists cut to their length."""
    return _PLACEHOLDERS.sub(
        lambda m: f"(... {m.group(0).count(',') + 1} placeholders ...)", statement.strip()
    )


def shown_parameters(parameters: Any) -> str:
    text = repr(parameters)
    if len(text) <= 300:
        return text
    count = len(parameters) if hasattr(parameters, "__len__") else "?"
    return f"{text[:200]} ... ({count} values)"


def seq_scans(plan: str) -> list[str]:
    flagged = []
    for line in plan.splitlines():
        for table in BIG_TABLES:
            if f"Seq Scan on {table} " in line + " " or f"SCAN {table}" == line.strip():
                flagged.append(table)
    return flagged


def capture_plans(options: Options, data: Loaded) -> tuple[str, Path]:
    """One request of each phase in-process; EXPLAIN of every statement it issued."""
    from starlette.testclient import TestClient

    from extapi.app import ExtapiApp
    from extapi.config import Config
    from extapi.runtime import open_runtime

    runtime = open_runtime(Config(database_url=options.database_url))
    sections: list[str] = []
    flagged_all: list[str] = []
    count = 0
    try:
        with TestClient(ExtapiApp(runtime)) as http:
            answer = http.post(
                "/totara/oauth2/token.php",
                data={
                    "grant_type": "client_credentials",
                    "client_id": data.client_id,
                    "client_secret": data.client_secret,
                },
            )
            if answer.status_code != 200:
                raise BenchError(f"no token in-process: {answer.status_code} {answer.text}")
            token = answer.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            def call(query: str, variables: dict[str, Any]) -> Any:
                answer = http.post(
                    "/api/graphql.php",
                    json={"query": query, "variables": variables},
                    headers=headers,
                ).json()
                check_no_errors(answer, "plan capture")
                return answer["data"]

            first = call(EXTRACT_QUERY % "total", {"cursor": None})["core_user_users"]
            middle = deep_cursor(first["next_cursor"], {"id": data.user_id(data.people // 2)})
            jobs = call(BY_MANAGER_QUERY, {"cursor": None})["totara_job_job_assignments"]
            boss = data.first_job + data.people // 20
            keys = json.loads(base64.b64decode(jobs["next_cursor"]))["columns"]
            deep_jobs = deep_cursor(
                jobs["next_cursor"], {k: boss if k != "id" else 0 for k in keys}
            )
            # as many changed users as the delta phase fetched
            since = int(
                scalar(
                    options.database_url,
                    "SELECT timemodified FROM users ORDER BY timemodified DESC LIMIT 1 OFFSET :n",
                    n=options.changes - 1,
                )
            )
            run = int(time.time())
            cases: list[tuple[str, str, dict[str, Any]]] = [
                ("extract, first page (with total)", EXTRACT_QUERY % "total", {"cursor": None}),
                ("extract, a middle page", EXTRACT_QUERY % "", {"cursor": middle}),
                ("delta sync", DELTA_QUERY, {"cursor": None, "since": str(since)}),
                (
                    "create a user",
                    CREATE_MUTATION,
                    {
                        "input": {
                            "username": f"plan{run}",
                            "email": f"plan{run}@example.com",
                            "firstname": "Plan",
                            "lastname": "Person",
                            "idnumber": f"PLAN-{run}",
                            "auth": "manual",
                            "password": "Passw0rd!plan",
                            "custom_fields": [{"shortname": "employeeid", "data": "P"}],
                        }
                    },
                ),
                (
                    "a manager's job assignment and staffcount",
                    MANAGER_QUERY,
                    {"ref": {"idnumber": "JA5", "user": {"username": "scale5"}}},
                ),
                ("jobs sorted by manager, first page", BY_MANAGER_QUERY, {"cursor": None}),
                ("jobs sorted by manager, deep page", BY_MANAGER_QUERY, {"cursor": deep_jobs}),
                ("page of 100 users, middle", PAGE_QUERY, {"cursor": middle}),
            ]
            for title, query, variables in cases:
                with recorded(runtime.engine) as seen:
                    call(query, variables)
                sections.append(f"## {title}\n")
                done: set[str] = set()
                for statement, parameters in seen:
                    if statement in done or not statement.strip():
                        continue
                    done.add(statement)
                    count += 1
                    plan = explain(runtime.engine, statement, parameters)
                    flagged = seq_scans(plan)
                    flagged_all += flagged
                    mark = f" **SEQ SCAN: {', '.join(flagged)}**" if flagged else ""
                    sections.append(
                        f"### Statement {count}{mark}\n\n```sql\n{shown(statement)}\n```\n\n"
                        f"Parameters: `{shown_parameters(parameters)}`\n\n```\n{plan}\n```\n"
                    )
    finally:
        runtime.close()
    backend = backend_of(options.database_url).lower()
    path = BENCH_DIR / "plans" / f"scale-{options.users}-{backend}.md"
    path.parent.mkdir(exist_ok=True)
    head = (
        f"# Query plans: {options.users:,} people, {backend_of(options.database_url)}\n\n"
        f"Written by `python -m bench.scale --users {options.users} --plans` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). Every statement one request "
        "of each phase issued through SQLAlchemy, with the plan the database chose for it. "
        "Not shown: the per-request token and site-revision read, which goes through the "
        "worker's raw driver connection (extapi/db/hot.py) and is a primary-key / unique "
        "look-up. Sequential scans of the large tables "
        f"({', '.join(BIG_TABLES)}) are flagged.\n\n"
    )
    path.write_text(head + "\n".join(sections))
    summary = (
        f"{count} distinct statements, "
        + (
            f"sequential scans on: {', '.join(sorted(set(flagged_all)))}"
            if flagged_all
            else "no sequential scan of a large table"
        )
        + f" (`{path.relative_to(BENCH_DIR.parent)}`)"
    )
    return summary, path


# --- report ---------------------------------------------------------------------------------
def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def render(options: Options, run: Run, started_load: str) -> str:
    lines = [
        f"### {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {run.backend}, "
        f"{run.people:,} people",
        "",
        *(f"- {name}: {value}" for name, value in host_facts()),
        f"- Load average: {started_load} at the start, {load_average()} at the end "
        "(the machine is shared with other engineers' test runs)",
        f"- Database: {run.backend} ({options.database_url}); {run.users_total:,} users at the "
        f"end; data {'loaded now' if run.loaded_now else 'cached from an earlier run'}, "
        f"load took {run.load_s:.0f} s",
        f"- Server: `extapi serve --workers {options.workers}`, rate limits on with maximum "
        f"budgets ({'Redis' if options.redis_url else 'in-memory windows'}); client: httpx, "
        "one keep-alive connection, one request at a time",
        f"- Worker pids {run.pids}; after start-up VmHWM "
        + ", ".join(fmt_mb(h) for h in run.idle_hwm)
        + ", VmRSS "
        + ", ".join(fmt_mb(h) for h in run.idle_rss),
        "",
        "| Phase | What | Items | Requests | Seconds | Median ms | p95 ms "
        "| Peak RSS (VmHWM) per worker | RSS after |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for p in run.phases:
        lines.append(
            f"| {p.name} | {p.what} | {p.count:,} | {p.requests:,} | {p.seconds:.1f} "
            f"| {p.per_request_ms():.1f} | {p.per_request_ms(0.95):.1f} "
            f"| {', '.join(fmt_mb(h) for h in p.hwm)} | {', '.join(fmt_mb(h) for h in p.rss)} |"
        )
    lines.append("")
    for p in run.phases:
        lines += [f"- {p.name}: {note}" for note in p.notes]
    if run.plans:
        lines.append(f"- Plans: {run.plans}")
    peak = max(max(p.hwm) for p in run.phases) if run.phases else 0
    lines.append(
        f"- Peak RSS of any worker: {fmt_mb(peak)} "
        f"(aim < 100 MB: **{'met' if peak < 100 * MB else 'not met'}**)"
    )
    lines.append("")
    return "\n".join(lines)


def bench(options: Options) -> str:
    started_load = load_average()
    if options.load_only:
        data, now = prepare(options, environment(options))
        return f"{data.people:,} people {'loaded' if now else 'cached'}, load {data.seconds:.0f} s"
    with tempfile.TemporaryDirectory(prefix="extapi-scale-") as folder:
        run = run_phases(options, Path(folder))
    if options.plans:
        data = cached(options.database_url, options.users)
        if data is None:
            raise BenchError("the database lost its bench_scale row")
        log("capturing query plans")
        run.plans, _ = capture_plans(options, data)
    return render(options, run, started_load)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return deliver(lambda: bench(options), options.output)


if __name__ == "__main__":
    sys.exit(main())
