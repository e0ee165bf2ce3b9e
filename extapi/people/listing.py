"""``core_user_users``: pages of the users an actor may list, for full and delta extracts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from extapi.dates import parse_date_input
from extapi.db.tables import users
from extapi.errors import PermissionDenied, ValidationError
from extapi.pagination import (
    Page,
    finish_page,
    page_request,
    paged,
)
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


def _sort(sort: list[Mapping[str, Any]] | None) -> tuple[list[str], bool]:
    if not sort:
        return ["id"], False
    if len(sort) > 1:
        raise ValidationError("Sorting by more than one column is not currently supported.")
    element = sort[0]
    if not element.get("column"):
        raise ValidationError("Required parameter 'column' not being passed.")
    columns = [c.strip() for c in str(element["column"]).split(",")]
    if any(c not in SORTABLE for c in columns):
        raise ValidationError(f"sort field must be one of these: {', '.join(SORTABLE)}")
    return columns, element.get("direction") == "DESC"


def _filters(actor: Actor, filters: Mapping[str, Any] | None) -> list[Any]:
    filters = filters or {}
    conditions: list[Any] = []
    status = filters.get("status") or "ACTIVE"
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


def list_users(conn: Connection, actor: Actor, query: Mapping[str, Any] | None) -> Page:
    _check_rights(actor)
    query = query or {}
    columns, descending = _sort(query.get("sort"))
    request = page_request(query.get("pagination"), columns, descending)
    where = [
        reachable_users(actor.principal, actor.site, LIST),
        *_filters(actor, query.get("filters")),
    ]
    total = conn.execute(select(func.count()).select_from(users).where(*where)).scalar_one()
    page_query = paged(select(users).where(*where), _COLUMNS, request)
    rows = [dict(r) for r in conn.execute(page_query).mappings()]
    items, next_cursor = finish_page(rows, request)
    return Page(items, int(total), next_cursor)
