"""Bring a database to the newest schema with Alembic, creating it when needed.

Alembic (with Mako and Pygments, which it imports) costs a serving process about 11 MB, and a
server only needs it when the database is behind. So the two questions asked at every start,
"which revision is the database at?" and "which is the newest?", are answered without it: the
first from Alembic's version table, the second from the revision files themselves. Alembic is
imported only to upgrade, or when the files are not a plain chain (a merge, several heads).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = [
    "alembic_config",
    "current_revision",
    "database_revision",
    "head_revision",
    "migrate",
    "needs_migration",
]

_HERE = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default; env.py does not change it
# ``revision = "0009"`` as written by script.py.mako (with either quote, and an annotation
# if a file has one).
_REVISION = re.compile(r"""^revision(?::[^=\n]*)? = ["']([\w-]+)["']\s*$""", re.MULTILINE)
_DOWN_REVISION = re.compile(
    r"""^down_revision(?::[^=\n]*)? = (?:None|["']([\w-]+)["'])\s*$""", re.MULTILINE
)


def alembic_config(engine: Engine) -> AlembicConfig:
    """Alembic's configuration for running the migrations on ``engine``."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine | None = None) -> str | None:
    """The newest revision of the code's migrations (the same whatever the database)."""
    return _script_head()


@lru_cache(maxsize=1)
def _script_head() -> str | None:
    found = chain_head(_HERE / "versions")
    return found if found is not None else _alembic_head()


def chain_head(versions: Path) -> str | None:
    """The last revision of the files in ``versions`` when they form one plain chain (each
    file names one revision and at most one parent, and one revision is nobody's parent);
    None when they do not, so that Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.findall(source)
        down = _DOWN_REVISION.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        if down[0]:
            parents.add(down[0])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _alembic_head() -> str | None:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

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
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
    return True


def database_revision(conn: Connection) -> str | None:
    """The revision the database records (None before the first migration): the one row of
    Alembic's version table. A table with several rows (branches) is left to Alembic, which
    refuses it."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()
    return rows[0] if rows else None
