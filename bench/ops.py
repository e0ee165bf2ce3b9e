"""What the operations layer costs per request: the status query through the whole ASGI app.

    .venv/bin/python -m bench.ops [--database-url postgresql://.../DB] [--iterations N]

In-process, on one event loop, with a stand-in for the server's receive and send, in
alternating rounds (budgets at their maximum, memory windows, the token cached):

1. the GraphQL endpoint called directly: no request id, metrics or log line;
2. the app (``ExtapiApp.__call__``) with metrics off and no log configured, as tests and
   embedding applications run it;
3. the app with metrics off and a JSON log line per request (written to /dev/null): what
   ``extapi serve`` does by default;
4. the app with metrics on and the JSON log line.

The differences to the first are what the request id, the metrics and the log line add.
Rounds are timed in CPU time of the thread (what a busy machine's other processes do not
inflate) and each starts with a full garbage collection, so that one falling in a round does
not decide the comparison; the figures are the medians of 15 rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import ipaddress
import logging
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from bench.hot_path import _setup
from bench.request_log import _unlimited
from bench.run import scratch_dir
from extapi.app import GRAPHQL_PATH, ExtapiApp
from extapi.config import Config
from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.ops.logs import ACCESS_LOGGER, JsonFormatter, LineHandler
from extapi.runtime import Runtime, open_runtime
from tests.support.databases import reset_postgres

BODY = b'{"query": "query { totara_webapi_status { status } }", "variables": "{}"}'
ROUNDS = 15


@contextmanager
def _runtime(database_url: str | None) -> Iterator[Runtime]:
    with scratch_dir("extapi-bench-ops-") as tmp:
        url = database_url or f"sqlite:///{tmp / 'ops.db'}"
        if database_url:
            reset_postgres(database_url)
        loopback = (ipaddress.ip_network("127.0.0.0/8"),)
        runtime = open_runtime(Config(database_url=url, secret_key="bench", metrics=loopback))
        try:
            yield runtime
        finally:
            runtime.close()


@contextmanager
def _json_lines_to_devnull() -> Iterator[Callable[[bool], None]]:
    """A switch for the access log: on writes JSON lines to /dev/null as `extapi serve`
    configures it, off disables it."""
    logger = logging.getLogger(ACCESS_LOGGER)
    with open(os.devnull, "w") as sink:
        handler = LineHandler(sink)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False

        def switch(on: bool) -> None:
            logger.setLevel(logging.INFO if on else logging.WARNING)

        try:
            yield switch
        finally:
            logger.removeHandler(handler)
            logger.propagate = True
            logger.setLevel(logging.NOTSET)


def _metrics_switch(app: ExtapiApp, runtime: Runtime) -> Callable[[bool], None]:
    """Metrics on or off everywhere the request path looks at them."""
    metrics = runtime.metrics
    endpoint = cast(GraphQLEndpoint, app.fast[GRAPHQL_PATH])

    def switch(on: bool) -> None:
        chosen = metrics if on else None
        runtime.metrics = chosen
        app.observe.metrics = chosen
        endpoint.documents.metrics = chosen

    return switch


async def _round(call: Callable[[], Any], iterations: int) -> float:
    # A full collection costs tens of milliseconds here, and falls in whichever variant
    # happens to run then: each round starts with the heap collected instead.
    gc.collect()
    start = time.thread_time()
    for _ in range(iterations):
        await call()
        # One request per turn of the loop, as a server with one client would see them (the
        # request lines are written at the end of each turn).
        await asyncio.sleep(0)
    return (time.thread_time() - start) / iterations * 1e6


def measure(runtime: Runtime, token: str, iterations: int) -> dict[str, float]:
    app = ExtapiApp(runtime)
    endpoint = app.fast[GRAPHQL_PATH]
    set_metrics = _metrics_switch(app, runtime)
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": GRAPHQL_PATH,
        # What an HTTP client such as curl sends, besides the body.
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"curl/7.88.1"),
            (b"accept", b"*/*"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(BODY)).encode()),
        ],
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    samples: dict[str, list[float]] = {
        "endpoint alone": [],
        "app, metrics off, no log": [],
        "app, metrics off, JSON log line (serve's default)": [],
        "app, metrics on, JSON log line": [],
    }
    loop = asyncio.new_event_loop()
    try:
        with _json_lines_to_devnull() as log_lines:
            loop.run_until_complete(app(scope, receive, send))  # warm the caches
            for _ in range(ROUNDS):
                for name, runs in samples.items():
                    set_metrics("metrics on" in name)
                    log_lines("log line" in name)
                    target = endpoint if name == "endpoint alone" else app

                    def call(target: Any = target) -> Any:
                        return target(scope, receive, send)

                    runs.append(loop.run_until_complete(_round(call, iterations)))
                    if any(status != 200 for status in statuses):
                        raise RuntimeError(f"a status query failed: {set(statuses)}")
                    statuses.clear()
            set_metrics(True)
    finally:
        loop.close()
    return {name: statistics.median(runs) for name, runs in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    with _runtime(args.database_url) as runtime:
        token = _setup(runtime)
        _unlimited(runtime)
        runtime.request_log.enabled = False  # its cost is bench.request_log's subject
        figures = measure(runtime, token, args.iterations)
    base = figures["endpoint alone"]
    print("| status query, in-process | CPU µs per request | added |\n|---|---:|---:|")
    for name, value in figures.items():
        print(f"| {name} | {value:.1f} | {value - base:+.1f} |")


if __name__ == "__main__":
    main()
