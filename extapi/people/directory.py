"""The people directory behind the admin pages: users searched and paged with their tenant,
site-administrator flag and API User role; tenants with their member and client counts.

Every page is two statements (the rows, then the total); flags come from correlated EXISTS
subqueries and counts from scalar subqueries, so nothing is fetched per row. The SQL is
portable (SQLite and PostgreSQL); text matches are case-insensitive through ``lower()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, Select, String, func, or_, select

from extapi.db.tables import api_clients, role_assignments, roles, site_admins, tenants, users
from extapi.errors import NotFoundError

__all__ = [
    "APIUSER",
    "PER_PAGE",
    "MAX_QUERY_LENGTH",
    "NO_TENANT",
    "UserSearch",
    "DirectoryUser",
    "UserPage",
    "TenantSummary",
    "search_users",
    "user_matches",
    "get_directory_user",
    "list_tenant_summaries",
    "get_tenant",
]

PER_PAGE = 50
MAX_QUERY_LENGTH = 100
MAX_PAGE = 100_000
NO_TENANT = 0
"""``UserSearch.tenant_id`` value that selects the users who belong to no tenant."""
APIUSER = "apiuser"


@dataclass(frozen=True)
class UserSearch:
    """What to show: ``text`` matches username, name, email or idnumber; ``tenant_id`` None
    means every tenant, ``NO_TENANT`` the system users; ``page`` counts from 1."""

    text: str = ""
    tenant_id: int | None = None
    page: int = 1
    per_page: int = PER_PAGE

    def cleaned(self) -> UserSearch:
        text = " ".join(self.text.split())[:MAX_QUERY_LENGTH]
        page = min(max(self.page, 1), MAX_PAGE)
        return UserSearch(text, self.tenant_id, page, max(1, self.per_page))


@dataclass(frozen=True)
class DirectoryUser:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    idnumber: str
    suspended: bool
    tenant_id: int | None
    tenant_name: str | None
    tenant_idnumber: str | None
    site_admin: bool
    apiuser_system: bool
    """Holds the API User role in the system context."""
    apiuser_tenant: bool
    """Holds the API User role in the context of the tenant they belong to."""

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}".strip()

    @property
    def holds_apiuser(self) -> bool:
        return self.apiuser_system or self.apiuser_tenant

    @property
    def apiuser_in_home_context(self) -> bool:
        """Holds the role where it is given: their tenant, or the system for system users."""
        return self.apiuser_tenant if self.tenant_id is not None else self.apiuser_system


@dataclass(frozen=True)
class UserPage:
    users: list[DirectoryUser]
    search: UserSearch
    total: int

    @property
    def has_previous(self) -> bool:
        return self.search.page > 1

    @property
    def has_next(self) -> bool:
        return self.search.page * self.search.per_page < self.total

    @property
    def first(self) -> int:
        """1-based position of the first row shown (0 when none)."""
        return (self.search.page - 1) * self.search.per_page + 1 if self.users else 0

    @property
    def last(self) -> int:
        return self.first + len(self.users) - 1 if self.users else 0


@dataclass(frozen=True)
class TenantSummary:
    id: int
    name: str
    idnumber: str
    description: str
    suspended: bool
    users: int
    clients: int
    enabled_clients: int


def _apiuser_held(system: bool) -> ColumnElement[bool]:
    where = (
        role_assignments.c.tenant_id.is_(None)
        if system
        else role_assignments.c.tenant_id == users.c.tenant_id
    )
    return (
        select(role_assignments.c.id)
        .join(roles, roles.c.id == role_assignments.c.role_id)
        .where(roles.c.shortname == APIUSER, role_assignments.c.user_id == users.c.id, where)
        .exists()
    )


def _user_rows() -> Select[Any]:
    is_admin = select(site_admins.c.user_id).where(site_admins.c.user_id == users.c.id).exists()
    return select(
        users.c.id,
        users.c.username,
        users.c.firstname,
        users.c.lastname,
        users.c.email,
        users.c.idnumber,
        users.c.suspended,
        users.c.tenant_id,
        tenants.c.name.label("tenant_name"),
        tenants.c.idnumber.label("tenant_idnumber"),
        is_admin.label("site_admin"),
        _apiuser_held(True).label("apiuser_system"),
        _apiuser_held(False).label("apiuser_tenant"),
    ).select_from(users.outerjoin(tenants, tenants.c.id == users.c.tenant_id))


def _to_user(row: RowMapping) -> DirectoryUser:
    flags = ("suspended", "site_admin", "apiuser_system", "apiuser_tenant")
    return DirectoryUser(**{**row, **{name: bool(row[name]) for name in flags}})


def _lower(column: ColumnElement[Any]) -> ColumnElement[str]:
    return func.lower(column, type_=String)


def _conditions(search: UserSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [users.c.deleted.is_(False)]
    if search.tenant_id == NO_TENANT:
        conditions.append(users.c.tenant_id.is_(None))
    elif search.tenant_id is not None:
        conditions.append(users.c.tenant_id == search.tenant_id)
    if search.text:
        conditions.append(user_matches(search.text))
    return conditions


def user_matches(text: str) -> ColumnElement[bool]:
    """Users whose username, email, idnumber or full name holds ``text``, in any case
    (``%`` and ``_`` are matched literally)."""
    needle = text.lower()
    fullname = users.c.firstname + " " + users.c.lastname
    columns = (users.c.username, users.c.email, users.c.idnumber, fullname)
    return or_(*(_lower(c).contains(needle, autoescape=True) for c in columns))


def search_users(conn: Connection, search: UserSearch) -> UserPage:
    """One page of live (not deleted) users, ordered by last name, first name and id."""
    search = search.cleaned()
    where = _conditions(search)
    query = (
        _user_rows()
        .where(*where)
        .order_by(_lower(users.c.lastname), _lower(users.c.firstname), users.c.id)
        .limit(search.per_page)
        .offset((search.page - 1) * search.per_page)
    )
    rows = [_to_user(r) for r in conn.execute(query).mappings()]
    total = conn.execute(select(func.count()).select_from(users).where(*where)).scalar_one()
    return UserPage(rows, search, int(total))


def get_directory_user(conn: Connection, user_id: int) -> DirectoryUser:
    """A live user with their tenant and flags; NotFoundError when missing or deleted."""
    row = (
        conn.execute(_user_rows().where(users.c.id == user_id, users.c.deleted.is_(False)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"User {user_id} does not exist.")
    return _to_user(row)


def _count(table: Any, *where: ColumnElement[bool]) -> Any:
    return select(func.count()).select_from(table).where(*where).scalar_subquery()


def _tenant_rows() -> Select[Any]:
    owned = api_clients.c.tenant_id == tenants.c.id
    return select(
        tenants.c.id,
        tenants.c.name,
        tenants.c.idnumber,
        func.coalesce(tenants.c.description, "").label("description"),
        tenants.c.suspended,
        _count(users, users.c.tenant_id == tenants.c.id, users.c.deleted.is_(False)).label("users"),
        _count(api_clients, owned).label("clients"),
        _count(api_clients, owned, api_clients.c.status.is_(True)).label("enabled_clients"),
    )


def _to_tenant(row: RowMapping) -> TenantSummary:
    return TenantSummary(**{**row, "suspended": bool(row["suspended"])})


def list_tenant_summaries(conn: Connection) -> list[TenantSummary]:
    """Every tenant, by name, with its live users and its API clients counted."""
    query = _tenant_rows().order_by(_lower(tenants.c.name), tenants.c.id)
    return [_to_tenant(r) for r in conn.execute(query).mappings()]


def get_tenant(conn: Connection, tenant_id: int) -> TenantSummary:
    row = conn.execute(_tenant_rows().where(tenants.c.id == tenant_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"Tenant {tenant_id} does not exist.")
    return _to_tenant(row)
