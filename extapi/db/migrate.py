"""Bring a database to the newest schema with Alembic, creating it when needed."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = ["migrate", "needs_migration", "head_revision", "database_revision"]

_HERE = Path(__file__).parent / "migrations"


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["engine"] = engine
    return cfg


def needs_migration(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current != head


def migrate(engine: Engine) -> bool:
    """Upgrade to head; returns True when anything was applied."""
    if not needs_migration(engine):
        return False
    command.upgrade(_alembic_config(engine), "head")
    return True


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision of the code's migrations."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_HERE))
    return ScriptDirectory.from_config(cfg).get_current_head()


def database_revision(conn: Connection) -> str | None:
    """The revision the database records (None before the first migration)."""
    return MigrationContext.configure(conn).get_current_revision()
