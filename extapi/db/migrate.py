"""Bring a database to the newest schema with Alembic, creating it when needed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = [
    "alembic_config",
    "current_revision",
    "database_revision",
    "head_revision",
    "migrate",
    "needs_migration",
]

_HERE = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> AlembicConfig:
    """Alembic's configuration for running the migrations on ``engine``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine | None = None) -> str | None:
    """The newest revision of the code's migrations (the same whatever the database)."""
    return _script_head()


@lru_cache(maxsize=1)
def _script_head() -> str | None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_HERE))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for a database never migrated)."""
    with engine.connect() as conn:
        return database_revision(conn)


def needs_migration(engine: Engine) -> bool:
    return current_revision(engine) != head_revision(engine)


def migrate(engine: Engine) -> bool:
    """Upgrade to head; returns True when anything was applied. A revision that finds data
    it can not convert raises :class:`~extapi.errors.MigrationRefused` and changes nothing."""
    if not needs_migration(engine):
        return False
    command.upgrade(alembic_config(engine), "head")
    return True


def database_revision(conn: Connection) -> str | None:
    """The revision the database records (None before the first migration)."""
    return MigrationContext.configure(conn).get_current_revision()
