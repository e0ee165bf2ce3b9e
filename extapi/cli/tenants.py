"""``extapi tenant``: add, list, suspend and unsuspend tenants."""

from __future__ import annotations

import click

from extapi.cli.base import ExtapiGroup, emit, transaction
from extapi.cli.lookups import tenant_id
from extapi.cli.views import tenant_view
from extapi.people import tenants as tenants_service

__all__ = ["tenant"]


@click.group(cls=ExtapiGroup)
def tenant() -> None:
    """Manage tenants."""


@tenant.command("add")
@click.option("--name", required=True)
@click.option("--idnumber", required=True)
@click.option("--description", default="")
def tenant_add(name: str, idnumber: str, description: str) -> None:
    """Add a tenant."""
    with transaction() as conn:
        new_id = tenants_service.add_tenant(conn, name, idnumber, description)
        row = tenants_service.get_tenant_by_idnumber(conn, idnumber.strip())
    emit(tenant_view(row), f"Tenant {row['idnumber']} added (id {new_id}).")


@tenant.command("list")
def tenant_list() -> None:
    """List every tenant."""
    with transaction() as conn:
        rows = tenants_service.list_tenants(conn)
    lines = [
        f"{r['id']}\t{r['idnumber']}\t{r['name']}{' (suspended)' * r['suspended']}" for r in rows
    ]
    emit([tenant_view(r) for r in rows], "\n".join(lines) or "No tenants.")


def _set_suspended(idnumber: str, suspended: bool) -> dict[str, object]:
    with transaction() as conn:
        found = tenant_id(conn, idnumber)
        assert found is not None
        tenants_service.set_tenant_suspended(conn, found, suspended)
        return tenant_view(tenants_service.get_tenant_by_idnumber(conn, idnumber))


@tenant.command("suspend")
@click.argument("idnumber")
def tenant_suspend(idnumber: str) -> None:
    """Suspend a tenant; its API clients are disabled."""
    view = _set_suspended(idnumber, True)
    emit(view, f"Tenant {idnumber} suspended; its API clients are disabled.")


@tenant.command("unsuspend")
@click.argument("idnumber")
def tenant_unsuspend(idnumber: str) -> None:
    """Lift a tenant's suspension (its clients stay disabled until enabled)."""
    view = _set_suspended(idnumber, False)
    emit(
        view,
        f"Tenant {idnumber} unsuspended. Re-enable its clients with 'extapi client enable'.",
    )
