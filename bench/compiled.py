"""Compiled plans against graphql-core's executor, in-process (issue 14).

Runs typical sync documents (a users page of 100 with five fields, a job assignments page of
100, the status query) through :func:`extapi.graphql.execute.run` many times with each
``EXTAPI_COMPILED_EXECUTION`` mode, each run with a fresh request context and complexity
counter as the endpoint makes them, on SQLite (a temp file) or the PostgreSQL database given
with ``--database-url`` (dropped and created again):

    .venv/bin/python -m bench.compiled [--database-url postgresql://.../DB] [--iterations 200]

Prints, per path, the median over rounds (alternating between the paths) of the mean CPU
and wall microseconds per execution.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from bench.run import backend_name, bench_runtime, micro_options
from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.auth.tokens import ApiCaller
from extapi.graphql.context import RequestContext
from extapi.graphql.documents import CheckedDocument, DocumentCache
from extapi.graphql.execute import run
from extapi.graphql.schema import build_schema
from extapi.limits.cost import ComplexityCounter
from extapi.people.users import NewUser, create_user
from extapi.runtime import Runtime
from extapi.settings.site import SiteSettings, load_site_settings

PEOPLE = 100
DOCUMENTS = {
    "users page (100 users, 5 fields)": (
        "query users { core_user_users(query: {pagination: {limit: 100}}) "
        "{ items { id username firstname lastname email } total next_cursor } }"
    ),
    "job assignments page (100, 5 fields)": (
        "query jobs { totara_job_job_assignments(query: {pagination: {limit: 100}}) "
        "{ items { id idnumber fullname userid startdate } total next_cursor } }"
    ),
    "status query": "{ totara_webapi_status { status timestamp } }",
}
CREATE_JOB = (
    "mutation ($input: totara_job_create_job_assignment_input!) "
    "{ totara_job_create_job_assignment(input: $input) { job_assignment { id } } }"
)


class Bench:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.schema = build_schema()
        with runtime.engine.begin() as conn:
            site = load_site_settings(conn)
            for n in range(PEOPLE):
                create_user(
                    conn, NewUser(f"person{n}", f"p{n}@example.com", f"First{n}", f"Last{n}"), site
                )
            user_id = create_user(
                conn, NewUser("bench.svc", "svc@example.com", "Bench", "Service"), site
            )
            assign_role(conn, "apiuser", user_id, None)
            row, _ = clients.add_client(conn, runtime.hasher, site, clients.NewClient("b", user_id))
        self.site = SiteSettings(max_query_complexity=1_000_000)
        client_pk, client_id = int(row["id"]), row["client_id"]
        self.caller = ApiCaller(client_pk, client_id, None, user_id, None, "99", None, 0)
        create = DocumentCache(self.schema).get(CREATE_JOB, False, 15)
        for n in range(PEOPLE):
            job = {"user": {"username": f"person{n}"}, "idnumber": f"JA{n}", "fullname": "Job"}
            _, errors = self.execute(create, "off", {"input": job})
            assert not errors, errors

    def execute(
        self, checked: CheckedDocument, mode: str, variables: dict[str, Any] | None = None
    ) -> tuple[Any, Any]:
        context = RequestContext(self.runtime.engine, self.site, self.caller)
        counter = ComplexityCounter(self.schema, self.site.max_query_complexity, 30.0)
        context.complexity = counter
        try:
            outcome = run(
                self.schema, checked, variables, None, context, [counter], mode, self.site
            )
        finally:
            context.close()
        return outcome.result.data, outcome.result.errors

    def compare(
        self, query: str, iterations: int, rounds: int = 7
    ) -> dict[str, tuple[float, float]]:
        """Per mode, the median over rounds of the mean CPU and wall microseconds per
        execution. Rounds alternate between the modes, so that a change in the machine's
        load falls on both; CPU time (this process's) is what the other tenants of a shared
        machine do not inflate."""
        modes = ("off", "always")
        checked = {mode: DocumentCache(self.schema).get(query, False, 15) for mode in modes}
        for mode in modes:
            _, errors = self.execute(checked[mode], mode)
            assert not errors, errors
        samples: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
        for _ in range(rounds):
            for mode in modes:
                cpu, wall = time.process_time(), time.perf_counter()
                for _ in range(iterations):
                    self.execute(checked[mode], mode)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                samples[mode].append((cpu / iterations * 1e6, wall / iterations * 1e6))
        return {
            mode: (
                statistics.median(s[0] for s in samples[mode]),
                statistics.median(s[1] for s in samples[mode]),
            )
            for mode in modes
        }


def main() -> None:
    args = micro_options(__doc__, 200)
    with bench_runtime(args.database_url, "compiled") as runtime:
        bench = Bench(runtime)
        backend = backend_name(runtime)
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(
            f"| document ({backend}) | graphql-core CPU µs | compiled CPU µs | saved "
            "| graphql-core wall µs | compiled wall µs |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for label, query in DOCUMENTS.items():
            # the status query is far cheaper: more runs for the same measuring time
            iterations = args.iterations * (20 if "status" in label else 1)
            found = bench.compare(query, iterations)
            (general, general_wall), (compiled, compiled_wall) = found["off"], found["always"]
            saved = (general - compiled) / general * 100
            print(
                f"| {label} | {general:.0f} | {compiled:.0f} | {saved:.0f} % "
                f"| {general_wall:.0f} | {compiled_wall:.0f} |"
            )
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
