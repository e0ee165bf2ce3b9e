"""People API benchmark: bulk creation and full extracts of users on one ``extapi`` worker.

Run it with ``.venv/bin/python -m bench.people [--database-url URL] [--create-count 10000]
[--password-count 10000] [--extract-count 100000] [--output FILE]``.

What it does, in one run:

1. makes a fresh database (SQLite in a temp dir by default; with ``--database-url`` a
   PostgreSQL database that is dropped and created again) and seeds it through the real CLI with
   ``bench/run.py``'s ``seed`` (a service account ``svc`` with the API User role, which holds
   ``moodle/user:create`` and ``moodle/user:viewalldetails``, and an API client acting as it);
2. inserts users directly with SQLAlchemy Core bulk inserts so that, once the scenarios below
   have created theirs, the database holds ``--extract-count`` users;
3. starts the real server (``extapi serve``, one worker) and, in a background thread, samples
   the serving process's RSS (``VmRSS`` in ``/proc/PID/status``) every 100 ms;
4. runs, against that one server:

   * **create (no password)**: ``core_user_create_user`` with five profile fields (username,
     email, firstname, lastname, idnumber) and ``generate_password: true``, the import that
     sends no password. (It used ``auth: "nologin"`` until the API learned Totara 17.3's rule
     that a create names a password or asks for one, and that "No login" can not be set
     through the API; a generated password costs one Argon2id hash too);
   * **create (password)**: the same with ``auth: "manual"`` and a password that meets the
     policy, so every user costs one Argon2id hash;
   * **extract**: ``core_user_users`` paged with cursors through every listable user, five
     fields per user, in the largest page Totara's query-complexity budget allows.

The client runs in this process: mutations go in batches of 50 operations (the server's
``max_batch_size``) over one keep-alive ``httpx.Client``, so the client is not the bottleneck
(its CPU time is reported). Every response is checked: any GraphQL ``errors`` ends the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.run import (
    GRAPHQL_PATH,
    BenchError,
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

# Totara's query-complexity rule: the query field costs 5 points, then every requested field
# costs 1 point per record; a query may cost at most max_query_complexity (6000 by default).
TOTARA_MAX_QUERY_COMPLEXITY = 6000
QUERY_FIELD_COST = 5
FIELD_COST_PER_RECORD = 1
EXTRACT_FIELDS = ("id", "username", "firstname", "lastname", "email")
BATCH_SIZE = 50  # extapi's default max_batch_size, as Totara allows
REFERENCE_USERS = 10_000  # the aims speak of 10,000 creations
SAMPLE_INTERVAL_S = 0.1
PREFILL_CHUNK = 5_000
MB = 1024 * 1024

CREATE_MUTATION = (
    "mutation create_user($input: core_user_create_user_input!) "
    "{ core_user_create_user(input: $input) { user { id } } }"
)
EXTRACT_QUERY = (
    "query extract_users($cursor: String) { core_user_users(query: {pagination: "
    "{limit: %d, cursor: $cursor}}) { items { " + " ".join(EXTRACT_FIELDS) + " } "
    "total next_cursor } }"
)


def largest_page(fields: tuple[str, ...] = EXTRACT_FIELDS) -> int:
    """The largest page of ``fields`` whose cost stays within the budget."""
    per_record = FIELD_COST_PER_RECORD * len(fields)
    return (TOTARA_MAX_QUERY_COMPLEXITY - QUERY_FIELD_COST) // per_record


@dataclass(frozen=True)
class Options:
    database_url: str | None
    create_count: int
    password_count: int
    extract_count: int
    output: Path | None


@dataclass(frozen=True)
class Result:
    name: str
    description: str
    count: int
    seconds: float
    server_cpu_s: float
    client_cpu_s: float
    requests: int
    peak_rss: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def per_item_ms(self) -> float:
        return 1000 * self.seconds / self.count


@dataclass
class Memory:
    """RSS samples of one process, taken by a background thread."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.thread.start()

    def sample(self) -> None:
        rss = status_kib(self.pid, "VmRSS")
        if rss is not None:
            self.samples.append((time.monotonic(), rss * 1024))

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def peak_since(self, since: float) -> int:
        return max((rss for t, rss in self.samples if t >= since), default=0)

    @property
    def peak(self) -> int:
        return max((rss for _t, rss in self.samples), default=0)

    @property
    def first(self) -> int:
        return self.samples[0][1] if self.samples else 0

    @property
    def last(self) -> int:
        return self.samples[-1][1] if self.samples else 0


@dataclass(frozen=True)
class Report:
    backend: str
    schema: str
    password_hash: str
    prefilled: int
    users_in_db: int
    server_pid: int
    server_cmdline: str
    results: list[Result]
    pages: int
    page_limit: int
    idle_rss: int
    peak_rss: int
    final_rss: int
    hwm_rss: int
    samples: int


# --- command line ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--create-count", type=int, default=REFERENCE_USERS)
    parser.add_argument("--password-count", type=int, default=REFERENCE_USERS)
    parser.add_argument("--extract-count", type=int, default=100_000)
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    args = parser.parse_args(argv)
    if args.create_count < 1 or args.password_count < 1 or args.extract_count < 1:
        parser.error("--create-count, --password-count and --extract-count must be >= 1")
    return Options(
        args.database_url,
        args.create_count,
        args.password_count,
        args.extract_count,
        args.output,
    )


# --- processes ------------------------------------------------------------------------------
def status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` line of ``/proc/PID/status`` (VmRSS, VmHWM), or None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local_port = int(parts[1].rsplit(":", 1)[1], 16)
            if local_port == port and parts[3] == "0A":  # 0A: LISTEN
                inodes.add(parts[9])
    return inodes


def socket_owners(port: int) -> list[int]:
    """The processes holding a socket that listens on ``port`` (any order)."""
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    owners: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except OSError:
            continue
        if links & wanted:
            owners.append(int(entry.name))
    return owners


def serving_pid(port: int) -> int:
    """The process that holds the listening socket and serves ``extapi``.

    With ``--workers 1`` uvicorn serves in the process started as ``extapi serve``; if it ever
    forks workers, they hold the socket too, and the youngest such process (a child) wins.
    """
    owners = socket_owners(port)
    if not owners:
        raise BenchError(f"no process listens on port {port}")
    pid = max(owners)
    command = cmdline(pid)
    if "extapi serve" not in command and "spawn_main" not in command:
        raise BenchError(f"port {port} is served by an unexpected process {pid}: {command}")
    return pid


# --- database -------------------------------------------------------------------------------
def prefill(url: str, count: int) -> float:
    """Insert ``count`` users straight into the table; return the seconds it took."""
    from sqlalchemy import func, insert, select, text

    from extapi.db.engine import is_sqlite, make_engine, normalise_url
    from extapi.db.tables import users

    started = time.perf_counter()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            first = int(conn.execute(select(func.coalesce(func.max(users.c.id), 0))).scalar_one())
        now = int(time.time())
        for start in range(0, count, PREFILL_CHUNK):
            rows = [
                prefill_row(first + i + 1, now)
                for i in range(start, min(count, start + PREFILL_CHUNK))
            ]
            with engine.begin() as conn:
                conn.execute(insert(users), rows)
        if not is_sqlite(normalise_url(url)):
            with engine.begin() as conn:
                conn.execute(text("ANALYZE users"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def prefill_row(number: int, now: int) -> dict[str, Any]:
    """Every NOT NULL column without a default, plus what an imported user usually has."""
    return {
        "auth": "manual",
        "suspended": False,
        "deleted": False,
        "username": f"bulk{number}",
        "password": "",
        "idnumber": f"BULK-{number}",
        "firstname": f"Bulk{number}",
        "lastname": "Person",
        "email": f"bulk{number}@example.com",
        "maildisplay": 2,
        "lang": "en",
        "country": "",
        "timezone": "99",
        "descriptionformat": 1,
        "timecreated": now,
        "timemodified": now,
    }


def listable_users(url: str) -> int:
    """Users the extract must return: neither deleted nor suspended."""
    from sqlalchemy import func, select

    from extapi.db.engine import make_engine
    from extapi.db.tables import users

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            live = users.c.deleted.is_(False) & users.c.suspended.is_(False)
            return int(conn.execute(select(func.count()).where(live)).scalar_one())
    finally:
        engine.dispose()


def schema_revision(url: str) -> str:
    """The migration the database is at (Alembic's ``alembic_version``)."""
    from sqlalchemy import text

    from extapi.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    finally:
        engine.dispose()


def stored_hash_parameters(url: str, username: str) -> str:
    """The Argon2 parameters of a hash the server stored, read back from the database."""
    import argon2
    from sqlalchemy import select

    from extapi.db.engine import make_engine
    from extapi.db.tables import users

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = select(users.c.password).where(users.c.username == username)
            stored = conn.execute(query).scalar_one()
    finally:
        engine.dispose()
    try:
        p = argon2.extract_parameters(stored)
    except argon2.exceptions.InvalidHashError as exc:
        raise BenchError(f"{username} has no Argon2 hash: {stored[:20]!r}") from exc
    return (
        f"Argon2{p.type.name.lower()} t={p.time_cost}, m={p.memory_cost / 1024:g} MiB, "
        f"p={p.parallelism} (read back from a stored hash)"
    )


def count_users(url: str) -> int:
    from sqlalchemy import func, select

    from extapi.db.engine import make_engine
    from extapi.db.tables import users

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())
    finally:
        engine.dispose()


# --- client ---------------------------------------------------------------------------------
def graphql_client(base: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.Client(base_url=base, headers=headers, timeout=300.0)


def post_json(client: httpx.Client, payload: Any) -> Any:
    try:
        response = client.post(GRAPHQL_PATH, content=orjson.dumps(payload))
    except httpx.HTTPError as exc:
        raise BenchError(f"request to {GRAPHQL_PATH} failed: {exc!r}") from exc
    if response.status_code != 200:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:1000]}")
    return orjson.loads(response.content)


def check_no_errors(answer: Any, what: str) -> None:
    if not isinstance(answer, dict) or answer.get("errors") or "data" not in answer:
        raise BenchError(f"{what} failed: {orjson.dumps(answer)[:2000].decode()}")


def create_input(prefix: str, number: int, password: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "username": f"{prefix}{number}",
        "email": f"{prefix}{number}@example.com",
        "firstname": f"First{number}",
        "lastname": f"Last{number}",
        "idnumber": f"{prefix.upper()}-{number}",
    }
    data["auth"] = "manual"
    if password:
        data["password"] = f"Passw0rd!x{number}"
    else:
        data["generate_password"] = True
    return data


def create_in_batches(
    client: httpx.Client, mutation: str, inputs: list[tuple[str, dict[str, Any]]], path: str
) -> int:
    """Run ``mutation`` once per (label, input) in batched requests, checking that each
    answer has an id at ``path`` ("field.entity"); return the number of HTTP requests."""
    field, entity = path.split(".")
    requests = 0
    for start in range(0, len(inputs), BATCH_SIZE):
        chunk = inputs[start : start + BATCH_SIZE]
        batch = [{"query": mutation, "variables": {"input": value}} for _label, value in chunk]
        answers = post_json(client, batch)
        requests += 1
        if not isinstance(answers, list) or len(answers) != len(batch):
            raise BenchError(f"batch answer of the wrong shape: {orjson.dumps(answers)[:2000]!r}")
        for (label, _value), answer in zip(chunk, answers, strict=True):
            check_no_errors(answer, f"creating {label}")
            if not answer["data"][field][entity]["id"]:
                raise BenchError(f"creating {label} returned no id: {answer}")
    return requests


def create_users(client: httpx.Client, prefix: str, count: int, password: bool) -> int:
    """Create ``count`` users in batches; return the number of HTTP requests."""
    inputs = [(f"{prefix}{n}", create_input(prefix, n, password)) for n in range(1, count + 1)]
    return create_in_batches(client, CREATE_MUTATION, inputs, "core_user_create_user.user")


def extract_all(
    client: httpx.Client,
    query: str,
    field: str,
    limit: int,
    expected: int,
    each: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[int, int]:
    """Page through ``field`` with ``query`` (pages of ``limit``, the cursor a variable),
    checking totals, page sizes and that ``expected`` distinct items come back; ``each``
    sees every item. Returns (items, pages)."""
    query = query % limit
    cursor: str | None = None
    seen: set[int] = set()
    items = pages = 0
    while True:
        answer = post_json(client, {"query": query, "variables": {"cursor": cursor}})
        check_no_errors(answer, f"extract page {pages + 1}")
        page = answer["data"][field]
        pages += 1
        if page["total"] != expected:
            raise BenchError(f"page {pages}: total {page['total']}, expected {expected}")
        if len(page["items"]) > limit:
            raise BenchError(f"page {pages} holds {len(page['items'])} items, limit {limit}")
        for item in page["items"]:
            seen.add(int(item["id"]))
            if each is not None:
                each(item)
        items += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    if items != expected or len(seen) != expected:
        raise BenchError(f"extract returned {items} items ({len(seen)} distinct), not {expected}")
    return items, pages


def extract_users(client: httpx.Client, limit: int, expected: int) -> tuple[int, int]:
    """Page through every listable user; return (items, pages)."""
    return extract_all(client, EXTRACT_QUERY, "core_user_users", limit, expected)


# --- scenarios ------------------------------------------------------------------------------
@contextmanager
def measured(pid: int, memory: Memory) -> Iterator[dict[str, float]]:
    """Wall time, server CPU, client CPU and the start time (for the RSS peak) of a block."""
    figures: dict[str, float] = {}
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    figures["since"] = time.monotonic()
    memory.sample()  # so that even a block shorter than the interval has a figure
    started = time.perf_counter()
    yield figures
    figures["seconds"] = time.perf_counter() - started
    figures["server_cpu"] = cpu_seconds(pid) - server_cpu
    figures["client_cpu"] = time.process_time() - client_cpu
    memory.sample()
    figures["peak"] = memory.peak_since(figures["since"])


def result(
    name: str, description: str, count: int, requests: int, f: Mapping[str, float]
) -> Result:
    return Result(
        name,
        description,
        count,
        f["seconds"],
        f["server_cpu"],
        f["client_cpu"],
        requests,
        int(f["peak"]),
    )


def run_scenarios(options: Options, url: str, backend: str, tmp: Path) -> Report:
    env = {**os.environ, "EXTAPI_DATABASE_URL": url}
    log(f"database: {backend}; seeding through the CLI")
    creds = seed(env)
    existing = count_users(url)
    planned = existing + options.create_count + options.password_count
    to_insert = max(0, options.extract_count - planned)
    if to_insert:
        log(f"inserting {to_insert:,} users directly (SQLAlchemy Core bulk insert)")
        log(f"  done in {prefill(url, to_insert):.1f} s")
    limit = largest_page()
    log(
        f"page limit L = ({TOTARA_MAX_QUERY_COMPLEXITY} - {QUERY_FIELD_COST}) // "
        f"({FIELD_COST_PER_RECORD} * {len(EXTRACT_FIELDS)}) = {limit}"
    )
    results: list[Result] = []
    with server(extapi_command(1), env, tmp / "extapi.log") as base:
        port = int(base.rsplit(":", 1)[1])
        pid = serving_pid(port)
        command = cmdline(pid)
        log(f"server at {base}, serving pid {pid}: {command}")
        memory = Memory(pid)
        memory.start()
        try:
            time.sleep(0.5)  # an idle sample or five before any work
            with graphql_client(base, fetch_token(base, creds)) as client:
                log(f"create (no password): {options.create_count:,} users")
                with measured(pid, memory) as f:
                    requests = create_users(client, "sso", options.create_count, password=False)
                results.append(
                    result(
                        "create", 'auth "nologin", no password', options.create_count, requests, f
                    )
                )
                log(f"  {f['seconds']:.1f} s, {options.create_count / f['seconds']:,.0f} users/s")

                log(f"create (password): {options.password_count:,} users")
                with measured(pid, memory) as f:
                    requests = create_users(client, "pw", options.password_count, password=True)
                results.append(
                    result(
                        "create + password",
                        'auth "manual", Argon2id hash',
                        options.password_count,
                        requests,
                        f,
                    )
                )
                per_user = 1000 * f["seconds"] / options.password_count
                log(f"  {f['seconds']:.1f} s, {per_user:.1f} ms/user")

                expected = listable_users(url)
                log(f"extract: {expected:,} listable users, {limit} per page")
                with measured(pid, memory) as f:
                    items, pages = extract_users(client, limit, expected)
                results.append(result("extract", f"{len(EXTRACT_FIELDS)} fields", items, pages, f))
                log(f"  {f['seconds']:.1f} s, {items / f['seconds']:,.0f} users/s, {pages} pages")
            time.sleep(0.3)
            hwm = (status_kib(pid, "VmHWM") or 0) * 1024
        finally:
            memory.stop()
        users_in_db = count_users(url)
    return Report(
        backend,
        schema_revision(url),
        stored_hash_parameters(url, "pw1"),
        to_insert,
        users_in_db,
        pid,
        command.replace(sys.executable, "python"),
        results,
        pages,
        limit,
        memory.first,
        memory.peak,
        memory.last,
        hwm,
        len(memory.samples),
    )


# --- report ---------------------------------------------------------------------------------
def machine_facts(report: Report) -> list[tuple[str, str]]:
    return [
        *host_facts(),
        ("Database", f"{report.backend}, schema revision {report.schema}"),
        ("Workers (extapi serve)", "1"),
        (
            "Client",
            f"httpx {httpx.__version__} in the benchmark process, one keep-alive connection, "
            f"mutations in batches of {BATCH_SIZE}",
        ),
        ("Password hash", report.password_hash),
        (
            "Users in the database",
            f"{report.users_in_db:,} at the end ({report.prefilled:,} inserted directly "
            "before the server started, the rest through the API)",
        ),
    ]


def fmt_mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def extrapolated(r: Result) -> str:
    """The time for 10,000 users, measured or extrapolated, saying which."""
    if r.count == REFERENCE_USERS:
        return f"{r.seconds:.1f} s (measured)"
    return f"{r.seconds / r.count * REFERENCE_USERS:.1f} s (extrapolated from {r.count:,})"


def render(report: Report, title: str) -> str:
    lines = [f"### {title}", ""]
    lines += [f"- {name}: {value}" for name, value in machine_facts(report)]
    lines += [
        "",
        "| Scenario | Users | Requests | Seconds | Users/s | ms per user | Server CPU s "
        "| Client CPU s | Peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report.results:
        lines.append(
            f"| {r.name}: {r.description} | {r.count:,} | {r.requests:,} | {r.seconds:.2f} "
            f"| {r.per_second:,.0f} | {r.per_item_ms:.2f} | {r.server_cpu_s:.1f} "
            f"| {r.client_cpu_s:.1f} | {fmt_mb(r.peak_rss)} |"
        )
    create, password, extract = report.results
    lines += [
        "",
        f"- Create without password, 10,000 users: {extrapolated(create)}.",
        f"- Create with password: {password.per_item_ms:.1f} ms per user; 10,000 users: "
        f"{extrapolated(password)}.",
        f"- Extract: {extract.count:,} users in {report.pages} pages of up to "
        f"{report.page_limit} (L = ({TOTARA_MAX_QUERY_COMPLEXITY} - {QUERY_FIELD_COST}) // "
        f"{FIELD_COST_PER_RECORD * len(EXTRACT_FIELDS)}), {extract.seconds:.2f} s.",
        f"- Server RSS (pid {report.server_pid}, `{report.server_cmdline}`, "
        f"{report.samples} samples every {int(SAMPLE_INTERVAL_S * 1000)} ms): idle "
        f"{fmt_mb(report.idle_rss)}, peak {fmt_mb(report.peak_rss)}, final "
        f"{fmt_mb(report.final_rss)}; kernel high-water mark (VmHWM) {fmt_mb(report.hwm_rss)}.",
        "",
        "Aims:",
        "",
    ]
    create_10k = create.seconds / create.count * REFERENCE_USERS
    peak = max(report.peak_rss, report.hwm_rss)
    aims = [
        (f"extract of {extract.count:,} users in under 10 s", extract.seconds < 10),
        (
            f"10,000 password-less creations in under 20 s: {extrapolated(create)}",
            create_10k < 20,
        ),
        ("server RSS under 100 MB throughout", peak < 100 * MB),
    ]
    lines += [f"- **{'met' if ok else 'not met'}**: {text}" for text, ok in aims]
    if extract.count < 100_000:
        lines.append(f"- (the extract aim is for 100,000 users; this run had {extract.count:,})")
    lines.append("")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------
def bench(options: Options) -> str:
    with scratch_dir("extapi-people-") as tmp:
        url, backend = prepare_database(options.database_url, tmp, "people")
        report = run_scenarios(options, url, backend, tmp)
        return render(report, report_title(backend))


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return deliver(lambda: bench(options), options.output)


if __name__ == "__main__":
    sys.exit(main())
