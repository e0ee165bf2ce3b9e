"""One sync run: read the feed, read the server, plan, then apply (or only report)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from extapi.client.sync import Client
from extapi.hrsync.apply import apply_plan
from extapi.hrsync.config import SyncConfig
from extapi.hrsync.feed import read_feed
from extapi.hrsync.plan import make_plan
from extapi.hrsync.report import Report
from extapi.hrsync.server import read_state
from extapi.hrsync.state import Journal, default_state_path, feed_checksum

__all__ = ["SyncOptions", "run_sync", "Progress"]

# The server's Retry-After may be up to two windows (120 s); a sync waits that long.
MAX_WAIT_SECONDS = 130.0
MAX_RETRIES = 10

Progress = Callable[[str, int], Callable[[int], None]]
"""``progress(description, total)`` starts a bar and returns its ``advance(n)``."""


def _no_progress(description: str, total: int) -> Callable[[int], None]:
    return lambda n: None


@dataclass
class SyncOptions:
    url: str
    client_id: str
    client_secret: str
    fmt: str | None = None
    dry_run: bool = False
    state: Path | None = None
    batch_size: int = 50
    max_actions: int | None = None
    page_size: int | None = None
    mapping: bytes = b""


@contextmanager
def _client(options: SyncOptions, counter: list[int]) -> Iterator[Client]:
    def count(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/graphql.php"):
            counter[0] += 1
            if response.status_code == 429:
                counter[1] += 1

    with (
        httpx.Client(timeout=120, event_hooks={"response": [count]}) as http,
        Client(
            options.url,
            options.client_id,
            options.client_secret,
            http=http,
            max_retries=MAX_RETRIES,
            max_wait=MAX_WAIT_SECONDS,
        ) as client,
    ):
        yield client


def run_sync(
    feed_path: Path,
    config: SyncConfig,
    options: SyncOptions,
    progress: Progress = _no_progress,
) -> Report:
    """Run once; the report says what was planned, applied, refused and why."""
    started = time.perf_counter()
    feed = read_feed(feed_path, config, options.fmt)
    report = Report(options.dry_run, rows=feed.rows)
    counter = [0, 0]  # requests answered, of which refused with 429
    with _client(options, counter) as client:
        state = read_state(client, config, options.page_size)
        plan = make_plan(state, feed, config)
        report.people = len(feed.people)
        report.unchanged = plan.unchanged
        report.planned = plan.counts()
        report.bad_rows = plan.errors
        if options.dry_run:
            report.actions = plan.actions
        elif plan.actions or (options.state or default_state_path(feed_path)).exists():
            path = options.state or default_state_path(feed_path)
            journal = Journal.open(path, feed_checksum(feed_path, options.mapping))
            report.resumed = journal.resumed
            finished = False
            try:
                advance = progress("Syncing", len(plan.actions))
                applied = apply_plan(
                    client,
                    plan.actions,
                    journal,
                    batch_size=options.batch_size,
                    max_actions=options.max_actions,
                    advance=advance,
                )
                finished = applied.stopped is None
            finally:
                journal.close(finished)
            report.skipped = applied.skipped
            report.stopped = applied.stopped
            report.count_applied(applied.outcomes)
    report.requests, report.rate_limited = counter
    report.seconds = time.perf_counter() - started
    return report
