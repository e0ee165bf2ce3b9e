"""Engines per database URL: SQLite (the embedded default) or PostgreSQL via psycopg 3."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Integer, create_engine, event
from sqlalchemy.pool import StaticPool

if TYPE_CHECKING:  # loaded by SQLAlchemy only for a SQLite engine (about 1 MB)
    import sqlite3

__all__ = ["make_engine", "normalise_url", "is_sqlite", "is_memory_sqlite"]


def normalise_url(url: str) -> str:
    """Accept the usual spellings and pick the psycopg 3 driver for PostgreSQL."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # WAL lets readers in other worker processes run while one writes; the busy timeout makes
    # a second writer wait instead of failing at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def is_memory_sqlite(url: str) -> bool:
    """An in-memory SQLite database: one connection, shared by every thread (tests only)."""
    return normalise_url(url) in ("sqlite://", "sqlite:///:memory:")


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """``pool_size`` connections are kept open (ten more may be opened under a burst); SQLite
    connections may be used by any thread, one thread at a time."""
    url = normalise_url(url)
    if is_memory_sqlite(url):
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    elif is_sqlite(url):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, pool_size=pool_size, max_overflow=10
        )
    else:
        engine = create_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
        _widen_integer_binds(engine)
        return engine
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class _UncastInteger(Integer):
    """An ``Integer`` parameter sent to PostgreSQL without a cast: psycopg types it by its
    value (``smallint``, ``integer``, ``bigint`` or ``numeric``)."""

    render_bind_cast = False


def _widen_integer_binds(engine: Engine) -> None:
    """Let PostgreSQL compare ``integer`` columns with any integer a client may send.

    SQLAlchemy's psycopg dialect casts each parameter to its column's type, so comparing an
    ``integer`` id column with a number beyond 32 bits (which Totara's 64-bit ids allow a
    client to send) failed with "integer out of range" instead of matching nothing, as it
    does on SQLite. Without the cast, psycopg sends each integer as the smallest type that
    holds it; PostgreSQL compares ``integer`` with ``bigint`` exactly (and with the same
    indexes), widens small values where an ``integer`` is expected, and still checks the
    values written to ``integer`` columns. (A cast to ``bigint`` instead would break calls
    such as ``substr(text, integer)``, which have no ``bigint`` form.)
    """
    engine.dialect.colspecs = {**engine.dialect.colspecs, Integer: _UncastInteger}
