"""Prometheus metrics of a worker, kept with the ``prometheus-client`` package.

With one worker the figures live in this process (a private registry per :class:`Metrics`).
``extapi serve --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR`` to a private folder before the
workers start; each worker then writes its figures to files there, and a scrape answered by
any worker reads the files of all of them (the package's multiprocess mode).

The request path touches only cached label children (no label lookup or validation per
request), and nothing here runs at all when metrics are off (``EXTAPI_METRICS=off``).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from extapi.ops.note import GRANTED

__all__ = ["Metrics", "CONTENT_TYPE", "LATENCY_BUCKETS", "GRANTED", "multiprocess_mode"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# The status query takes about half a millisecond; the long tail reaches the execution budget.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
# Every outcome of the token endpoint: a grant, or an RFC 6749 error code.
GRANT_OUTCOMES = (
    GRANTED,
    "invalid_request",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "server_error",
)
RATE_LIMIT_SCOPES = ("client", "site")

# `_created` series double every counter's output and say nothing a scraper needs.
disable_created_metrics()


def multiprocess_mode() -> bool:
    """True when this process writes its figures to PROMETHEUS_MULTIPROC_DIR (decided by the
    package when it was first imported)."""
    return values.ValueClass is not values.MutexValue


class Metrics:
    """The extapi_* metrics, and the one call per event that moves them."""

    def __init__(self) -> None:
        self.multiprocess = multiprocess_mode()
        # In multiprocess mode the figures are read back from the files, never from a
        # registry, so the metrics are registered nowhere.
        self.registry = None if self.multiprocess else CollectorRegistry()
        registry = self.registry
        self._requests = Counter(
            "extapi_requests",
            "HTTP requests answered, by endpoint, GraphQL root field (operation) and outcome.",
            ("endpoint", "operation", "outcome"),
            registry=registry,
        )
        self._duration = Histogram(
            "extapi_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by endpoint.",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._points = Counter(
            "extapi_complexity_points",
            "Complexity points charged to rate-limit budgets.",
            registry=registry,
        )
        self._limited = Counter(
            "extapi_rate_limited",
            "Requests refused with 429, by the budget that refused them.",
            ("scope",),
            registry=registry,
        )
        self._grants = Counter(
            "extapi_token_grants",
            "Token endpoint answers: granted, or the OAuth error code.",
            ("outcome",),
            registry=registry,
        )
        self._store_errors = Counter(
            "extapi_rate_limit_store_errors",
            "Rate-limit operations allowed unchecked because the shared store failed.",
            registry=registry,
        )
        self._cache_entries = Gauge(
            "extapi_document_cache_entries",
            "Checked GraphQL documents held in the workers' caches.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._cache_hits = Counter(
            "extapi_document_cache_hits",
            "GraphQL documents found already checked in the cache.",
            registry=registry,
        )
        self._cache_misses = Counter(
            "extapi_document_cache_misses",
            "GraphQL documents parsed and validated because the cache did not hold them.",
            registry=registry,
        )
        self._request_children: dict[tuple[str, str, str], Any] = {}
        self._duration_children: dict[str, Any] = {}
        self._limited_children = {s: self._limited.labels(s) for s in RATE_LIMIT_SCOPES}
        self._grant_children = {o: self._grants.labels(o) for o in GRANT_OUTCOMES}

    def request(self, endpoint: str, operation: str, outcome: str, seconds: float) -> None:
        """One answered request. The label values come from small fixed sets (see
        extapi.ops.note), so the cached children stay few."""
        key = (endpoint, operation, outcome)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self._requests.labels(*key)
        child.inc()
        timer = self._duration_children.get(endpoint)
        if timer is None:
            timer = self._duration_children[endpoint] = self._duration.labels(endpoint)
        timer.observe(seconds)

    def points(self, charged: int) -> None:
        if charged > 0:
            self._points.inc(charged)

    def rate_limited(self, scope: str) -> None:
        """A 429; ``scope`` is ``client`` or ``site``."""
        self._limited_children[scope].inc()

    def token_grant(self, outcome: str) -> None:
        """``granted`` or an RFC 6749 error code."""
        child = self._grant_children.get(outcome)
        if child is None:  # not a code this server sends; kept out of the label set
            child = self._grant_children["server_error"]
        child.inc()

    def store_error(self) -> None:
        self._store_errors.inc()

    def cache_hit(self) -> None:
        self._cache_hits.inc()

    def cache_miss(self, entries: int) -> None:
        self._cache_misses.inc()
        self._cache_entries.set(entries)

    def render(self) -> bytes:
        """The Prometheus text exposition: this process's figures, or every worker's."""
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        assert self.registry is not None
        return generate_latest(self.registry)

    def process_done(self) -> None:
        """At a worker's shutdown: its live gauges stop counting in the sums."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())
