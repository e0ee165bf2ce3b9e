"""What the request log costs: per request on the hot path, and per row when flushed.

    .venv/bin/python -m bench.request_log [--database-url postgresql://.../DB] [--iterations N]

1. ``handle()`` of the GraphQL endpoint for the status query, in-process, timed with the
   request log on (a thread flushing it every second, as the server's flusher does) and off,
   in alternating rounds (budgets at their maximum, memory windows, the token cached): the
   difference is what the log adds to one request, writing included.
2. ``RequestLog.record`` alone.
3. ``RequestLog.flush`` of 1,000 and 10,000 buffered rows (one transaction each), in rows/s;
   and of 10,000 rows that each carry variables and errors (what a failing request keeps).
4. What the endpoint spends on those texts for one request: masking and capping a small
   variables object, and an error list.

With ``--database-url`` the named PostgreSQL database is dropped and created again.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from bench.hot_path import _setup
from bench.run import backend_name, bench_runtime, micro_options
from extapi.auth import clients
from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.graphql.schema import build_schema
from extapi.requestlog.buffer import RequestLog
from extapi.requestlog.details import errors_of, errors_text, variables_text
from extapi.runtime import Runtime
from extapi.settings.site import MAX_INT, set_setting

BODY = b'{"query": "query { totara_webapi_status { status } }", "variables": "{}"}'


def _unlimited(runtime: Runtime) -> int:
    """Budgets at their maximum so that no request is refused; returns the client's id."""
    with runtime.engine.begin() as conn:
        set_setting(conn, "site_rate_limit", str(MAX_INT))
        set_setting(conn, "client_rate_limit", str(MAX_INT))
        client = clients.list_clients(conn)[0]
        change = clients.ClientSettingsChange(rate_limit=MAX_INT)
        clients.update_client_settings(conn, client["client_id"], change)
        return int(client["id"])


def _round(fn: Callable[[], object], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        fn()
    return (time.perf_counter() - start) / iterations * 1e6


def _flush_every_second(log: RequestLog, stop: threading.Event) -> None:
    while not stop.wait(1.0):
        log.flush()


def _handle_costs(runtime: Runtime, token: str, iterations: int) -> tuple[float, float]:
    """Median µs of handle() with the log off, and on with a thread flushing it every second
    (as the server's flusher does), over alternating rounds."""
    endpoint = GraphQLEndpoint(runtime, build_schema())
    auth = f"Bearer {token}".encode()
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/api/graphql.php",
        "headers": [(b"authorization", auth), (b"content-type", b"application/json")],
    }
    assert endpoint.handle(scope, BODY, False).status == 200
    log = runtime.request_log
    stop = threading.Event()
    flusher = threading.Thread(target=_flush_every_second, args=(log, stop))
    flusher.start()
    on: list[float] = []
    off: list[float] = []
    try:
        for _ in range(7):
            for enabled, samples in ((True, on), (False, off)):
                log.enabled = enabled
                samples.append(_round(lambda: endpoint.handle(scope, BODY, False), iterations))
    finally:
        stop.set()
        flusher.join()
        log.enabled = True
    assert log.dropped == 0, "the buffer overflowed: use fewer iterations per round"
    return statistics.median(on), statistics.median(off)


VARIABLES = {"input": {"username": "jdoe", "email": "jdoe@example.com", "password": "x" * 12}}
ERRORS = {"errors": [{"message": "Internal server error", "debugMessage": "Invalid user id"}]}


def _flush_rate(runtime: Runtime, client_id: int, rows: int, detailed: bool = False) -> float:
    """Rows per second for one flush of ``rows`` buffered rows (median of 5); ``detailed``
    rows carry a variables text and an errors text, as a failing request's row does."""
    log = runtime.request_log
    rates = []
    variables = variables_text([VARIABLES]) if detailed else None
    errors = errors_text(errors_of(ERRORS)) if detailed else None
    outcome = "error" if detailed else "success"
    for _ in range(5):
        now = int(time.time())
        for n in range(rows):
            log.record(
                client_id,
                "Status",
                7,
                200,
                outcome,
                1.25,
                now - n % 60,
                250_000,
                "0123456789abcdef0123456789abcdef",
                variables,
                errors,
            )
        start = time.perf_counter()
        assert log.flush() == rows
        rates.append(rows / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    args = micro_options(__doc__, 5000)
    with bench_runtime(args.database_url, "log") as runtime:
        token = _setup(runtime)
        client_id = _unlimited(runtime)
        on, off = _handle_costs(runtime, token, args.iterations)
        log = runtime.request_log
        record = _round(lambda: log.record(client_id, "Status", 7, 200, "success", 1.0, 0), 9000)
        log.flush()
        rates = [(n, _flush_rate(runtime, client_id, n)) for n in (1_000, 10_000)]
        detailed = _flush_rate(runtime, client_id, 10_000, detailed=True)
        texts = _round(lambda: (variables_text([VARIABLES]), errors_text(errors_of(ERRORS))), 9000)
        backend = backend_name(runtime)
    print(f"| request log ({backend}) | figure |\n|---|---:|")
    print(f"| handle(), status query, log on (flushed every second meanwhile) | {on:.1f} µs |")
    print(f"| handle(), status query, log off | {off:.1f} µs |")
    print(f"| difference per request | {on - off:.1f} µs |")
    print(f"| RequestLog.record alone | {record:.2f} µs |")
    for n, rate in rates:
        print(f"| flush of {n:,} rows (one transaction) | {rate:,.0f} rows/s |")
    print(f"| flush of 10,000 rows with variables and errors | {detailed:,.0f} rows/s |")
    print(f"| variables and errors texts of one failing request | {texts:.2f} µs |")


if __name__ == "__main__":
    main()
