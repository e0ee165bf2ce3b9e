"""Tenants: separate groups of users with their own API clients."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from extapi.db import revision
from extapi.db.tables import api_clients, tenants
from extapi.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["add_tenant", "get_tenant_by_idnumber", "list_tenants", "set_tenant_suspended"]


def add_tenant(conn: Connection, name: str, idnumber: str, description: str = "") -> int:
    name, idnumber = name.strip(), idnumber.strip()
    if not name or not idnumber:
        raise ValidationError("A tenant needs a name and an idnumber.")
    if len(name) > 255 or len(idnumber) > 255:
        raise ValidationError("Tenant name and idnumber must not exceed 255 characters.")
    if conn.execute(select(tenants.c.id).where(tenants.c.idnumber == idnumber)).first():
        raise ConflictError(f"A tenant with idnumber '{idnumber}' already exists.")
    now = int(time.time())
    new_id = conn.execute(
        insert(tenants).values(
            name=name,
            idnumber=idnumber,
            description=description,
            suspended=False,
            timecreated=now,
            timemodified=now,
        )
    ).inserted_primary_key[0]
    revision.bump(conn)
    return int(new_id)


def get_tenant_by_idnumber(conn: Connection, idnumber: str) -> dict[str, Any]:
    row = conn.execute(select(tenants).where(tenants.c.idnumber == idnumber)).mappings().first()
    if row is None:
        raise NotFoundError(f"Tenant '{idnumber}' does not exist.")
    return dict(row)


def list_tenants(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(tenants).order_by(tenants.c.id)).mappings()]


def set_tenant_suspended(conn: Connection, tenant_id: int, suspended: bool) -> None:
    """Suspending a tenant disables all its API clients, as Totara does."""
    conn.execute(
        update(tenants)
        .where(tenants.c.id == tenant_id)
        .values(suspended=suspended, timemodified=int(time.time()))
    )
    if suspended:
        conn.execute(
            update(api_clients).where(api_clients.c.tenant_id == tenant_id).values(status=False)
        )
    revision.bump(conn)
