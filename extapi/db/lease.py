"""A lease on the site revision, so that requests need not ask the database for it.

Each worker process keeps one listener thread with a connection of its own. The thread reads
the revision every ``lease / 3`` seconds, and on PostgreSQL also at once whenever a ``NOTIFY``
on :data:`extapi.db.revision.CHANNEL` says that a transaction moved it (SQLite has no
notifications: its listener only polls, a local read every few milliseconds). Every read
*confirms* the number: the clock is taken before the query is sent, so any change committed
before that instant is part of the answer. A request uses the confirmed number while the
confirmation is younger than the lease; otherwise (at start-up, while the listener reconnects,
when its thread is starved) it reads the revision itself, and that read confirms too.

Hence the guarantee, whatever happens to notifications: a change committed at time T is seen
by every request checked at T + lease or later, in every worker. On PostgreSQL, notifications
make the usual delay a few milliseconds instead of up to a third of the lease.

A change committed by this very process is seen at once: :func:`extapi.db.revision.bump` marks
its connection, and when that connection goes back to the pool (after the commit) every lease
in the process forgets what it confirmed before that moment.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from extapi.db.revision import BUMPED, CHANNEL

__all__ = ["RevisionLease", "APPLICATION_NAME"]

log = logging.getLogger("extapi.db")

# How the listener's connection names itself in pg_stat_activity.
APPLICATION_NAME = "extapi-revision-listener"
_REVISION_SQL = "SELECT revision FROM site_revision WHERE id = 1"
_RECONNECT_FIRST = 0.05
_RECONNECT_MAX = 2.0
_CONNECT_TIMEOUT_SECONDS = 5
# A listener nobody has asked for this long stops (the next request starts it again), so an
# idle worker, or a runtime left unclosed, does not poll forever.
IDLE_SECONDS = 30.0
_NEVER = -math.inf

_leases: weakref.WeakSet[RevisionLease] = weakref.WeakSet()


class RevisionLease:
    """The revision as last confirmed, and the thread that keeps confirming it."""

    def __init__(
        self, engine: Engine, lease_seconds: float, idle_seconds: float = IDLE_SECONDS
    ) -> None:
        if lease_seconds <= 0:
            raise ValueError("a revision lease needs a positive duration")
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.lease = lease_seconds
        self.poll = lease_seconds / 3
        self.idle_seconds = idle_seconds
        # The revision and the monotonic time its read began; replaced whole.
        self._state: tuple[int, float] = (0, _NEVER)
        self._void_before = _NEVER
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._asked = _NEVER
        # The listener's server process while it is connected (tests terminate it).
        self.backend_pid: int | None = None
        self.connections = 0
        _leases.add(self)

    @property
    def listening(self) -> bool:
        """Whether the listener thread runs (connected or trying to be)."""
        return self._thread is not None

    def fresh(self) -> int | None:
        """The confirmed revision while the lease holds, else None (the caller reads it)."""
        revision, confirmed_at = self._state
        self._asked = now = time.monotonic()
        if now - confirmed_at < self.lease:
            return revision
        if self._thread is None:
            self._start()
        return None

    def confirm(self, revision: int, started: float) -> None:
        """Record ``revision`` as read by a query sent after the monotonic time ``started``;
        an older confirmation than the one held, or one begun before the lease was last
        voided, is ignored."""
        with self._lock:
            if started > self._void_before and started > self._state[1]:
                self._state = (revision, started)

    def void(self) -> None:
        """Forget the confirmation: the next request reads the revision itself."""
        with self._lock:
            self._void_before = time.monotonic()
            self._state = (self._state[0], _NEVER)

    def close(self) -> None:
        self._closed.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=self.poll + _CONNECT_TIMEOUT_SECONDS)
        _leases.discard(self)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed.is_set():
                return
            self._asked = time.monotonic()
            self._thread = threading.Thread(
                target=self._listen, name="extapi-revision-listener", daemon=True
            )
            self._thread.start()

    def _listen(self) -> None:
        try:
            self._keep_listening()
        finally:
            with self._lock:
                self._thread = None

    def _idle(self) -> bool:
        return self._closed.is_set() or time.monotonic() - self._asked > self.idle_seconds

    def _keep_listening(self) -> None:
        delay = _RECONNECT_FIRST
        while not self._idle():
            try:
                conn = self._connect()
            except Exception as exc:  # the server is away: retry, more slowly each time
                if delay == _RECONNECT_FIRST:
                    log.warning("Revision listener cannot connect (%s); requests read it", exc)
                self._closed.wait(delay)
                delay = min(delay * 2, _RECONNECT_MAX)
                continue
            delay = _RECONNECT_FIRST
            try:
                self._follow(conn)
            except Exception as exc:
                if not self._idle():
                    log.warning("Revision listener lost its connection (%s); reconnecting", exc)
            finally:
                self.backend_pid = None
                _close_quietly(conn)

    def _connect(self) -> Any:
        if self.sqlite:
            import sqlite3

            conn: Any = sqlite3.connect(
                self.engine.url.database or "",
                timeout=_CONNECT_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit: no read transaction left open
                check_same_thread=False,
            )
            self.connections += 1
            return conn
        import psycopg

        _args, params = self.engine.dialect.create_connect_args(self.engine.url)
        params.setdefault("connect_timeout", _CONNECT_TIMEOUT_SECONDS)
        conn = psycopg.connect(**params, autocommit=True, application_name=APPLICATION_NAME)
        self.connections += 1
        return conn

    def _follow(self, conn: Any) -> None:
        """Confirm the revision every ``poll`` seconds, and on PostgreSQL also as soon as a
        commit's notification says it moved."""
        if not self.sqlite:
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
        while not self._idle():
            started = time.monotonic()
            row = conn.execute(_REVISION_SQL).fetchone()
            if row is None:
                raise RuntimeError("the site revision row is missing")
            self.confirm(int(row[0]), started)
            if self.sqlite:
                self._closed.wait(self.poll)
            else:  # sleep until the next poll, or until a commit says the revision moved
                for _ in conn.notifies(timeout=self.poll, stop_after=1):
                    pass


def _close_quietly(conn: Any) -> None:
    with contextlib.suppress(Exception):  # already broken: nothing to release
        conn.close()


@event.listens_for(Pool, "checkin")
def _handed_back(_dbapi_connection: Any, record: Any) -> None:
    """A connection that bumped the revision is back in the pool, so its transaction is over:
    no lease in this process may keep a number confirmed before now."""
    if record is not None and record.info.pop(BUMPED, False):
        for lease in list(_leases):
            lease.void()
