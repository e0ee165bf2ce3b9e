"""Reading what the request log stored."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from extapi.db.tables import api_clients, api_request_log
from extapi.runtime import Runtime

__all__ = ["stored_rows", "flushed_rows", "last_used"]


def stored_rows(runtime: Runtime, client_pk: int | None = None) -> list[dict[str, Any]]:
    """The log's rows (of one client, or all), oldest first."""
    query = select(api_request_log).order_by(api_request_log.c.id)
    if client_pk is not None:
        query = query.where(api_request_log.c.client_id == client_pk)
    with runtime.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def flushed_rows(runtime: Runtime, client_pk: int | None = None) -> list[dict[str, Any]]:
    runtime.request_log.flush()
    return stored_rows(runtime, client_pk)


def last_used(runtime: Runtime, client_pk: int) -> int | None:
    with runtime.engine.connect() as conn:
        query = select(api_clients.c.time_last_used).where(api_clients.c.id == client_pk)
        return conn.execute(query).scalar_one()
