"""The usage figures of a client's page: the last hour per minute and recent requests."""

from __future__ import annotations

import pytest

from extapi.requestlog.buffer import RequestLog
from extapi.requestlog.usage import percent_of, recent_requests, usage_last_hour
from extapi.runtime import Runtime
from tests.factories import ApiClient, make_api_client

NOW = 1_800_000_000  # the start of a minute: 2027-01-15 08:00 UTC
MINUTE = 60


@pytest.fixture
def logged(runtime: Runtime) -> ApiClient:
    """A client with requests across the last hour (and one just before it), plus another
    client's request in the current minute."""
    client = make_api_client(runtime)
    other = make_api_client(runtime, name="Other")
    log = RequestLog(runtime.engine, retention_hours=24)
    rows = [
        (NOW - 60 * MINUTE + 59, "before the hour", 5000, 200, "success"),
        (NOW - 59 * MINUTE, "first minute", 10, 200, "success"),
        (NOW - 5 * MINUTE + 1, "busy", 1000, 200, "success"),
        (NOW + 10, "now ok", 100, 200, "success"),
        (NOW + 20, "now failed", 50, 200, "error"),
        (NOW + 25, "now refused", 7, 429, "rate_limited"),
    ]
    for at, operations, points, status, outcome in rows:
        log.record(client.id, operations, points, status, outcome, 2.0, at)
    log.record(other.id, "other", 999, 200, "success", 1.0, NOW)
    log.flush(NOW + 30)
    return client


def test_the_hour_has_sixty_minutes_ending_with_the_current_one(runtime, logged):
    with runtime.engine.connect() as conn:
        usage = usage_last_hour(conn, logged.id, NOW + 30)
    assert len(usage.buckets) == 60
    assert usage.buckets[0].start == NOW - 59 * MINUTE
    assert usage.buckets[-1].start == NOW
    assert [b.start for b in usage.buckets] == list(range(NOW - 59 * MINUTE, NOW + 1, MINUTE))


def test_minutes_count_points_requests_errors_and_refusals(runtime, logged):
    with runtime.engine.connect() as conn:
        usage = usage_last_hour(conn, logged.id, NOW + 30)
    current, busy, first = usage.buckets[-1], usage.buckets[-6], usage.buckets[0]
    # a refused request cost nothing, but it is counted as a request and a 429
    assert (current.points, current.requests, current.errors, current.rate_limited) == (
        150,
        3,
        1,
        1,
    )
    assert (busy.points, busy.requests) == (1000, 1)
    assert (first.points, first.requests) == (10, 1)
    quiet = [b for b in usage.buckets if b not in (current, busy, first)]
    assert all(b.points == b.requests == 0 for b in quiet)


def test_totals_and_peak_of_the_hour(runtime, logged):
    with runtime.engine.connect() as conn:
        usage = usage_last_hour(conn, logged.id, NOW + 30)
    # the row before the hour and the other client's row are left out
    assert (usage.points, usage.requests, usage.errors, usage.rate_limited) == (1160, 5, 1, 1)
    assert usage.peak.points == 1000
    assert usage.peak.label == "07:55"
    assert usage.peak_percent(2000) == "50%"
    assert usage.near_limit(1200) and not usage.near_limit(1250)


def test_an_unused_client_has_an_empty_hour(runtime):
    client = make_api_client(runtime)
    with runtime.engine.connect() as conn:
        usage = usage_last_hour(conn, client.id, NOW)
    assert len(usage.buckets) == 60
    assert (usage.points, usage.requests, usage.peak.points) == (0, 0, 0)


def test_recent_requests_are_newest_first(runtime, logged):
    with runtime.engine.connect() as conn:
        latest = recent_requests(conn, logged.id, limit=3)
        everything = recent_requests(conn, logged.id)
    assert [r.operations for r in latest] == ["now refused", "now failed", "now ok"]
    assert (latest[0].status, latest[0].outcome, latest[0].complexity) == (429, "rate_limited", 7)
    assert latest[0].iso_time == "2027-01-15T08:00:25Z"
    assert latest[0].duration_ms == pytest.approx(2.0)
    assert len(everything) == 6


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(0, 100, "0%"), (1, 1000, "<1%"), (85, 100, "85%"), (3, 2, "150%"), (5, 0, "n/a")],
)
def test_percentages(part, whole, shown):
    assert percent_of(part, whole) == shown


def test_several_flushes_and_workers_add_up_in_the_same_minute(runtime):
    # given two workers' logs, each flushing twice within one minute
    client = make_api_client(runtime)
    workers = [RequestLog(runtime.engine, retention_hours=24) for _ in range(2)]
    for flush in range(2):
        for log in workers:
            log.record(client.id, "sync", 10, 200, "success", 1.0, NOW + flush)
            log.record(client.id, "sync", 10, 429, "rate_limited", 1.0, NOW + flush)
            log.flush(NOW + flush)
    # when the hour is read
    with runtime.engine.connect() as conn:
        current = usage_last_hour(conn, client.id, NOW + 5).buckets[-1]
    # then the minute holds all eight requests, charging only the four that were served
    assert (current.points, current.requests, current.rate_limited) == (40, 8, 4)


def test_pruning_drops_old_minutes_with_their_rows(runtime):
    # given a minute logged two days ago and one logged now, with a one-day retention
    client = make_api_client(runtime)
    log = RequestLog(runtime.engine, retention_hours=24)
    log.record(client.id, "old", 10, 200, "success", 1.0, NOW - 2 * 86400)
    log.record(client.id, "new", 20, 200, "success", 1.0, NOW)
    log.flush(NOW)
    # when the hour two days ago and the current one are read
    with runtime.engine.connect() as conn:
        then = usage_last_hour(conn, client.id, NOW - 2 * 86400)
        current = usage_last_hour(conn, client.id, NOW)
    # then the old minute is gone and the new one kept
    assert then.points == 0
    assert current.points == 20
