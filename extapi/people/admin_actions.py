"""What a site administrator changes about people from the admin pages.

The rules live here, not in the views; the work itself is done by the same services the
``extapi`` command uses (:mod:`extapi.people.users`, :mod:`extapi.people.tenants`,
:mod:`extapi.access.roles`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from extapi.access.roles import assign_role, unassign_role
from extapi.db.tables import tenants, users
from extapi.errors import ValidationError
from extapi.people.directory import (
    APIUSER,
    DirectoryUser,
    TenantSummary,
    get_directory_user,
    get_tenant,
)
from extapi.people.rules import password_errors
from extapi.people.tenants import set_tenant_suspended
from extapi.people.users import NewUser, create_user, set_suspended
from extapi.settings.site import load_site_settings

__all__ = [
    "SYSTEM_CONTEXT",
    "TENANT_CONTEXT",
    "RoleChange",
    "add_user",
    "suspend_user",
    "change_apiuser_role",
    "suspend_tenant",
]

SYSTEM_CONTEXT = "system"
TENANT_CONTEXT = "tenant"
_NAME_FIELDS = {"firstname": "First name", "lastname": "Last name", "idnumber": "ID number"}
_LIMITS = {name: int(getattr(users.c[name].type, "length", 255)) for name in _NAME_FIELDS}


@dataclass(frozen=True)
class RoleChange:
    user: DirectoryUser
    tenant_id: int | None
    """The context: None for the system, else the tenant's id."""
    changed: bool
    """False when the role was already held (assign) or not held (unassign)."""


def _check_new_user(conn: Connection, new: NewUser) -> None:
    for field, label in _NAME_FIELDS.items():
        limit = _LIMITS[field]
        if len(getattr(new, field).strip()) > limit:
            raise ValidationError(f"{label} must not exceed {limit} characters.")
    if new.tenant_id is not None:
        found = conn.execute(select(tenants.c.id).where(tenants.c.id == new.tenant_id)).first()
        if found is None:
            raise ValidationError("Choose a tenant from the list.")
    if new.password:
        problems = password_errors(new.password)
        if problems:
            raise ValidationError(" ".join(problems))


def add_user(conn: Connection, new: NewUser, assign_apiuser: bool = False) -> int:
    """Create a user (the password, when given, must meet the password policy) and, when
    asked, give them the API User role in their tenant's context or the system context."""
    new.idnumber = new.idnumber.strip()
    _check_new_user(conn, new)
    user_id = create_user(conn, new, load_site_settings(conn))
    if assign_apiuser:
        assign_role(conn, APIUSER, user_id, new.tenant_id)
    return user_id


def suspend_user(
    conn: Connection, user_id: int, suspended: bool, acting_user_id: int
) -> DirectoryUser:
    """Suspend or unsuspend a live user; nobody may suspend their own account."""
    user = get_directory_user(conn, user_id)
    if suspended and user_id == acting_user_id:
        raise ValidationError(
            "You cannot suspend your own account: you would lock yourself out. "
            "Ask another site administrator."
        )
    set_suspended(conn, user_id, suspended)
    return user


def _role_context(user: DirectoryUser, context: str | None, assign: bool) -> int | None:
    if not context:
        return user.tenant_id
    if context == TENANT_CONTEXT:
        if user.tenant_id is None:
            raise ValidationError(f"{user.fullname} does not belong to a tenant.")
        return user.tenant_id
    if context != SYSTEM_CONTEXT:
        raise ValidationError("The context must be the system or the user's tenant.")
    if assign and user.tenant_id is not None:
        raise ValidationError(
            f"{user.fullname} is a member of tenant {user.tenant_name}: "
            "give them the API User role in their tenant's context."
        )
    return None


def change_apiuser_role(
    conn: Connection, user_id: int, assign: bool, context: str | None = None
) -> RoleChange:
    """Assign or unassign the API User role, as ``extapi role assign apiuser --user U
    [--tenant T]`` does. ``context`` is ``"system"``, ``"tenant"`` (the user's own) or None
    for the user's home context: their tenant, or the system for a system user. A tenant
    member is only given the role in their tenant; it can be taken away in either context."""
    user = get_directory_user(conn, user_id)
    tenant_id = _role_context(user, context, assign)
    if assign:
        changed = assign_role(conn, APIUSER, user.id, tenant_id)
    else:
        changed = unassign_role(conn, APIUSER, user.id, tenant_id)
    return RoleChange(user, tenant_id, changed)


def suspend_tenant(conn: Connection, tenant_id: int, suspended: bool) -> TenantSummary:
    """Suspend (disabling every API client of the tenant, as Totara does) or unsuspend a
    tenant. Returns the tenant as it was before, so callers can say how many clients were
    disabled. Unsuspending leaves the clients disabled, as Totara does."""
    before = get_tenant(conn, tenant_id)
    set_tenant_suspended(conn, tenant_id, suspended)
    return before
