"""Who is acting, and the capability check every service uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from extapi.access.roles import ALLOW, PROHIBIT
from extapi.db.tables import role_assignments, role_capabilities

__all__ = ["Grants", "Principal", "SYSTEM_CONTEXT", "has_capability", "load_grants"]

SYSTEM_CONTEXT: None = None

# (tenant_id or None for system, role_id, capability) -> permission
Grants = dict[tuple[int | None, int, str], int]


def load_grants(conn: Connection, user_id: int) -> Grants:
    """Every capability a user holds through any role, in one statement."""
    rows = conn.execute(
        select(
            role_assignments.c.tenant_id,
            role_assignments.c.role_id,
            role_capabilities.c.capability,
            role_capabilities.c.permission,
        )
        .join(role_capabilities, role_capabilities.c.role_id == role_assignments.c.role_id)
        .where(role_assignments.c.user_id == user_id)
    )
    return {(t, r, c): p for t, r, c, p in rows}


@dataclass
class Principal:
    """The acting user: an API client's service account, or an admin in the web pages.

    Grants are loaded on first use, so requests that check no capability cost nothing.
    """

    user_id: int
    tenant_id: int | None
    is_site_admin: bool = False
    loader: Callable[[], Grants] | None = None
    _grants: Grants | None = field(default=None, repr=False)

    @property
    def grants(self) -> Grants:
        if self._grants is None:
            self._grants = self.loader() if self.loader else {}
        return self._grants


def has_capability(principal: Principal, name: str, context_tenant_id: int | None = None) -> bool:
    """Does ``principal`` hold ``name`` in the system context or in a tenant's context?

    Assignments in the system context reach every tenant; a tenant assignment reaches only
    that tenant. Within one role the assignment closest to the context decides; across roles
    a prohibit anywhere wins, otherwise any allow grants.
    """
    if principal.is_site_admin:
        return True
    per_role: dict[int, tuple[bool, int]] = {}
    for (tenant_id, role_id, cap), permission in principal.grants.items():
        if cap != name or (tenant_id is not None and tenant_id != context_tenant_id):
            continue
        if permission == PROHIBIT:
            return False
        closer = tenant_id is not None
        seen = per_role.get(role_id)
        if seen is None or (closer and not seen[0]):
            per_role[role_id] = (closer, permission)
    return any(permission >= ALLOW for _, permission in per_role.values())
