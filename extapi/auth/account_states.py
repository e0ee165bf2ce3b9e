"""The state of API clients' service accounts as the admin pages show it.

Whether an account may serve a client is decided by one rule, the one the API applies to every
request (:func:`extapi.auth.service_accounts.account_status`). This module adds what an admin
also needs to see next to it: whether the client's tenant is suspended (which disables the
client) and whether the account holds the API User role (without it every operation that
checks a capability is refused). Each page is one statement, whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, cast

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, or_, select

from extapi.access.roles import APIUSER
from extapi.auth.clients import EVERY_TENANT, client_dict, listing_query
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
    "clients_with_health",
    "account_state",
    "count_candidates",
    "MAX_CANDIDATES",
]

MAX_CANDIDATES = 200
_Row = Mapping[str, Any]

# What each status of the API's rule is called on the admin pages.
_STATUS_LABELS: Final[dict[str, str]] = {
    NO_USER: "No service account",
    ADMIN: "Site administrator (not allowed)",
    SUSPENDED: "Suspended",
    DELETED: "Deleted",
    WRONG_TENANT: "Wrong tenant",
    VALID: "Active",
}


# Why a client whose account fails the API's rule does not work, in the client list.
_CLIENT_REASONS: Final[dict[str, str]] = {
    NO_USER: "No service account",
    ADMIN: "Account is an administrator",
    SUSPENDED: "Account suspended",
    DELETED: "Account deleted",
    WRONG_TENANT: "Account in another tenant",
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
        return _CLIENT_REASONS.get(self.account.status, self.account.label)


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


def _is_admin() -> ColumnElement[bool]:
    return select(site_admins.c.user_id).where(site_admins.c.user_id == users.c.id).exists()


def _account_rows() -> Select[Any]:
    return select(
        users.c.id,
        users.c.username,
        users.c.firstname,
        users.c.lastname,
        users.c.suspended,
        users.c.deleted,
        users.c.tenant_id,
        _is_admin().label("site_admin"),
        _holds_role().label("has_role"),
    )


def _state(row: _Row | None, client_tenant_id: int | None, tenant_suspended: bool) -> AccountState:
    status = account_status(row, bool(row and row["site_admin"]), client_tenant_id)
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


def _health(client: Mapping[str, Any], account: _Row | None) -> ClientHealth:
    tenant_suspended = bool(client.get("tenant_suspended"))
    return ClientHealth(
        bool(client["status"]), _state(account, client["tenant_id"], tenant_suspended)
    )


# The account's columns as the client listing carries them (prefixed: the listing has its own
# ``id`` and ``tenant_id``).
_ACCOUNT_COLUMNS = ("id", "username", "firstname", "lastname", "suspended", "deleted", "tenant_id")
_ACCOUNT_FLAGS = ("site_admin", "has_role")
_PREFIX = "account_"
_KEYS = tuple((name, _PREFIX + name) for name in (*_ACCOUNT_COLUMNS, *_ACCOUNT_FLAGS))


@cache
def _listing_with_accounts(scope: str) -> Select[Any]:
    """The client listing with each account's columns; built once per scope ("every",
    "system" or "tenant", the tenant's id then bound at execution) so that SQLAlchemy's
    statement cache is hit without building the statement again."""
    tenant_id: Any = {"every": EVERY_TENANT, "system": None}.get(scope, bindparam("tenant_id"))
    return listing_query(tenant_id).add_columns(
        *(users.c[name].label(_PREFIX + name) for name in _ACCOUNT_COLUMNS),
        _is_admin().label(_PREFIX + "site_admin"),
        _holds_role().label(_PREFIX + "has_role"),
    )


def clients_with_health(
    conn: Connection, tenant_id: int | None = EVERY_TENANT
) -> tuple[list[dict[str, Any]], list[ClientHealth]]:
    """:func:`extapi.auth.clients.list_clients` and the effective status of each client, in
    one statement."""
    if tenant_id == EVERY_TENANT:
        rows = conn.execute(_listing_with_accounts("every"))
    elif tenant_id is None:
        rows = conn.execute(_listing_with_accounts("system"))
    else:
        rows = conn.execute(_listing_with_accounts("tenant"), {"tenant_id": tenant_id})
    found, health = [], []
    for row in rows.mappings():
        client = client_dict(row)
        account = None
        if row["account_id"] is not None:
            account = {name: row[key] for name, key in _KEYS}
        found.append(client)
        health.append(_health(client, account))
    return found, health


def client_health(conn: Connection, client: Mapping[str, Any]) -> ClientHealth:
    """The effective status of one client (a row of ``clients.get_client``)."""
    return _health(client, account_row(conn, client["user_id"]))


def account_row(conn: Connection, user_id: int | None) -> _Row | None:
    if user_id is None:
        return None
    found = conn.execute(_account_rows().where(users.c.id == user_id)).mappings().first()
    return None if found is None else dict(found)


def account_state(conn: Connection, user_id: int | None) -> AccountState | None:
    """A user's state as the service account of a client of their own tenant, or None."""
    row = account_row(conn, user_id)
    return None if row is None else _state(row, row["tenant_id"], False)


def _candidate_filter(
    tenant_id: int | None, every_tenant: bool, search: str
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        users.c.deleted.is_(False),
        users.c.id.not_in(select(site_admins.c.user_id)),
    ]
    if not every_tenant:
        where.append(
            users.c.tenant_id.is_(None) if tenant_id is None else users.c.tenant_id == tenant_id
        )
    if search.strip():
        where.append(user_matches(search.strip()[:100]))
    return where


def account_candidates(
    conn: Connection,
    tenant_id: int | None = None,
    every_tenant: bool = True,
    search: str = "",
    limit: int = MAX_CANDIDATES,
) -> list[AccountState]:
    """Users who could become a service account: live, not site administrators, with their
    state for a client of their own tenant. Every tenant's and the system's users, or
    (``every_tenant=False``) only those of ``tenant_id``; optionally narrowed by a text as in
    the user search; by name, at most ``limit``."""
    query = (
        _account_rows()
        .add_columns(tenants.c.suspended.label("tenant_suspended"))
        .outerjoin(tenants, tenants.c.id == users.c.tenant_id)
        .where(*_candidate_filter(tenant_id, every_tenant, search))
        .order_by(users.c.lastname, users.c.firstname, users.c.id)
        .limit(limit)
    )
    return [
        _state(cast(_Row, r), r["tenant_id"], bool(r["tenant_suspended"]))
        for r in conn.execute(query).mappings()
    ]


def count_candidates(conn: Connection) -> int:
    """How many users of every tenant and the system could become a service account."""
    query = select(func.count()).select_from(users).where(*_candidate_filter(None, True, ""))
    return int(conn.execute(query).scalar_one())
