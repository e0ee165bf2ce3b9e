"""Hierarchies: organisation and position frameworks, types and items."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select

from extapi.db.tables import hierarchy_items

__all__ = ["ORGANISATION", "POSITION", "KINDS", "items_by_ids"]

ORGANISATION, POSITION = "organisation", "position"
KINDS = (ORGANISATION, POSITION)


def items_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Items (of either kind) by id, in one statement; used by batch loaders."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(hierarchy_items).where(hierarchy_items.c.id.in_(wanted)))
    return {int(r.id): dict(r._mapping) for r in rows}
