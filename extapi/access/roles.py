"""Roles, their capabilities and who holds them (system or tenant context)."""

from __future__ import annotations

import time

from sqlalchemy import Connection, delete, insert, select, update

from extapi.access.capabilities import APIUSER_DEFAULTS, CAPABILITIES
from extapi.db import revision
from extapi.db.tables import capabilities, role_assignments, role_capabilities, roles
from extapi.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "ALLOW",
    "PREVENT",
    "PROHIBIT",
    "sync_capabilities",
    "ensure_apiuser_role",
    "get_role_id",
    "create_role",
    "set_permission",
    "remove_permission",
    "assign_role",
    "unassign_role",
    "list_roles",
]

ALLOW, PREVENT, PROHIBIT = 1, -1, -1000
APIUSER = "apiuser"


def sync_capabilities(conn: Connection) -> None:
    """Insert capabilities the code knows and the database does not (idempotent)."""
    known = set(conn.execute(select(capabilities.c.name)).scalars())
    missing = [
        {"name": name, "contextlevel": level, "component": name.split(":")[0]}
        for name, level in CAPABILITIES.items()
        if name not in known
    ]
    if missing:
        conn.execute(insert(capabilities), missing)


def ensure_apiuser_role(conn: Connection) -> None:
    """Create the API User role with Totara's default capabilities, once."""
    if conn.execute(select(roles.c.id).where(roles.c.shortname == APIUSER)).first():
        return
    role_id = create_role(
        conn,
        APIUSER,
        "API User",
        "For the service accounts that API clients act as.",
        archetype=APIUSER,
    )
    conn.execute(
        insert(role_capabilities),
        [{"role_id": role_id, "capability": c, "permission": ALLOW} for c in APIUSER_DEFAULTS],
    )


def get_role_id(conn: Connection, shortname: str) -> int:
    role_id = conn.execute(select(roles.c.id).where(roles.c.shortname == shortname)).scalar()
    if role_id is None:
        raise NotFoundError(f"Role '{shortname}' does not exist.")
    return int(role_id)


def list_roles(conn: Connection) -> list[dict[str, object]]:
    rows = conn.execute(select(roles).order_by(roles.c.id)).mappings().all()
    result = []
    for row in rows:
        caps = conn.execute(
            select(role_capabilities.c.capability, role_capabilities.c.permission)
            .where(role_capabilities.c.role_id == row["id"])
            .order_by(role_capabilities.c.capability)
        ).all()
        result.append({**row, "capabilities": {c: p for c, p in caps}})
    return result


def create_role(
    conn: Connection, shortname: str, name: str, description: str = "", archetype: str = ""
) -> int:
    shortname = shortname.strip()
    if not shortname or not name.strip():
        raise ValidationError("A role needs a shortname and a name.")
    if conn.execute(select(roles.c.id).where(roles.c.shortname == shortname)).first():
        raise ConflictError(f"Role '{shortname}' already exists.")
    role_id = conn.execute(
        insert(roles).values(
            shortname=shortname, name=name.strip(), description=description, archetype=archetype
        )
    ).inserted_primary_key[0]
    revision.bump(conn)
    return int(role_id)


def _check_capability(capability: str) -> None:
    if capability not in CAPABILITIES:
        raise NotFoundError(f"Capability '{capability}' does not exist.")


def set_permission(conn: Connection, shortname: str, capability: str, permission: int) -> None:
    _check_capability(capability)
    if permission not in (ALLOW, PREVENT, PROHIBIT):
        raise ValidationError("Permission must be allow, prevent or prohibit.")
    role_id = get_role_id(conn, shortname)
    where = (role_capabilities.c.role_id == role_id) & (
        role_capabilities.c.capability == capability
    )
    if conn.execute(select(role_capabilities.c.role_id).where(where)).first():
        conn.execute(update(role_capabilities).where(where).values(permission=permission))
    else:
        conn.execute(
            insert(role_capabilities).values(
                role_id=role_id, capability=capability, permission=permission
            )
        )
    revision.bump(conn)


def remove_permission(conn: Connection, shortname: str, capability: str) -> None:
    _check_capability(capability)
    role_id = get_role_id(conn, shortname)
    conn.execute(
        delete(role_capabilities).where(
            (role_capabilities.c.role_id == role_id)
            & (role_capabilities.c.capability == capability)
        )
    )
    revision.bump(conn)


def _assignment_where(role_id: int, user_id: int, tenant_id: int | None):  # type: ignore[no-untyped-def]
    tenant = (
        role_assignments.c.tenant_id.is_(None)
        if tenant_id is None
        else role_assignments.c.tenant_id == tenant_id
    )
    return (
        (role_assignments.c.role_id == role_id) & (role_assignments.c.user_id == user_id) & tenant
    )


def assign_role(conn: Connection, shortname: str, user_id: int, tenant_id: int | None) -> bool:
    """Give a user a role in the system (``tenant_id`` None) or a tenant; False if already held."""
    role_id = get_role_id(conn, shortname)
    where = _assignment_where(role_id, user_id, tenant_id)
    if conn.execute(select(role_assignments.c.id).where(where)).first():
        return False
    conn.execute(
        insert(role_assignments).values(
            role_id=role_id, user_id=user_id, tenant_id=tenant_id, timecreated=int(time.time())
        )
    )
    revision.bump(conn)
    return True


def unassign_role(conn: Connection, shortname: str, user_id: int, tenant_id: int | None) -> bool:
    role_id = get_role_id(conn, shortname)
    done = conn.execute(
        delete(role_assignments).where(_assignment_where(role_id, user_id, tenant_id))
    )
    revision.bump(conn)
    return bool(done.rowcount)
