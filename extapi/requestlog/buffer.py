"""``RequestLog``: API requests kept in memory by each worker and written in batches.

The request path only appends a tuple (no I/O); a background task (see
:mod:`extapi.requestlog.flusher`) calls :meth:`RequestLog.flush` every second in a thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError

from extapi.config import Config
from extapi.db.engine import make_engine
from extapi.requestlog.outcomes import ERROR, IP_NOT_ALLOWED, RATE_LIMITED, REFUSED, SUCCESS
from extapi.requestlog.writer import Row, prune, write_rows

__all__ = [
    "RequestLog",
    "open_request_log",
    "SUCCESS",
    "ERROR",
    "RATE_LIMITED",
    "IP_NOT_ALLOWED",
    "REFUSED",
    "BUFFER_LIMIT",
]

# About 10 MB of rows: five seconds of a busy worker's requests (so a flush that is slow under
# load drops nothing), yet bounded when the database is down.
BUFFER_LIMIT = 50_000
PRUNE_INTERVAL_SECONDS = 60
WARNING_INTERVAL_SECONDS = 30.0

log = logging.getLogger("extapi.requestlog")


class RequestLog:
    """A bounded buffer of log rows: beyond ``limit`` the oldest are dropped and counted, so
    that a database outage cannot exhaust memory."""

    def __init__(
        self,
        engine: Engine,
        retention_hours: int,
        enabled: bool = True,
        limit: int = BUFFER_LIMIT,
        owns_engine: bool = False,
    ) -> None:
        self.engine = engine
        self.owns_engine = owns_engine
        self.retention_seconds = retention_hours * 3600
        self.enabled = enabled
        self.limit = limit
        self.dropped = 0  # rows lost to the bound since the start
        self._rows: deque[Row] = deque(maxlen=limit)
        self._lock = threading.Lock()  # guards _rows: requests append while a flush swaps
        self._flushing = threading.Lock()  # one flush at a time
        self._pruned_at = 0.0
        self._warned_at = 0.0

    def record(
        self,
        client_id: int,
        operations: str,
        complexity: int,
        status: int,
        outcome: str,
        duration_ms: float,
        now: int,
        budget: int = 0,
        request_id: str | None = None,
        variables: str | None = None,
        errors: str | None = None,
    ) -> None:
        """Buffer one request (cheap: no I/O). Does nothing when the log is off. ``budget``
        is the client's per-minute budget in force (0: not known); ``variables`` and
        ``errors`` are the texts of :mod:`extapi.requestlog.details`."""
        if not self.enabled:
            return
        row = (
            client_id,
            now,
            operations,
            complexity,
            status,
            outcome,
            duration_ms,
            budget,
            request_id,
            variables,
            errors,
        )
        with self._lock:
            rows = self._rows
            if len(rows) == self.limit:
                self.dropped += 1  # the append below pushes the oldest out
            rows.append(row)

    def pending(self) -> int:
        return len(self._rows)

    def flush(self, now: float | None = None) -> int:
        """Write the buffered rows in one transaction, and prune old rows when due (at most
        once a minute). Returns the rows written. When the database can not be reached the
        rows go back to the buffer, within its bound, and a warning is logged; when it
        refuses the rows themselves they are dropped (and counted), so one bad row can not
        stop the log."""
        now = time.time() if now is None else now
        with self._flushing:
            with self._lock:
                rows, self._rows = self._rows, deque(maxlen=self.limit)
            prune_due = now - self._pruned_at >= PRUNE_INTERVAL_SECONDS
            if not rows and not prune_due:
                return 0
            cutoff = int(now) - self.retention_seconds if prune_due else None
            try:
                written = self._write(rows, cutoff)
            except (OperationalError, InterfaceError) as exc:  # the database is away: wait
                self._requeue(rows)
                self._warn(exc, now)
                return 0
            except Exception:  # the batch itself is bad: retrying would block the log
                with self._lock:
                    self.dropped += len(rows)
                log.exception("request log: dropped %d rows that could not be stored", len(rows))
                return 0
            if prune_due:
                self._pruned_at = now
            return written

    def _write(self, rows: deque[Row], cutoff: int | None) -> int:
        with self.engine.begin() as conn:
            written = write_rows(conn, list(rows))
            if cutoff is not None:
                prune(conn, cutoff)
        return written

    def _requeue(self, failed: deque[Row]) -> None:
        """Put rows that could not be written back in front of newer ones; the bound keeps
        the newest."""
        with self._lock:
            combined = deque(failed, maxlen=self.limit)
            combined.extend(self._rows)
            self.dropped += len(failed) + len(self._rows) - len(combined)
            self._rows = combined

    def _warn(self, exc: Exception, now: float) -> None:
        if now - self._warned_at < WARNING_INTERVAL_SECONDS:
            return
        self._warned_at = now
        log.warning(
            "request log: could not write %d rows (kept in memory, up to %d; %d dropped so "
            "far): %s",
            self.pending(),
            self.limit,
            self.dropped,
            exc,
        )

    def close(self) -> None:
        """Release the log's own database connections (buffered rows are not written: the
        lifespan flushes them at shutdown)."""
        if self.owns_engine:
            self.engine.dispose()


def open_request_log(config: Config, engine: Engine) -> RequestLog:
    """The worker's request log, writing through an engine of its own (one connection at a
    time) so that flushes never wait for, or hold, a connection of the request pool. An
    in-memory SQLite database exists only in ``engine``'s one connection, so it is shared."""
    memory = engine.url.drivername.startswith("sqlite") and engine.url.database in (
        None,
        "",
        ":memory:",
    )
    if memory or not config.request_log:
        return RequestLog(engine, config.request_log_hours, config.request_log)
    url = engine.url.render_as_string(hide_password=False)
    return RequestLog(make_engine(url), config.request_log_hours, owns_engine=True)
