"""Finding the records a command names, with messages that say how to find the right name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from extapi.access import roles as roles_service
from extapi.auth import clients as clients_service
from extapi.errors import NotFoundError
from extapi.people import tenants as tenants_service
from extapi.people import users as users_service

__all__ = ["tenant_id", "user_row", "client_row", "role_id"]


def tenant_id(conn: Connection, idnumber: str | None) -> int | None:
    """The id of the tenant with this idnumber; None for none given (the system)."""
    if idnumber is None:
        return None
    try:
        return int(tenants_service.get_tenant_by_idnumber(conn, idnumber)["id"])
    except NotFoundError as exc:
        raise NotFoundError(
            f"{exc.message} 'extapi tenant list' shows the tenants' idnumbers; "
            f"'extapi tenant add --name NAME --idnumber {idnumber}' adds one."
        ) from None


def user_row(conn: Connection, username: str) -> dict[str, Any]:
    try:
        return users_service.get_user_by_username(conn, username)
    except NotFoundError as exc:
        raise NotFoundError(
            f"{exc.message} 'extapi user list' shows the usernames; 'extapi user add "
            f"--username {username} ...' adds one."
        ) from None


def client_row(conn: Connection, client_id: str) -> dict[str, Any]:
    try:
        return clients_service.get_client(conn, client_id)
    except NotFoundError as exc:
        raise NotFoundError(f"{exc.message} 'extapi client list' shows the client ids.") from None


def role_id(conn: Connection, shortname: str) -> int:
    try:
        return roles_service.get_role_id(conn, shortname)
    except NotFoundError as exc:
        raise NotFoundError(
            f"{exc.message} 'extapi role list' shows the roles; 'extapi role create "
            f"{shortname} --name NAME' adds one."
        ) from None
