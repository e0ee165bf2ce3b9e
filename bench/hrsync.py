"""``extapi sync`` of a 10,000-person feed: a first sync into a fresh server, then a second
run that finds nothing to change (BENCHMARKS.md, "HR feed sync").

Run from the checkout: ``python -m bench.hrsync [--people 10000] [--database-url URL]``.
The server is extapi in a background thread of this process (uvicorn, one worker), seeded
from ``tests/hrsync/seed.toml``: on a temporary SQLite file by default, or on the PostgreSQL
database named by ``--database-url`` (dropped and created again). Its rate limiting is on,
with the default budgets: 429s are counted in the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.run import prepare_database
from extapi.app import ExtapiApp
from extapi.auth.secrets import SecretHasher
from extapi.config import Config
from extapi.db.engine import make_engine
from extapi.graphql.schema import build_schema
from extapi.hrsync.config import load_config
from extapi.hrsync.runner import SyncOptions, run_sync
from extapi.runtime import Runtime, open_database
from extapi.sandbox.seed import apply_seed, load_seed
from extapi.sandbox.server import start_in_thread
from tests.hrsync.feeds import MAPPING, SEED, people, write_feed

KEY = "bench-hrsync-key"


@contextmanager
def seeded_server(database_url: str) -> Iterator[tuple[str, str, str]]:
    """A seeded extapi serving ``database_url``: its URL, client id and secret."""
    config = Config(database_url=database_url, secret_key=KEY)
    engine = open_database(config)
    with engine.begin() as conn:
        clients = apply_seed(conn, SecretHasher(KEY.encode()), load_seed(SEED))
    engine.dispose()
    runtime = Runtime(config, make_engine(database_url), SecretHasher(KEY.encode()))
    server = start_in_thread(ExtapiApp(runtime, build_schema()))
    try:
        client = next(iter(clients.values()))
        yield server.base_url, client.client_id, client.client_secret
    finally:
        server.stop()
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    config = load_config(MAPPING)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, {platform.platform()}")
    with tempfile.TemporaryDirectory(prefix="bench-hrsync-") as tmp:
        url, backend = prepare_database(args.database_url, Path(tmp), "hrsync")
        print(f"{backend}; {args.people:,} people; batch size {args.batch_size}")
        feed = write_feed(Path(tmp) / "people.csv", people(args.people))
        with seeded_server(url) as (base_url, client_id, client_secret):
            options = SyncOptions(base_url, client_id, client_secret, batch_size=args.batch_size)
            for label in ("first sync", "second sync (no changes)"):
                started = time.perf_counter()
                report = run_sync(feed, config, options)
                seconds = time.perf_counter() - started
                assert report.ok, report.text()
                print(
                    f"{label}: {seconds:.1f} s, {args.people / seconds:,.0f} people/s, "
                    f"{report.requests} requests ({report.rate_limited} answered 429), "
                    f"applied {report.applied or 'nothing'}"
                )


if __name__ == "__main__":
    main()
