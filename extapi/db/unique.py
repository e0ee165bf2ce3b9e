"""Which unique index refused a write, on either database, and turning that refusal into the
domain error the services would have raised had their own look-up seen the clash.

A service checks for duplicates before it writes, but two requests can pass that check at the
same moment; the unique index then refuses the second write. Its refusal must read exactly as
the check's would, so callers never learn which of the two noticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError

from extapi.db.tables import metadata
from extapi.errors import ExtapiError

__all__ = ["broken_unique", "clashes_reported"]

_PG_UNIQUE_VIOLATION = "23505"
# sqlite3's text: "UNIQUE constraint failed: users.username" (columns of the index, qualified by
# the table) or "UNIQUE constraint failed: index 'name'" (an index on expressions).
_SQLITE_COLUMNS = re.compile(r"UNIQUE constraint failed: ((?:\w+\.\w+)(?:, \w+\.\w+)*)$")
_SQLITE_INDEX = re.compile(r"UNIQUE constraint failed: index '(\w+)'$")


def _named_by_columns(table: str, columns: frozenset[str]) -> str | None:
    """The unique index or constraint of ``table`` on exactly ``columns`` (SQLite names the
    columns, not the index)."""
    found = metadata.tables.get(table)
    if found is None:
        return None
    for index in found.indexes:
        if index.unique and frozenset(c.name for c in index.columns) == columns:
            return str(index.name)
    for constraint in found.constraints:
        if (
            isinstance(constraint, UniqueConstraint)
            and constraint.name
            and frozenset(c.name for c in constraint.columns) == columns
        ):
            return str(constraint.name)
    return None


def broken_unique(exc: IntegrityError) -> str | None:
    """The name of the unique index or constraint the refused statement broke, or None when
    the refusal was of another kind (a foreign key, a primary key, NOT NULL ...)."""
    original = exc.orig
    if getattr(original, "sqlstate", None) == _PG_UNIQUE_VIOLATION:  # psycopg
        diag = getattr(original, "diag", None)
        name = getattr(diag, "constraint_name", None)
        return str(name) if name else None
    if getattr(original, "sqlite_errorname", None) != "SQLITE_CONSTRAINT_UNIQUE":
        return None
    text = str(original)
    by_index = _SQLITE_INDEX.search(text)
    if by_index:
        return by_index.group(1)
    by_columns = _SQLITE_COLUMNS.search(text)
    if by_columns is None:
        return None
    qualified = [part.split(".") for part in by_columns.group(1).split(", ")]
    tables = {table for table, _ in qualified}
    if len(tables) != 1:
        return None
    return _named_by_columns(tables.pop(), frozenset(column for _, column in qualified))


@contextmanager
def clashes_reported(explain: Callable[[str], ExtapiError | None]) -> Iterator[None]:
    """Run a write; when a unique index refuses it, raise what ``explain`` gives for that
    index's name instead. Refusals it has no error for propagate unchanged.

    The transaction is left for the caller to roll back (PostgreSQL will not run anything
    more in it), which every caller does when the error leaves its transaction block."""
    try:
        yield
    except IntegrityError as exc:
        name = broken_unique(exc)
        error = explain(name) if name is not None else None
        if error is None:
            raise
        raise error from exc
