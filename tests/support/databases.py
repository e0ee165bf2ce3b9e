"""Test databases on a real PostgreSQL server: one database per test session, emptied between
tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from extapi.config import Config
from extapi.db.engine import normalise_url
from extapi.db.tables import metadata
from extapi.runtime import open_database

__all__ = ["fresh_postgres_database", "empty_postgres_database", "reset_postgres"]


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    with empty_postgres_database(server_url, "session") as url:
        open_database(Config(database_url=url)).dispose()
        yield url


def reset_postgres(url: str) -> None:
    """Empty every table and seed again, as a freshly migrated database would be."""
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO site_revision (id, revision) VALUES (1, 1)"))
    engine.dispose()
    open_database(Config(database_url=url)).dispose()


@contextmanager
def empty_postgres_database(server_url: str, suffix: str) -> Iterator[str]:
    """A database with no tables at all on the server, named after this process and
    ``suffix``, dropped afterwards."""
    base = make_url(normalise_url(server_url))
    name = f"extapi_test_{os.getpid()}_{suffix}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
