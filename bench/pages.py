"""How quickly the admin pages and the API documentation answer, in-process.

    .venv/bin/python -m bench.pages [--database-url postgresql://.../DB] [--iterations N]

Seeds 50 API clients, 2,000 users and, for one client, a full hour of request-log rows
(``--log-rows``, default 60,000: 1,000 a minute), signs in once, then times each page with
Starlette's TestClient (no network, one process): median and 95th percentile per request.
With ``--database-url`` the named PostgreSQL database is dropped and created again, and
analysed after seeding.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

from starlette.testclient import TestClient

from bench.run import backend_name, bench_runtime, host_facts, report_title
from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.people.users import NewUser, create_user, make_site_admin
from extapi.requestlog.buffer import SUCCESS
from extapi.requestlog.details import errors_text, variables_text
from extapi.runtime import Runtime
from extapi.settings.site import load_site_settings

PASSWORD = "Bench-admin-1"
EXPLORER = "/totara/api/documentation/explorer"
STATUS = "query { totara_webapi_status { status } }"


def _seed(runtime: Runtime, log_rows: int) -> str:
    """Returns the client id whose page carries the full hour of log rows."""
    with runtime.engine.begin() as conn:
        site = load_site_settings(conn)
        admin = create_user(conn, NewUser("admin", "admin@example.com", "A", "B", PASSWORD), site)
        make_site_admin(conn, admin)
        first = ""
        for n in range(2000):
            user = create_user(conn, NewUser(f"u{n}", f"u{n}@example.com", "F", f"L{n}"), site)
            if n < 50:
                row, _ = clients.add_client(
                    conn, runtime.hasher, site, clients.NewClient(f"Client {n}", user)
                )
                first = first or str(row["client_id"])
        pk = int(clients.get_client(conn, first)["id"])
    now = int(time.time())
    log = runtime.request_log
    for i in range(log_rows):
        when = now - 3600 + i * 3600 // log_rows
        log.record(pk, "status", 6, 200, SUCCESS, 0.4, when)
        if i % 100 == 0:  # and one failing request in a hundred, with what it keeps
            log.record(pk, "SyncUsers", 0, 200, "error", 2.5, when, 250_000, "b" * 32, *_FAILED)
        if log.pending() >= 10_000:
            log.flush()
    log.flush()
    if runtime.engine.dialect.name == "postgresql":
        # Autovacuum would do this on a live site; right after a bulk load the planner's
        # statistics say the log is empty and it sorts a client's rows instead of walking
        # the (client, time, id) index backwards.
        with runtime.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return first


_FAILED = (
    variables_text([{"since": "2026-12-01", "password": "x"}]),
    errors_text([{"message": "Cannot query field", "debugMessage": "no_such_field"}]),
)
_NEXT = re.compile(r'href="([^"]+)" rel="next"')
_DETAIL = re.compile(r'href="(/admin/clients/[^"]+/requests/\d+)"')


def _log_paths(http: TestClient, client_id: str) -> dict[str, str]:
    """The request log pages, with a second page and a detail found as a reader would."""
    log = f"/admin/clients/{client_id}/requests"
    first = http.get(log).text
    older = _NEXT.search(first)
    detail = _DETAIL.search(http.get(f"{log}?outcome=errors").text)
    assert older is not None and detail is not None
    return {
        "request log, every client": "/admin/requests",
        "request log, every client, errors": "/admin/requests?outcome=errors",
        "request log, one client": log,
        "request log, one client, second page": older.group(1).replace("&amp;", "&"),
        "request log, one client, errors": f"{log}?outcome=errors",
        "request log, one client, operation": f"{log}?operation=sync",
        "request log, one request": detail.group(1),
    }


def _time(http: TestClient, path: str, iterations: int) -> tuple[float, float]:
    http.get(path)  # warm caches (the documentation model is built once per schema)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        response = http.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _run(http: TestClient, client_id: str, iterations: int) -> tuple[float, float]:
    """A run from the explorer: the form's POST, answered as JSON (the page's script)."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(EXPLORER).text)
    assert token is not None
    form = {"csrf_token": token.group(1), "client_id": client_id, "query": STATUS, "variables": ""}
    headers = {"Accept": "application/json"}
    http.post(EXPLORER, data=form, headers=headers)  # the explorer's token is issued here
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        response = http.post(EXPLORER, data=form, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.json()["status"] == 200, response.text
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def report(runtime: Runtime, iterations: int, log_rows: int) -> str:
    client_id = _seed(runtime, log_rows)
    with TestClient(ExtapiApp(runtime), base_url="http://bench") as http:
        start = time.perf_counter()
        http.post("/login", data={"username": "admin", "password": PASSWORD})
        sign_in_ms = (time.perf_counter() - start) * 1000
        paths = {
            "client list (50 clients)": "/admin/clients",
            "add-client form (2,000 possible accounts)": "/admin/clients/new?tenant=system",
            f"client page ({log_rows:,} log rows in the hour)": f"/admin/clients/{client_id}",
            "settings": "/admin/settings",
            "users, first page of 2,001": "/admin/users",
            "users, search": "/admin/users?q=u19",
            "API documentation": "/totara/api/documentation/",
            "API documentation, search": "/totara/api/documentation/?q=tenant",
            "schema SDL": "/totara/api/documentation/schema.php",
            "API explorer": EXPLORER,
            "API explorer, opened from an example": f"{EXPLORER}?example=query-core_user_users",
            **_log_paths(http, client_id),
        }
        rows = [(name, *_time(http, path, iterations)) for name, path in paths.items()]
        rows.append(
            ("API explorer, run the status query as a client", *_run(http, client_id, iterations))
        )
    lines = [f"### Admin pages, {report_title(backend_name(runtime))}", ""]
    lines += [f"- {k}: {v}" for k, v in host_facts()]
    lines += ["", f"Sign-in (Argon2id check included): {sign_in_ms:.0f} ms", ""]
    lines += ["| page | median ms | p95 ms |", "|---|---:|---:|"]
    lines += [f"| {name} | {median:.1f} | {p95:.1f} |" for name, median, p95 in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--log-rows", type=int, default=60_000)
    args = parser.parse_args()
    with bench_runtime(args.database_url, "pages") as runtime:
        print(report(runtime, args.iterations, args.log_rows))


if __name__ == "__main__":
    main()
