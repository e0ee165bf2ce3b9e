"""What the per-client IP allow-lists cost per request, in-process.

    .venv/bin/python -m bench.allow_list [--database-url postgresql://.../DB] [--iterations N]

``handle()`` of the GraphQL endpoint for the status query (token cached, budgets at their
maximum, request log off), in alternating rounds, for a client without a list, with a list of
one range, with 256 entries where only the last matches, behind a trusted proxy (the address
read from ``X-Forwarded-For``), and refused (403). Then the address check and the client
address rule alone. Times are CPU time of this process, so that other work on a shared machine
weighs less than on a wall clock. With ``--database-url`` the named PostgreSQL database is
dropped and created again.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.hot_path import _setup
from bench.request_log import BODY, _unlimited
from bench.run import backend_name, bench_runtime, micro_options
from extapi.addresses import address_list, client_address
from extapi.auth import clients
from extapi.auth.allow_lists import address_refusal
from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.graphql.schema import build_schema
from extapi.runtime import Runtime

PROXIES = address_list("10.0.0.0/8")
NO_PROXIES = address_list("")
MANY = ", ".join([*(f"172.16.{i // 256}.{i % 256}" for i in range(255)), "192.0.2.0/24"])


def _round(fn: Callable[[], object], iterations: int) -> float:
    """Mean CPU microseconds per call."""
    start = time.process_time()
    for _ in range(iterations):
        fn()
    return (time.process_time() - start) / iterations * 1e6


def _scope(token: str, peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"authorization", f"Bearer {token}".encode())]
    if forwarded is not None:
        headers.append((b"x-forwarded-for", forwarded.encode()))
    return {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/api/graphql.php",
        "headers": headers,
        "client": (peer, 50000),
    }


def _allow(runtime: Runtime, entries: str) -> None:
    with runtime.engine.begin() as conn:
        client_id = clients.list_clients(conn)[0]["client_id"]
        change = clients.ClientSettingsChange(allowed_ips=entries)
        clients.update_client_settings(conn, client_id, change)


# name, stored list, trusted proxies, peer, X-Forwarded-For, expected status
CASES = [
    ("no allow-list", "", NO_PROXIES, "192.0.2.1", None, 200),
    ("1 range, allowed", "192.0.2.0/24", NO_PROXIES, "192.0.2.1", None, 200),
    ("256 entries, last one matches", MANY, NO_PROXIES, "192.0.2.1", None, 200),
    ("behind a trusted proxy", "192.0.2.0/24", PROXIES, "10.0.0.2", "192.0.2.1, 10.0.0.3", 200),
    ("refused (403)", "198.51.100.0/24", NO_PROXIES, "192.0.2.1", None, 403),
]


def _handle_costs(runtime: Runtime, token: str, iterations: int) -> dict[str, float]:
    endpoint = GraphQLEndpoint(runtime, build_schema())
    samples: dict[str, list[float]] = {case[0]: [] for case in CASES}
    for _ in range(7):
        for name, entries, proxies, peer, forwarded, status in CASES:
            _allow(runtime, entries)
            runtime.trusted_proxies = proxies
            scope = _scope(token, peer, forwarded)
            assert endpoint.handle(scope, BODY, False).status == status, name
            request = functools.partial(endpoint.handle, scope, BODY, False)
            samples[name].append(_round(request, iterations))
    return {name: statistics.median(values) for name, values in samples.items()}


def _micro(token: str) -> list[tuple[str, Callable[[], object]]]:
    one = address_list("192.0.2.0/24")
    many = address_list(MANY)
    direct = _scope(token, "192.0.2.1")
    proxied = _scope(token, "10.0.0.2", "192.0.2.1, 10.0.0.3")
    return [
        ("address check, no list", lambda: address_refusal(None, direct, NO_PROXIES, 1)),
        ("address check, 1 range", lambda: address_refusal(one, direct, NO_PROXIES, 1)),
        ("address check, 256 entries", lambda: address_refusal(many, direct, NO_PROXIES, 1)),
        ("client address, direct", lambda: client_address(direct, NO_PROXIES)),
        ("client address, 2 proxies", lambda: client_address(proxied, PROXIES)),
    ]


def main() -> None:
    args = micro_options(__doc__, 3000)
    with bench_runtime(args.database_url, "allow") as runtime:
        token = _setup(runtime)
        _unlimited(runtime)
        runtime.request_log.enabled = False
        costs = _handle_costs(runtime, token, args.iterations)
        backend = backend_name(runtime)
        micro = [(name, _round(fn, 50_000)) for name, fn in _micro(token)]
    print(f"| status query, handle() ({backend}) | µs per request |\n|---|---:|")
    for name, cost in costs.items():
        print(f"| {name} | {cost:.1f} |")
    for name, cost in micro:
        print(f"| {name} | {cost:.2f} |")


if __name__ == "__main__":
    main()
