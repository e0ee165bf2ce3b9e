"""Tenant scope: the one place that decides which users an actor can reach.

Every service that reads users calls :func:`reachable_users`; nothing else filters by tenant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, true

from extapi.access.principal import Principal
from extapi.db.tables import users
from extapi.settings.site import SiteSettings

__all__ = ["reachable_users", "LIST", "REFERENCE"]

LIST = "list"
REFERENCE = "reference"


def reachable_users(
    principal: Principal, site: SiteSettings, purpose: str = REFERENCE
) -> ColumnElement[Any]:
    """Live users the actor may reach.

    A tenant member reaches only its own tenant. A system actor reaches everyone, except that
    with tenant isolation on it *lists* only users outside tenants (it can still reach a tenant
    user by reference, as Totara allows).
    """
    live = users.c.deleted.is_(False)
    if principal.tenant_id is not None:
        return and_(live, users.c.tenant_id == principal.tenant_id)
    if purpose == LIST and site.tenantsisolated:
        return and_(live, users.c.tenant_id.is_(None))
    return and_(live, true())
