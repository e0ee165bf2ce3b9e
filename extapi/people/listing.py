"""``core_user_users``: pages of the users an actor may list, for full and delta extracts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from extapi.dates import parse_date_input
from extapi.db.tables import users
from extapi.errors import CodingError, PermissionDenied, ValidationError
from extapi.pagination import ALL, Page, Wanted, decode_cursor, page_request, read_page
from extapi.people.scope import LIST, reachable_users
from extapi.people.user_changes import Actor

__all__ = ["list_users", "SORTABLE"]

SORTABLE = ("id", "firstname", "lastname", "username", "timemodified")
_COLUMNS = {name: getattr(users.c, name) for name in SORTABLE}


def _check_rights(actor: Actor) -> None:
    tenant_id = actor.principal.tenant_id
    if actor.can("moodle/user:viewalldetails", tenant_id):
        return
    if tenant_id is not None and actor.can("totara/tenant:viewparticipants", tenant_id):
        return
    raise PermissionDenied("You do not have capabilities to view users.")


def _sort_element(sort: list[Mapping[str, Any]] | None) -> Mapping[str, Any] | None:
    """The one sort element, checked for count and a column before anything else."""
    if not sort:
        return None
    if len(sort) > 1:
        raise ValidationError("Sorting by more than one column is not currently supported.")
    if sort[0].get("column") in (None, "", "0"):  # PHP-empty
        raise ValidationError("Required parameter 'column' not being passed.")
    return sort[0]


def _sort_columns(element: Mapping[str, Any] | None) -> tuple[list[str], bool]:
    """Comma-separated columns, each trimmed and lower-cased; the direction applies to all."""
    if element is None:
        return ["id"], False
    columns = [c.strip().lower() for c in str(element["column"]).split(",")]
    if any(c not in SORTABLE for c in columns):
        raise CodingError(f"sort field must be one of these: {', '.join(SORTABLE)}")
    return columns, element.get("direction") == "DESC"


def _filters(actor: Actor, filters: Mapping[str, Any] | None) -> list[Any]:
    filters = filters or {}
    conditions: list[Any] = []
    # Totara 17.3 lists suspended users; later versions filter them out unless asked. Without
    # a status the 17.3 behaviour holds, so clients written for 17.3 see the same list.
    status = filters.get("status") or "ALL"
    if status != "ALL":
        conditions.append(users.c.suspended.is_(status == "SUSPENDED"))
    for name, column in (
        ("since_timecreated", users.c.timecreated),
        ("since_timemodified", users.c.timemodified),
    ):
        if filters.get(name) is not None:
            try:
                since = parse_date_input(filters[name], actor.timezone)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
            if since is not None:
                conditions.append(column >= since)
    return conditions


def list_users(
    conn: Connection, actor: Actor, query: Mapping[str, Any] | None, wanted: Wanted = ALL
) -> Page:
    """One page of users, checked in Totara's order: sort shape, cursor, rights, columns.
    Only what ``wanted`` asks for is read (see :func:`extapi.pagination.read_page`)."""
    query = query or {}
    element = _sort_element(query.get("sort"))
    cursor = decode_cursor(query.get("pagination"))
    _check_rights(actor)
    columns, descending = _sort_columns(element)
    request = page_request(query.get("pagination"), columns, descending, decoded=cursor)
    where = [
        reachable_users(actor.principal, actor.site, LIST),
        *_filters(actor, query.get("filters")),
    ]
    total = (
        conn.execute(select(func.count()).select_from(users).where(*where)).scalar_one()
        if wanted.total
        else 0
    )
    items, next_cursor, cut = read_page(
        conn, select(users).where(*where), _COLUMNS, request, wanted
    )
    return Page(items, int(total), next_cursor, cut)
