"""A dedicated driver-level connection for the one read an API request may make.

Going through the pool and SQL compilation would cost several times the query itself, so each
worker keeps one autocommit DBAPI connection for it: the site revision alone when the token is
cached, or the revision and the token's row together in one statement when it is not. The event
loop and the worker threads take turns on it (one indexed read at a time).

With a :class:`~extapi.db.lease.RevisionLease` (PostgreSQL), a cached token needs no read at
all while the lease holds; every read made here confirms the lease in turn.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import Engine

from extapi.addresses import stored_address_list
from extapi.db.engine import is_sqlite
from extapi.db.lease import RevisionLease

__all__ = ["HotReader", "TOKEN_ROW_COLUMNS"]

TOKEN_ROW_COLUMNS = (
    "expires",
    "client_pk",
    "client_id",
    "status",
    "tenant_id",
    "user_id",
    "response_debug",
    "client_rate_limit",
    "uid",
    "suspended",
    "deleted",
    "user_tenant_id",
    "timezone",
    "admin_id",
    "allowed_ips",
)

_REVISION_SQL = "SELECT revision FROM site_revision WHERE id = 1"
# The revision and a token's row in one statement, for tokens not yet cached.
_REVISION_AND_TOKEN_SQL = """
    SELECT r.revision, t.expires, c.id, c.client_id, c.status, c.tenant_id,
           c.user_id, s.response_debug, s.client_rate_limit,
           u.id, u.suspended, u.deleted, u.tenant_id, u.timezone,
           a.user_id, s.allowed_ips
    FROM site_revision r
    LEFT JOIN access_tokens t ON t.token_hash = {param}
    LEFT JOIN api_clients c ON c.id = t.client_id
    LEFT JOIN api_client_settings s ON s.client_id = c.id
    LEFT JOIN users u ON u.id = c.user_id
    LEFT JOIN site_admins a ON a.user_id = u.id
    WHERE r.id = 1
"""


class HotReader:
    def __init__(self, engine: Engine, lease: RevisionLease | None = None) -> None:
        self.engine = engine
        self.lease = lease
        # Queries sent, for tests that count round trips.
        self.reads = 0
        self.sqlite = is_sqlite(str(engine.url))
        self._token_sql = _REVISION_AND_TOKEN_SQL.format(param="?" if self.sqlite else "%s")
        self._conn: Any = None
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        raw = self.engine.raw_connection()
        driver: Any = raw.driver_connection
        if self.sqlite:
            driver.isolation_level = None  # autocommit: no transaction left open
        else:
            raw.rollback()
            driver.autocommit = True
        self._raw = raw
        return driver

    def _run(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._run_locked(sql, params)

    def _run_locked(self, sql: str, params: tuple[Any, ...]) -> Any:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self.reads += 1
                cursor = self._conn.execute(sql, params)
                return cursor.fetchone()
            except Exception:
                # A dropped server connection: reconnect once, then let the error surface.
                self._drop()
                if attempt == 2:
                    raise
        return None

    def revision(self) -> int:
        lease = self.lease
        if lease is None:
            return int(self._run(_REVISION_SQL, ())[0])
        known = lease.fresh()
        if known is not None:
            return known
        started = time.monotonic()
        revision = int(self._run(_REVISION_SQL, ())[0])
        lease.confirm(revision, started)
        return revision

    def revision_and_token(self, token_hash: str) -> tuple[int, dict[str, Any] | None]:
        """The revision, and the token's joined row (None for an unknown token). The row's
        ``allowed_ips`` is the client's parsed allow-list (None: no list), so that the
        worker's token cache keeps it parsed."""
        started = time.monotonic()
        revision, *row = self._run(self._token_sql, (token_hash,))
        if self.lease is not None:
            self.lease.confirm(int(revision), started)
        if row[0] is None:  # no such token: every joined column is NULL
            return int(revision), None
        found = dict(zip(TOKEN_ROW_COLUMNS, row, strict=True))
        found["allowed_ips"] = stored_address_list(found["allowed_ips"] or "")
        return int(revision), found

    def close(self) -> None:
        if self.lease is not None:
            self.lease.close()
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._raw.invalidate()
            finally:
                self._conn = None
