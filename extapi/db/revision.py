"""The site revision: one counter that moves whenever cached state goes stale.

Every service that changes settings, clients, users or roles calls :func:`bump` inside its
transaction. Each worker reads the counter on every request (in the same statement as the
token check) and drops what it cached when the number differs, so a change made by any
process applies to the very next request everywhere.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from extapi.db.tables import site_revision

__all__ = ["bump", "current"]


def bump(conn: Connection) -> None:
    conn.execute(
        update(site_revision)
        .where(site_revision.c.id == 1)
        .values(revision=site_revision.c.revision + 1)
    )


def current(conn: Connection) -> int:
    return int(
        conn.execute(select(site_revision.c.revision).where(site_revision.c.id == 1)).one()[0]
    )
