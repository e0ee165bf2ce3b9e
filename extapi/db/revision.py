"""The site revision: one counter that moves whenever cached state goes stale.

Every service that changes settings, clients, users or roles calls :func:`bump` inside its
transaction. Each worker drops what it cached when the number differs from the one it cached
at. How a worker learns the current number without asking on every request is
:mod:`extapi.db.lease`'s part: on PostgreSQL, :func:`bump` also sends a notification on
:data:`CHANNEL`, delivered when the transaction commits, and marks the connection so that this
process's own workers stop trusting what they knew as soon as the connection is handed back.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, text, update

from extapi.db.tables import site_revision

__all__ = ["CHANNEL", "BUMPED", "bump", "current"]

# The PostgreSQL notification channel that carries each new revision.
CHANNEL = "extapi_revision"
# Set in a connection's info by bump(): see extapi.db.lease.
BUMPED = "extapi_revision_bumped"

# One statement: the increment, and a notification that PostgreSQL holds back until commit.
_BUMP_AND_NOTIFY = text(
    "WITH moved AS (UPDATE site_revision SET revision = revision + 1 WHERE id = 1 "
    "RETURNING revision) "
    f"SELECT pg_notify('{CHANNEL}', revision::text) FROM moved"
)


def bump(conn: Connection) -> None:
    conn.info[BUMPED] = True
    if conn.dialect.name == "postgresql":
        conn.execute(_BUMP_AND_NOTIFY)
        return
    conn.execute(
        update(site_revision)
        .where(site_revision.c.id == 1)
        .values(revision=site_revision.c.revision + 1)
    )


def current(conn: Connection) -> int:
    return int(
        conn.execute(select(site_revision.c.revision).where(site_revision.c.id == 1)).one()[0]
    )
