"""``extapi role``: roles, their capabilities, and who holds them where."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import Connection

from extapi.access import roles as roles_service
from extapi.cli.base import ExtapiGroup, emit, transaction
from extapi.cli.lookups import role_id, tenant_id, user_row
from extapi.cli.views import role_view

__all__ = ["role"]


@click.group(cls=ExtapiGroup)
def role() -> None:
    """Manage roles, their capabilities and who holds them."""


def _role(conn: Connection, shortname: str) -> dict[str, Any]:
    role_id(conn, shortname)  # refuses an unknown role by name
    found = [r for r in roles_service.list_roles(conn) if r["shortname"] == shortname.strip()]
    return role_view(found[0])


def _assignment(role_name: str, username: str, tenant: str | None, assign: bool) -> dict[str, Any]:
    with transaction() as conn:
        role_id(conn, role_name)
        user_id = int(user_row(conn, username)["id"])
        context = tenant_id(conn, tenant)
        if assign:
            changed = roles_service.assign_role(conn, role_name, user_id, context)
        else:
            changed = roles_service.unassign_role(conn, role_name, user_id, context)
    return {
        "role": role_name,
        "user": username,
        "tenant": tenant,
        "held": assign,
        "changed": changed,
    }


@role.command("assign")
@click.argument("role_name", metavar="ROLE")
@click.option("--user", "username", required=True)
@click.option("--tenant", "tenant_idnumber", default=None, help="Assign in this tenant's context.")
def role_assign(role_name: str, username: str, tenant_idnumber: str | None) -> None:
    """Give USER the ROLE in the system context, or in a tenant's context."""
    view = _assignment(role_name, username, tenant_idnumber, True)
    where = f"tenant {tenant_idnumber}" if tenant_idnumber else "the system context"
    done = "Assigned" if view["changed"] else "Already held:"
    emit(view, f"{done} {role_name} to {username} in {where}.")


@role.command("unassign")
@click.argument("role_name", metavar="ROLE")
@click.option("--user", "username", required=True)
@click.option("--tenant", "tenant_idnumber", default=None)
def role_unassign(role_name: str, username: str, tenant_idnumber: str | None) -> None:
    """Take ROLE from USER in the system context, or in a tenant's context."""
    view = _assignment(role_name, username, tenant_idnumber, False)
    emit(view, f"{'Removed' if view['changed'] else 'Not held:'} {role_name} from {username}.")


@role.command("create")
@click.argument("shortname")
@click.option("--name", required=True)
@click.option("--description", default="")
def role_create(shortname: str, name: str, description: str) -> None:
    """Create an empty role; grant capabilities with 'extapi role grant'."""
    with transaction() as conn:
        new_id = roles_service.create_role(conn, shortname, name, description)
        view = _role(conn, shortname)
    emit(view, f"Role {view['shortname']} created (id {new_id}).")


_PERMISSIONS = {
    "allow": roles_service.ALLOW,
    "prevent": roles_service.PREVENT,
    "prohibit": roles_service.PROHIBIT,
}


@role.command("grant")
@click.argument("role_name", metavar="ROLE")
@click.argument("capability")
@click.option(
    "--permission", type=click.Choice(list(_PERMISSIONS)), default="allow", show_default=True
)
def role_grant(role_name: str, capability: str, permission: str) -> None:
    """Set a capability's permission in a role."""
    with transaction() as conn:
        role_id(conn, role_name)
        roles_service.set_permission(conn, role_name, capability, _PERMISSIONS[permission])
        view = _role(conn, role_name)
    emit(view, f"{role_name}: {capability} = {permission}.")


@role.command("revoke")
@click.argument("role_name", metavar="ROLE")
@click.argument("capability")
def role_revoke(role_name: str, capability: str) -> None:
    """Remove a capability from a role."""
    with transaction() as conn:
        role_id(conn, role_name)
        roles_service.remove_permission(conn, role_name, capability)
        view = _role(conn, role_name)
    emit(view, f"{role_name}: {capability} removed.")


@role.command("list")
def role_list() -> None:
    """List roles with their capabilities."""
    with transaction() as conn:
        views = [role_view(r) for r in roles_service.list_roles(conn)]
    lines = [f"{v['shortname']}\t{v['name']}\t{len(v['capabilities'])} capabilities" for v in views]
    emit(views, "\n".join(lines))
