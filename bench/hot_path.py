"""What "changes apply at once" costs per request: micro-timings of the hot-path checks.

Every API request needs the current site revision so that a change made by any process applies
everywhere: on SQLite it reads it (one tiny indexed read); on PostgreSQL it uses the number its
worker's listener confirmed within the revision lease, and reads only when the lease has run
out (extapi.db.lease). The token row is read only when the token is not cached for that
revision. This script times each piece in-process, on SQLite (a temp file) or on the database
given with ``--database-url``:

    .venv/bin/python -m bench.hot_path [--database-url postgresql://.../DB] [--iterations 20000]

With ``--database-url`` the named PostgreSQL database is dropped and created again.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from bench.run import backend_name, bench_runtime, micro_options
from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.auth.tokens import TokenGate, issue_token
from extapi.db.hot import HotReader
from extapi.people.users import NewUser, create_user
from extapi.runtime import Runtime
from extapi.settings.site import load_site_settings


def _setup(runtime: Runtime) -> str:
    """A service account, a client and one token; returns the token."""
    with runtime.engine.begin() as conn:
        site = load_site_settings(conn)
        user_id = create_user(
            conn, NewUser("bench.svc", "svc@example.com", "Bench", "Service"), site
        )
        assign_role(conn, "apiuser", user_id, None)
        row, _ = clients.add_client(conn, runtime.hasher, site, clients.NewClient("b", user_id))
        return issue_token(conn, runtime.hasher, int(row["id"]), 3600).access_token


def _time(fn: Callable[[], object], iterations: int, rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean microseconds per call."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        samples.append((time.perf_counter() - start) / iterations * 1e6)
    return statistics.median(samples)


def _measure(runtime: Runtime, token: str, iterations: int) -> list[tuple[str, float]]:
    gate = runtime.tokens
    strict = HotReader(runtime.engine)  # no lease: reads every time

    def uncached() -> object:
        # A gate that has seen nothing: the joined revision + token read.
        return TokenGate(runtime.reader, runtime.hasher).check(token)

    revision = runtime.reader.revision()
    results = [
        ("site revision, read", _time(strict.revision, iterations)),
        ("site revision, as the request path gets it", _time(runtime.reader.revision, iterations)),
        ("token check, cached for this revision", _time(lambda: gate.check(token), iterations)),
        (
            "token check, cache miss (HMAC + revision and token in one read)",
            _time(uncached, iterations),
        ),
        ("HMAC-SHA256 of the token", _time(lambda: runtime.hasher.digest(token), iterations)),
        (
            "site settings, unchanged revision",
            _time(lambda: runtime.settings_at(revision), iterations),
        ),
    ]
    strict.close()
    return results


def main() -> None:
    args = micro_options(__doc__, 20000)
    with bench_runtime(args.database_url, "hot") as runtime:
        results = _measure(runtime, _setup(runtime), args.iterations)
        backend = backend_name(runtime)
    print(f"| check ({backend}) | µs per request |\n|---|---:|")
    for label, micros in results:
        print(f"| {label} | {micros:.1f} |")


if __name__ == "__main__":
    main()
