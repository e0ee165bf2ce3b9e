"""A write lock on one row, for rules no unique index can express.

Totara compares a user's job assignment idnumbers as PHP compares strings ("5" equals "05"),
so two requests can each find no clash and both write. Taking the holder's lock before the
look-up makes such writers queue: the second looks only once the first has committed.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, false, select, update

__all__ = ["lock_row"]


def lock_row(conn: Connection, table: Table, row_id: int) -> None:
    """Hold a lock on the row ``row_id`` of ``table`` until the transaction ends; another
    transaction asking for the same lock waits until then.

    PostgreSQL locks just that row, in the mode that leaves other writers' foreign-key checks
    on it alone (FOR NO KEY UPDATE). SQLite has one write lock for the whole database, taken by
    a transaction's first write and held to its end, so a write that matches no row takes it:
    the effect of BEGIN IMMEDIATE, in the middle of a transaction."""
    key = table.c.id
    if conn.dialect.name == "sqlite":
        conn.execute(update(table).where(false()).values({key: key}))
        return
    conn.execute(select(key).where(key == row_id).with_for_update(key_share=True))
