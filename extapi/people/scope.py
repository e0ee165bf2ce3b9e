"""Tenant scope: the one place that decides which users an actor can reach.

Every service that reads users calls :func:`reachable_users`; nothing else filters by tenant.
"""

from __future__ import annotations

from functools import lru_cache
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

    The same condition object comes back for the same tenant and purpose, so callers may cache
    statements built on it.
    """
    isolated = bool(site.tenantsisolated) and purpose == LIST
    return _condition(principal.tenant_id, isolated)


@lru_cache(maxsize=1024)
def _condition(tenant_id: int | None, isolated: bool) -> ColumnElement[Any]:
    live = users.c.deleted.is_(False)
    if tenant_id is not None:
        return and_(live, users.c.tenant_id == tenant_id)
    if isolated:
        return and_(live, users.c.tenant_id.is_(None))
    return and_(live, true())
