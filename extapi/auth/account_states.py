"""The state of API clients' service accounts as the admin pages show it.

Whether an account may serve a client is decided by one rule, the one the API applies to every
request (:func:`extapi.auth.service_accounts.account_status`). This module adds what an admin
also needs to see next to it: whether the client's tenant is suspended (which disables the
client) and whether the account holds the API User role (without it every operation that
checks a capability is refused). Each page is one statement, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, or_, select

from extapi.access.roles import APIUSER
from extapi.auth.service_accounts import (
    ADMIN,
    DELETED,
    NO_USER,
    SUSPENDED,
    VALID,
    WRONG_TENANT,
    account_status,
)
from extapi.db.tables import role_assignments, roles, site_admins, tenants, users
from extapi.people.directory import user_matches

__all__ = [
    "AccountState",
    "ClientHealth",
    "account_candidates",
    "client_health",
    "states_of_clients",
]

MAX_CANDIDATES = 500

# What each status of the API's rule is called on the admin pages.
_STATUS_LABELS: Final[dict[str, str]] = {
    NO_USER: "No service account",
    ADMIN: "Site administrator (not allowed)",
    SUSPENDED: "Suspended",
    DELETED: "Deleted",
    WRONG_TENANT: "Wrong tenant",
    VALID: "Active",
}


@dataclass(frozen=True)
class AccountState:
    """A user as the service account of a client of ``client_tenant_id``."""

    user_id: int | None
    username: str
    fullname: str
    tenant_id: int | None
    status: str  # the API's status code (service_accounts), for the client's tenant
    tenant_suspended: bool
    has_role: bool

    @property
    def usable(self) -> bool:
        """Would a client acting as this account work?"""
        return self.status == VALID and not self.tenant_suspended and self.has_role

    @property
    def label(self) -> str:
        """The account's state in a word or three: the first thing that stops it working."""
        if self.status != VALID:
            return _STATUS_LABELS.get(self.status, self.status)
        if self.tenant_suspended:
            return "Tenant suspended"
        return "Active" if self.has_role else "No API User role"

    @property
    def role_label(self) -> str:
        return "holds the API User role" if self.has_role else "no API User role"

    @property
    def summary(self) -> str:
        """The state and the role, as the picker and the client pages show them."""
        state = "Active" if self.label == "No API User role" else self.label
        return f"{state}, {self.role_label}" if self.user_id is not None else state

    @property
    def display_name(self) -> str:
        return f"{self.fullname} ({self.username})" if self.fullname else self.username


@dataclass(frozen=True)
class ClientHealth:
    """A client's effective status: "Enabled" only when a request of it would be served."""

    enabled: bool
    account: AccountState

    @property
    def works(self) -> bool:
        return self.enabled and self.account.usable

    @property
    def label(self) -> str:
        if not self.enabled:
            return "Disabled (tenant suspended)" if self.account.tenant_suspended else "Disabled"
        if self.account.usable:
            return "Enabled"
        if self.account.status == VALID:
            return self.account.label
        return f"Service account: {self.account.label.lower()}"


def _holds_role() -> ColumnElement[bool]:
    """The API User role, held in the system context or the user's own tenant's."""
    return (
        select(role_assignments.c.id)
        .join(roles, roles.c.id == role_assignments.c.role_id)
        .where(
            roles.c.shortname == APIUSER,
            role_assignments.c.user_id == users.c.id,
            or_(
                role_assignments.c.tenant_id.is_(None),
                role_assignments.c.tenant_id == users.c.tenant_id,
            ),
        )
        .exists()
    )


def _account_rows() -> Select[Any]:
    is_admin = select(site_admins.c.user_id).where(site_admins.c.user_id == users.c.id).exists()
    return select(
        users.c.id,
        users.c.username,
        users.c.firstname,
        users.c.lastname,
        users.c.suspended,
        users.c.deleted,
        users.c.tenant_id,
        is_admin.label("site_admin"),
        _holds_role().label("has_role"),
    )


def _state(
    row: RowMapping | None, client_tenant_id: int | None, tenant_suspended: bool
) -> AccountState:
    user = None if row is None else dict(row)
    status = account_status(user, bool(user and user["site_admin"]), client_tenant_id)
    if row is None:
        return AccountState(None, "", "", None, status, tenant_suspended, False)
    fullname = f"{row['firstname']} {row['lastname']}".strip()
    return AccountState(
        int(row["id"]),
        row["username"],
        fullname,
        row["tenant_id"],
        status,
        tenant_suspended,
        bool(row["has_role"]),
    )


def states_of_clients(conn: Connection, clients: Iterable[Mapping[str, Any]]) -> list[ClientHealth]:
    """The effective status of each client (rows of ``clients.list_clients``), in order."""
    clients = list(clients)
    wanted = {c["user_id"] for c in clients if c["user_id"] is not None}
    rows: dict[int, RowMapping] = {}
    if wanted:
        found = conn.execute(_account_rows().where(users.c.id.in_(wanted))).mappings()
        rows = {int(r["id"]): r for r in found}
    return [
        ClientHealth(
            bool(c["status"]),
            _state(rows.get(c["user_id"]), c["tenant_id"], bool(c.get("tenant_suspended"))),
        )
        for c in clients
    ]


def client_health(conn: Connection, client: Mapping[str, Any]) -> ClientHealth:
    return states_of_clients(conn, [client])[0]


def account_candidates(
    conn: Connection, tenant_id: int | None = None, every_tenant: bool = True, search: str = ""
) -> list[AccountState]:
    """Users who could become a service account: live, not site administrators, with their
    state for a client of their own tenant. Every tenant's and the system's users, or
    (``every_tenant=False``) only those of ``tenant_id``; optionally narrowed by a text as in
    the user search; by name."""
    query = (
        _account_rows()
        .add_columns(tenants.c.suspended.label("tenant_suspended"))
        .outerjoin(tenants, tenants.c.id == users.c.tenant_id)
        .where(
            users.c.deleted.is_(False),
            users.c.id.not_in(select(site_admins.c.user_id)),
        )
        .order_by(users.c.lastname, users.c.firstname, users.c.id)
        .limit(MAX_CANDIDATES)
    )
    if not every_tenant:
        query = query.where(
            users.c.tenant_id.is_(None) if tenant_id is None else users.c.tenant_id == tenant_id
        )
    if search.strip():
        query = query.where(user_matches(search.strip()[:100]))
    return [
        _state(r, r["tenant_id"], bool(r["tenant_suspended"]))
        for r in conn.execute(query).mappings()
    ]
