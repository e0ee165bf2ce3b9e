"""What an unbounded page costs: ``core_user_users`` with ``limit: -1``, in-process.

    .venv/bin/python -m bench.list_reads [--users 50000] [--database-url postgresql://.../DB]

Seeds ``--users`` users straight into the table, fetches a token, then times two requests
with Starlette's TestClient (no network, one process), each ``--rounds`` times: the total
alone, and every item's id (at the default complexity budget of 6,000 points). Prints the
median time and the peak memory Python allocated during one request (tracemalloc, in a
separate run because tracing slows everything down). Run it from a checkout to measure that
checkout's code.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from typing import Any

from starlette.testclient import TestClient

from bench.people import prefill
from bench.run import backend_name, bench_runtime, host_facts, report_title
from extapi.access.roles import assign_role
from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.people.users import NewUser, create_user
from extapi.settings.site import load_site_settings

QUERIES = {
    "`limit: -1 { total }`": "{ core_user_users(query: {pagination: {limit: -1}}) { total } }",
    "`limit: -1 { items { id } }`": (
        "{ core_user_users(query: {pagination: {limit: -1}}) { total items { id } } }"
    ),
}


def _token(http: TestClient, runtime: Any) -> str:
    with runtime.engine.begin() as conn:
        site = load_site_settings(conn)
        user = create_user(conn, NewUser("benchapi", "benchapi@example.com", "B", "A"), site)
        assign_role(conn, "apiuser", user, None)
        row, secret = clients.add_client(
            conn, runtime.hasher, site, clients.NewClient("Bench", user)
        )
    answer = http.post(
        "/totara/oauth2/token.php",
        data={
            "grant_type": "client_credentials",
            "client_id": row["client_id"],
            "client_secret": secret,
        },
    )
    return str(answer.json()["access_token"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    options = parser.parse_args(argv)
    with bench_runtime(options.database_url, "list-reads") as runtime:
        seed = prefill(str(runtime.engine.url.render_as_string(hide_password=False)), options.users)
        with TestClient(ExtapiApp(runtime)) as http:
            token = _token(http, runtime)
            headers = {"Authorization": f"Bearer {token}"}

            def ask(query: str) -> dict[str, Any]:
                answer = http.post("/api/graphql.php", json={"query": query}, headers=headers)
                return dict(answer.json())

            lines = [
                f"### {report_title(backend_name(runtime))}: `limit: -1` over "
                f"{options.users:,} users",
                "",
                *(f"- {name}: {value}" for name, value in host_facts()),
                f"- seeding: {seed:.1f} s",
                "",
                "| request | median | peak Python memory | answer |",
                "| --- | ---: | ---: | --- |",
            ]
            for label, query in QUERIES.items():
                ask(query)  # warm the document cache and the connection
                times = []
                for _ in range(options.rounds):
                    started = time.perf_counter()
                    body = ask(query)
                    times.append(time.perf_counter() - started)
                tracemalloc.start()
                ask(query)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                if "errors" in body:
                    outcome = body["errors"][0]["message"]
                else:
                    outcome = f"total {body['data']['core_user_users']['total']:,}"
                lines.append(
                    f"| {label} | {statistics.median(times) * 1000:,.0f} ms "
                    f"| {peak / 2**20:,.1f} MiB | {outcome} |"
                )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
