"""Job assignments benchmark: bulk creation with managers and a full extract on one worker.

Run it with ``.venv/bin/python -m bench.jobs [--database-url URL] [--count 10000]
[--output FILE]``.

What it does, in one run:

1. makes a fresh database (SQLite in a temp dir by default; with ``--database-url`` a
   PostgreSQL database that is dropped and created again) and seeds it through the real CLI with
   ``bench/run.py``'s ``seed`` (service account ``svc`` with the API User role, an API client,
   rate limits at their maximum);
2. inserts ``--count`` users with ``bench/people.py``'s ``prefill`` (SQLAlchemy Core bulk
   inserts), plus one position and one organisation (a framework and an item each), before the
   server starts; none of this is timed;
3. starts the real server (``extapi serve``, one worker), samples its RSS with
   ``bench/people.py``'s ``Memory`` and runs, against that one server:

   * **create**: ``totara_job_create_job_assignment`` for every user, 50 operations per HTTP
     request, with user, idnumber ``JA<i>``, position and organisation; the first 100 users are
     managers and are created first, and every other user ``i`` gets manager ``i % 100``'s job
     assignment (``{idnumber, user: {username}}``) as manager;
   * **extract**: ``totara_job_job_assignments`` paged with cursors through every job
     assignment, five fields each, in the largest page Totara's complexity budget allows.

Every answer is checked: any GraphQL ``errors`` ends the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.people import (
    BATCH_SIZE,
    FIELD_COST_PER_RECORD,
    QUERY_FIELD_COST,
    SAMPLE_INTERVAL_S,
    TOTARA_MAX_QUERY_COMPLEXITY,
    Memory,
    Result,
    cmdline,
    create_in_batches,
    extract_all,
    fmt_mb,
    graphql_client,
    largest_page,
    measured,
    prefill,
    result,
    schema_revision,
    serving_pid,
    status_kib,
)
from bench.run import (
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

MANAGERS = 100
POSITION_IDNUMBER = "BENCH-POS"
ORGANISATION_IDNUMBER = "BENCH-ORG"
EXTRACT_FIELDS = ("id", "idnumber", "userid", "managerjaid", "staffcount")

CREATE_MUTATION = (
    "mutation create_job($input: totara_job_create_job_assignment_input!) "
    "{ totara_job_create_job_assignment(input: $input) { job_assignment { id } } }"
)
EXTRACT_QUERY = (
    "query extract_jobs($cursor: String) { totara_job_job_assignments(query: {pagination: "
    "{limit: %d, cursor: $cursor}}) { items { " + " ".join(EXTRACT_FIELDS) + " } "
    "total next_cursor } }"
)


@dataclass(frozen=True)
class Options:
    database_url: str | None
    count: int
    output: Path | None


@dataclass(frozen=True)
class Report:
    backend: str
    schema: str
    count: int
    setup_s: float
    server_pid: int
    server_cmdline: str
    create: Result
    extract: Result
    pages: int
    page_limit: int
    managed_staff: int
    idle_rss: int
    peak_rss: int
    final_rss: int
    hwm_rss: int
    samples: int


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--count", type=int, default=10_000, help="users and job assignments")
    parser.add_argument("--output", type=Path, default=None, help="append the Markdown here")
    args = parser.parse_args(argv)
    if args.count <= MANAGERS:
        parser.error(f"--count must be more than {MANAGERS} (the managers)")
    return Options(args.database_url, args.count, args.output)


# --- database -------------------------------------------------------------------------------
def add_hierarchy(url: str) -> None:
    """One position and one organisation, each in a framework of its own."""
    from sqlalchemy import insert, update

    from extapi.db.engine import make_engine
    from extapi.db.tables import hierarchy_frameworks, hierarchy_items

    now = int(time.time())
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for kind, idnumber in (
                ("position", POSITION_IDNUMBER),
                ("organisation", ORGANISATION_IDNUMBER),
            ):
                framework = conn.execute(
                    insert(hierarchy_frameworks).values(
                        kind=kind,
                        idnumber=f"{idnumber}-FW",
                        fullname=f"Bench {kind} framework",
                        timecreated=now,
                        timemodified=now,
                    )
                ).inserted_primary_key[0]
                item = conn.execute(
                    insert(hierarchy_items).values(
                        kind=kind,
                        framework_id=framework,
                        fullname=f"Bench {kind}",
                        idnumber=idnumber,
                        depth=1,
                        timecreated=now,
                        timemodified=now,
                    )
                ).inserted_primary_key[0]
                conn.execute(
                    update(hierarchy_items)
                    .where(hierarchy_items.c.id == item)
                    .values(path=f"/{item}")
                )
    finally:
        engine.dispose()


def bulk_usernames(url: str) -> list[str]:
    """The usernames ``prefill`` inserted, in id order."""
    from sqlalchemy import select

    from extapi.db.engine import make_engine
    from extapi.db.tables import users

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = (
                select(users.c.username).where(users.c.username.like("bulk%")).order_by(users.c.id)
            )
            return [str(name) for name in conn.execute(query).scalars()]
    finally:
        engine.dispose()


def staff_total(url: str) -> int:
    """Job assignments that have a manager, read back from the database."""
    from sqlalchemy import func, select

    from extapi.db.engine import make_engine
    from extapi.db.tables import job_assignments

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).where(job_assignments.c.manager_ja_id.is_not(None))
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


# --- client ---------------------------------------------------------------------------------
def create_input(number: int, usernames: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "user": {"username": usernames[number]},
        "idnumber": f"JA{number}",
        "position": {"idnumber": POSITION_IDNUMBER},
        "organisation": {"idnumber": ORGANISATION_IDNUMBER},
    }
    if number >= MANAGERS:
        k = number % MANAGERS
        data["manager"] = {"idnumber": f"JA{k}", "user": {"username": usernames[k]}}
    return data


def create_jobs(client: httpx.Client, usernames: list[str]) -> int:
    """One job assignment per user, managers first; return the number of HTTP requests."""
    inputs = [(f"JA{n}", create_input(n, usernames)) for n in range(len(usernames))]
    path = "totara_job_create_job_assignment.job_assignment"
    return create_in_batches(client, CREATE_MUTATION, inputs, path)


def extract_jobs(client: httpx.Client, limit: int, expected: int) -> tuple[int, int, int]:
    """Page through every job assignment; return (items, pages, sum of staffcount)."""
    staff = 0

    def count_staff(item: dict[str, Any]) -> None:
        nonlocal staff
        staff += int(item["staffcount"])

    field = "totara_job_job_assignments"
    items, pages = extract_all(client, EXTRACT_QUERY, field, limit, expected, count_staff)
    return items, pages, staff


# --- scenarios ------------------------------------------------------------------------------
def run_scenarios(options: Options, url: str, backend: str, tmp: Path) -> Report:
    env = {**os.environ, "EXTAPI_DATABASE_URL": url}
    log(f"database: {backend}; seeding through the CLI")
    creds = seed(env)
    started = time.perf_counter()
    log(f"inserting {options.count:,} users, a position and an organisation directly")
    prefill(url, options.count)
    add_hierarchy(url)
    usernames = bulk_usernames(url)
    if len(usernames) != options.count:
        raise BenchError(f"{len(usernames)} bulk users in the database, not {options.count}")
    setup_s = time.perf_counter() - started
    log(f"  done in {setup_s:.1f} s")
    limit = largest_page(EXTRACT_FIELDS)
    with server(extapi_command(1), env, tmp / "extapi.log") as base:
        pid = serving_pid(int(base.rsplit(":", 1)[1]))
        command = cmdline(pid)
        log(f"server at {base}, serving pid {pid}: {command}")
        memory = Memory(pid)
        memory.start()
        try:
            time.sleep(0.5)  # a few idle samples before any work
            with graphql_client(base, fetch_token(base, creds)) as client:
                log(f"create: {options.count:,} job assignments")
                with measured(pid, memory) as f:
                    requests = create_jobs(client, usernames)
                described = f"with position, organisation, manager (k = i % {MANAGERS})"
                create = result("create", described, options.count, requests, f)
                log(f"  {f['seconds']:.1f} s, {options.count / f['seconds']:,.0f} assignments/s")

                log(f"extract: {options.count:,} job assignments, {limit} per page")
                with measured(pid, memory) as f:
                    items, pages, staff = extract_jobs(client, limit, options.count)
                extract = result("extract", f"{len(EXTRACT_FIELDS)} fields", items, pages, f)
                log(f"  {f['seconds']:.1f} s, {items / f['seconds']:,.0f} items/s, {pages} pages")
            time.sleep(0.3)
            hwm = (status_kib(pid, "VmHWM") or 0) * 1024
        finally:
            memory.stop()
    managed = options.count - MANAGERS
    if staff != managed or staff_total(url) != managed:
        raise BenchError(f"staffcount sums to {staff}, expected {managed}")
    return Report(
        backend,
        schema_revision(url),
        options.count,
        setup_s,
        pid,
        command.replace(sys.executable, "python"),
        create,
        extract,
        pages,
        limit,
        staff,
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
        (
            "Setup (not timed)",
            f"{report.count:,} users, 1 position, 1 organisation inserted directly in "
            f"{report.setup_s:.1f} s",
        ),
    ]


def render(report: Report, title: str) -> str:
    lines = [f"### {title}", ""]
    lines += [f"- {name}: {value}" for name, value in machine_facts(report)]
    lines += [
        "",
        "| Scenario | Job assignments | Requests | Seconds | Per second | ms each "
        "| Server CPU s | Client CPU s | Peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in (report.create, report.extract):
        lines.append(
            f"| {r.name}: {r.description} | {r.count:,} | {r.requests:,} | {r.seconds:.2f} "
            f"| {r.per_second:,.0f} | {r.per_item_ms:.3f} | {r.server_cpu_s:.1f} "
            f"| {r.client_cpu_s:.1f} | {fmt_mb(r.peak_rss)} |"
        )
    create, extract = report.create, report.extract
    lines += [
        "",
        f"- Create: {create.count:,} job assignments ({MANAGERS} managers first, "
        f"{report.managed_staff:,} with a manager) in {create.seconds:.2f} s, "
        f"{create.per_second:,.0f} assignments/s.",
        f"- Extract: {extract.count:,} job assignments in {report.pages} pages of up to "
        f"{report.page_limit} (L = ({TOTARA_MAX_QUERY_COMPLEXITY} - {QUERY_FIELD_COST}) // "
        f"{FIELD_COST_PER_RECORD * len(EXTRACT_FIELDS)}), {extract.seconds:.2f} s, "
        f"{extract.per_second:,.0f} items/s; ids distinct, staffcount sums to "
        f"{report.managed_staff:,}.",
        f"- Server RSS (pid {report.server_pid}, `{report.server_cmdline}`, "
        f"{report.samples} samples every {int(SAMPLE_INTERVAL_S * 1000)} ms): idle "
        f"{fmt_mb(report.idle_rss)}, peak {fmt_mb(report.peak_rss)}, final "
        f"{fmt_mb(report.final_rss)}; kernel high-water mark (VmHWM) {fmt_mb(report.hwm_rss)}.",
        "",
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------
def bench(options: Options) -> str:
    with scratch_dir("extapi-jobs-") as tmp:
        url, backend = prepare_database(options.database_url, tmp, "jobs")
        report = run_scenarios(options, url, backend, tmp)
        return render(report, report_title(backend))


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return deliver(lambda: bench(options), options.output)


if __name__ == "__main__":
    sys.exit(main())
