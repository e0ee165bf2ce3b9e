"""Finding the records a command names, with messages that say how to find the right name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from extapi.access import roles as roles_service
from extapi.auth import clients as clients_service
from extapi.errors import NotFoundError
from extapi.people import tenants as tenants_service
from extapi.people import users as users_service

__all__ = ["tenant_id", "user_row", "client_row", "role_id"]

T = TypeVar("T")


def _found(find: Callable[[], T], hint: str) -> T:
    """What ``find`` returns; its NotFoundError again with ``hint`` (how to find the right
    name) after the message."""
    try:
        return find()
    except NotFoundError as exc:
        raise NotFoundError(f"{exc.message} {hint}") from None


def tenant_id(conn: Connection, idnumber: str | None) -> int | None:
    """The id of the tenant with this idnumber; None for none given (the system)."""
    if idnumber is None:
        return None
    return _found(
        lambda: int(tenants_service.get_tenant_by_idnumber(conn, idnumber)["id"]),
        "'extapi tenant list' shows the tenants' idnumbers; "
        f"'extapi tenant add --name NAME --idnumber {idnumber}' adds one.",
    )


def user_row(conn: Connection, username: str) -> dict[str, Any]:
    return _found(
        lambda: users_service.get_user_by_username(conn, username),
        f"'extapi user list' shows the usernames; 'extapi user add --username {username} ...' "
        "adds one.",
    )


def client_row(conn: Connection, client_id: str) -> dict[str, Any]:
    return _found(
        lambda: clients_service.get_client(conn, client_id),
        "'extapi client list' shows the client ids.",
    )


def role_id(conn: Connection, shortname: str) -> int:
    return _found(
        lambda: roles_service.get_role_id(conn, shortname),
        f"'extapi role list' shows the roles; 'extapi role create {shortname} --name NAME' "
        "adds one.",
    )
