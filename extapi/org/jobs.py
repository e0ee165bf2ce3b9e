"""Job assignments: listing, finding, creating, updating and deleting them with Totara's rules.

Writers run inside the caller's transaction and validate everything before writing, so a
failed mutation changes nothing. Staff counts are never stored: they are counted on read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from extapi.dates import parse_date_input
from extapi.db.tables import hierarchy_items, job_assignments, users
from extapi.errors import NotFoundError, PermissionDenied, ValidationError
from extapi.pagination import (
    Page,
    finish_page,
    page_request,
    paged,
)
from extapi.people.scope import LIST, REFERENCE, reachable_users
from extapi.people.user_changes import Actor, find_user

__all__ = [
    "SORTABLE",
    "list_job_assignments",
    "find_job_assignment",
    "create_job_assignment",
    "update_job_assignment",
    "delete_job_assignment",
    "delete_for_user",
    "get_job_assignment",
    "jobs_by_ids",
    "jobs_of_users",
    "staff_counts",
    "users_by_ids",
]

VIEW_DENIED = "Sorry, but you do not currently have permissions to do that (view job assignments)"
CREATE_NO_USER = "The user does not exist or you do not have permission to create a job assignment."
UPDATE_NOT_FOUND = "Job assignment does not exist or you do not have permission to manage it."
NOT_SINGLE = (
    "There was a problem finding a single job assignment record match or you do not have "
    "permission to manage it."
)
DATES_REVERSED = "The start date can not be later than the end date."
NO_DELEGATION = "You do not have permission to delegate a manager."
OWN_MANAGER = "The user cannot be assigned as their own manager."
EXPIRY_REQUIRED = "A temporary manager expiry date is required."
OWN_TEMP_MANAGER = "The user cannot be assigned as their own temporary manager."
EXPIRY_PAST = "The temporary manager expiry date can not be in the past."
OWN_APPRAISER = "The user can not be their own appraiser!"
UNKNOWN_SORT = "Unknown sort column"

ja = job_assignments
_staff = job_assignments.alias("staff")


def _count_of(column: ColumnElement[Any]) -> ColumnElement[int]:
    return select(func.count()).select_from(_staff).where(column == ja.c.id).scalar_subquery()


# Sort name -> key expression; nullable columns sort as 0 (or "") so keyset paging works.
_SORT_KEYS: dict[str, ColumnElement[Any]] = {
    "id": ja.c.id,
    "userid": ja.c.user_id,
    "shortname": func.coalesce(ja.c.shortname, literal("")),
    "startdate": func.coalesce(ja.c.startdate, 0),
    "endate": func.coalesce(ja.c.enddate, 0),
    "position": func.coalesce(ja.c.position_id, 0),
    "organisation": func.coalesce(ja.c.organisation_id, 0),
    "managerjaid": func.coalesce(ja.c.manager_ja_id, 0),
    "tempmanagerjaid": func.coalesce(ja.c.temp_manager_ja_id, 0),
    "tempmanagerexpirydate": func.coalesce(ja.c.temp_manager_expiry, 0),
    "appraiserid": func.coalesce(ja.c.appraiser_id, 0),
    "staffcount": _count_of(_staff.c.manager_ja_id),
    "tempstaffcount": _count_of(_staff.c.temp_manager_ja_id),
    "timemodified": ja.c.timemodified,
}
SORTABLE = tuple(_SORT_KEYS)
_KEY_PREFIX = "sortkey_"


# --- reading ----------------------------------------------------------------------------------
def _check_view_rights(actor: Actor) -> None:
    tenant_id = actor.principal.tenant_id
    if not (
        actor.can("moodle/user:viewdetails", tenant_id)
        or actor.can("moodle/user:viewalldetails", tenant_id)
    ):
        raise PermissionDenied(VIEW_DENIED)


def _sort(sort: list[Mapping[str, Any]] | None) -> tuple[str, bool]:
    """The one sort column used (only the first element counts) and its direction."""
    if not sort:
        return "id", False
    column = str(sort[0].get("column") or "").strip()
    if column not in _SORT_KEYS:
        raise ValidationError(UNKNOWN_SORT)
    return column, sort[0].get("direction") == "DESC"


def _since(actor: Actor, filters: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
    value = (filters or {}).get("since_timemodified")
    try:
        since = parse_date_input(value, actor.timezone)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return [] if since is None else [ja.c.timemodified >= since]


def list_job_assignments(conn: Connection, actor: Actor, query: Mapping[str, Any] | None) -> Page:
    """One page of the job assignments of the users the actor may list."""
    _check_view_rights(actor)
    query = query or {}
    column, descending = _sort(query.get("sort"))
    request = page_request(query.get("pagination"), [column], descending)
    where = [
        reachable_users(actor.principal, actor.site, LIST),
        *_since(actor, query.get("filters")),
    ]
    joined = ja.join(users, users.c.id == ja.c.user_id)
    total = conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    keys = [_SORT_KEYS[name].label(_KEY_PREFIX + name) for name in request.sort]
    page_query = paged(select(ja, *keys).select_from(joined).where(*where), _SORT_KEYS, request)
    rows = [dict(r) for r in conn.execute(page_query).mappings()]
    key_rows = [{name: r.pop(_KEY_PREFIX + name) for name in request.sort} for r in rows]
    page, next_cursor = finish_page(key_rows, request)
    return Page(rows[: len(page)], int(total), next_cursor)


def _reference_matches(
    conn: Connection, actor: Actor, reference: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Up to two reachable live job assignments matching every given reference field.

    Each row carries the holder's tenant as ``user_tenant_id``.
    """
    params: dict[str, Any] = {}
    if reference.get("id") not in (None, ""):
        params["id"] = int(reference["id"])
    if reference.get("idnumber") not in (None, ""):
        params["idnumber"] = reference["idnumber"]
    if reference.get("user") is not None:
        try:
            params["user_id"] = find_user(conn, actor, reference["user"])["id"]
        except NotFoundError:
            return []
    if not params:
        return []
    scope = reachable_users(actor.principal, actor.site, REFERENCE)
    query = _reference_query(tuple(params), scope)
    return [dict(r) for r in conn.execute(query, params).mappings()]


@lru_cache(maxsize=256)
def _reference_query(keys: tuple[str, ...], scope: ColumnElement[Any]) -> Select[Any]:
    """Built once per combination of reference fields and tenant scope (bulk syncs resolve
    thousands of managers, and building a statement costs more than running it)."""
    return (
        select(ja, users.c.tenant_id.label("user_tenant_id"))
        .select_from(ja.join(users, users.c.id == ja.c.user_id))
        .where(scope, *(getattr(ja.c, k) == bindparam(k) for k in keys))
        .limit(2)
    )


def find_job_assignment(
    conn: Connection, actor: Actor, reference: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The single job assignment a reference picks, or None (none, several, or not visible)."""
    _check_view_rights(actor)
    rows = _reference_matches(conn, actor, reference)
    if len(rows) != 1:
        return None
    rows[0].pop("user_tenant_id")
    return rows[0]


def get_job_assignment(conn: Connection, job_id: int) -> dict[str, Any]:
    return dict(conn.execute(select(ja).where(ja.c.id == job_id)).mappings().one())


def jobs_by_ids(conn: Connection, actor: Actor, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Job assignments by id, limited to holders the actor can reach; for batch loaders."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = (
        select(ja)
        .select_from(ja.join(users, users.c.id == ja.c.user_id))
        .where(ja.c.id.in_(wanted), reachable_users(actor.principal, actor.site, REFERENCE))
    )
    return {int(r["id"]): dict(r) for r in conn.execute(query).mappings()}


def jobs_of_users(conn: Connection, user_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each user's job assignments in their sort order, in one statement."""
    wanted = sorted(set(user_ids))
    found: dict[int, list[dict[str, Any]]] = {}
    if not wanted:
        return found
    query = select(ja).where(ja.c.user_id.in_(wanted)).order_by(ja.c.sortorder, ja.c.id)
    for row in conn.execute(query).mappings():
        found.setdefault(int(row["user_id"]), []).append(dict(row))
    return found


def users_by_ids(conn: Connection, actor: Actor, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Live users the actor can reach, by id, in one statement."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(users).where(
        users.c.id.in_(wanted), reachable_users(actor.principal, actor.site, REFERENCE)
    )
    return {int(r["id"]): dict(r) for r in conn.execute(query).mappings()}


def staff_counts(conn: Connection, ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(staff, temporary staff) per job assignment id, in one statement."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(ja.c.id, _SORT_KEYS["staffcount"], _SORT_KEYS["tempstaffcount"]).where(
        ja.c.id.in_(wanted)
    )
    return {int(r[0]): (int(r[1]), int(r[2])) for r in conn.execute(query)}


# --- validating changes -----------------------------------------------------------------------
def _can_manage(actor: Actor, holder_id: int, holder_tenant_id: int | None) -> bool:
    if actor.can("totara/hierarchy:assignuserposition", holder_tenant_id):
        return True
    return holder_id == actor.principal.user_id and actor.can(
        "totara/hierarchy:assignselfposition", holder_tenant_id
    )


def _date(actor: Actor, value: Any) -> int | None:
    try:
        return parse_date_input(value, actor.timezone)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _item_id(conn: Connection, kind: str, reference: Mapping[str, Any]) -> int:
    conditions = [
        getattr(hierarchy_items.c, key) == value
        for key, value in reference.items()
        if key in ("id", "idnumber") and value not in (None, "")
    ]
    query = select(hierarchy_items.c.id).where(hierarchy_items.c.kind == kind, *conditions)
    rows = conn.execute(query.limit(2)).all() if conditions else []
    if len(rows) != 1:
        raise ValidationError(f"The {kind} does not exist.")
    return int(rows[0][0])


@dataclass(frozen=True)
class _Holder:
    """The user whose job assignment is being written, and the assignment's current row."""

    id: int
    tenant_id: int | None
    current: Mapping[str, Any]


def _manager_id(
    conn: Connection, actor: Actor, holder: _Holder, reference: Mapping[str, Any], own: str
) -> int:
    if not actor.can("totara/core:delegateusersmanager", holder.tenant_id):
        raise PermissionDenied(NO_DELEGATION)
    rows = _reference_matches(conn, actor, reference)
    if len(rows) != 1:
        raise ValidationError("The manager job assignment does not exist.")
    if int(rows[0]["user_id"]) == holder.id:
        raise ValidationError(own)
    return int(rows[0]["id"])


def _clean_dates(actor: Actor, holder: _Holder, data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field, column in (("start_date", "startdate"), ("end_date", "enddate")):
        if field in data:
            values[column] = _date(actor, data[field])
    start = values.get("startdate", holder.current.get("startdate"))
    end = values.get("enddate", holder.current.get("enddate"))
    if start and end and start > end:
        raise ValidationError(DATES_REVERSED)
    return values


def _clean_relations(
    conn: Connection, actor: Actor, holder: _Holder, data: Mapping[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kind in ("position", "organisation"):
        if kind in data:
            ref = data[kind]
            values[f"{kind}_id"] = None if ref is None else _item_id(conn, kind, ref)
    if "manager" in data:
        ref = data["manager"]
        values["manager_ja_id"] = (
            None if ref is None else _manager_id(conn, actor, holder, ref, OWN_MANAGER)
        )
    if "appraiser" in data:
        values["appraiser_id"] = _appraiser_id(conn, actor, holder, data["appraiser"])
    return values


def _appraiser_id(
    conn: Connection, actor: Actor, holder: _Holder, reference: Mapping[str, Any] | None
) -> int | None:
    if reference is None:
        return None
    try:
        appraiser = find_user(conn, actor, reference)
    except NotFoundError:
        raise ValidationError("The appraiser does not exist.") from None
    if int(appraiser["id"]) == holder.id:
        raise ValidationError(OWN_APPRAISER)
    return int(appraiser["id"])


def _clean_temp_manager(
    conn: Connection, actor: Actor, holder: _Holder, data: Mapping[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "temp_manager_expiry_date" in data:
        expiry = _date(actor, data["temp_manager_expiry_date"])
        if expiry is not None and expiry < int(time.time()):
            raise ValidationError(EXPIRY_PAST)
        values["temp_manager_expiry"] = expiry
    if "temp_manager" not in data:
        return values
    if data["temp_manager"] is None:
        return {"temp_manager_ja_id": None, "temp_manager_expiry": None}
    values["temp_manager_ja_id"] = _manager_id(
        conn, actor, holder, data["temp_manager"], OWN_TEMP_MANAGER
    )
    if values.get("temp_manager_expiry", holder.current.get("temp_manager_expiry")) is None:
        raise ValidationError(EXPIRY_REQUIRED)
    return values


def _check_idnumber(conn: Connection, holder: _Holder, idnumber: str) -> None:
    if not idnumber.strip():
        raise ValidationError("A job assignment idnumber is required.")
    query = select(ja.c.id).where(ja.c.user_id == holder.id, ja.c.idnumber == idnumber)
    clash = conn.execute(query).first()
    if clash is not None and clash[0] != holder.current.get("id"):
        raise ValidationError(f"Duplicate job assignment idnumber: {idnumber}")


def _clean(
    conn: Connection, actor: Actor, holder: _Holder, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Column values for the given input fields: absent keys stay, null clears."""
    values: dict[str, Any] = {}
    if data.get("idnumber") is not None:
        _check_idnumber(conn, holder, data["idnumber"])
        values["idnumber"] = data["idnumber"]
    for field in ("fullname", "shortname"):
        if field in data:
            values[field] = data[field]
    values.update(_clean_dates(actor, holder, data))
    values.update(_clean_relations(conn, actor, holder, data))
    values.update(_clean_temp_manager(conn, actor, holder, data))
    return values


# --- writing ----------------------------------------------------------------------------------
def create_job_assignment(conn: Connection, actor: Actor, data: Mapping[str, Any]) -> int:
    try:
        user = find_user(conn, actor, data["user"])
    except NotFoundError:
        raise NotFoundError(CREATE_NO_USER) from None
    if not _can_manage(actor, int(user["id"]), user["tenant_id"]):
        raise PermissionDenied(CREATE_NO_USER)
    holder = _Holder(int(user["id"]), user["tenant_id"], {})
    values = _clean(conn, actor, holder, data)
    last = select(func.max(ja.c.sortorder)).where(ja.c.user_id == holder.id)
    now = int(time.time())
    row = {
        **values,
        "user_id": holder.id,
        "sortorder": int(conn.execute(last).scalar_one() or 0) + 1,
        "timecreated": now,
        "timemodified": now,
    }
    return int(conn.execute(insert(ja), row).inserted_primary_key[0])


def _target(
    conn: Connection, actor: Actor, reference: Mapping[str, Any], not_found: str
) -> _Holder:
    rows = _reference_matches(conn, actor, reference)
    if len(rows) > 1:
        raise NotFoundError(NOT_SINGLE)
    if not rows:
        raise NotFoundError(not_found)
    row = rows[0]
    tenant_id = row.pop("user_tenant_id")
    if not _can_manage(actor, int(row["user_id"]), tenant_id):
        raise PermissionDenied(not_found)
    return _Holder(int(row["user_id"]), tenant_id, row)


def update_job_assignment(
    conn: Connection, actor: Actor, reference: Mapping[str, Any], data: Mapping[str, Any]
) -> int:
    holder = _target(conn, actor, reference, UPDATE_NOT_FOUND)
    values = _clean(conn, actor, holder, data)
    job_id = int(holder.current["id"])
    values["timemodified"] = int(time.time())
    conn.execute(update(ja).where(ja.c.id == job_id).values(**values))
    return job_id


def _detach(conn: Connection, job_ids: list[int]) -> None:
    """Clear the manager links of assignments that pointed at the given ones."""
    if not job_ids:
        return
    now = int(time.time())
    conn.execute(
        update(ja)
        .where(ja.c.manager_ja_id.in_(job_ids))
        .values(manager_ja_id=None, timemodified=now)
    )
    conn.execute(
        update(ja)
        .where(ja.c.temp_manager_ja_id.in_(job_ids))
        .values(temp_manager_ja_id=None, temp_manager_expiry=None, timemodified=now)
    )


def delete_job_assignment(conn: Connection, actor: Actor, reference: Mapping[str, Any]) -> int:
    holder = _target(conn, actor, reference, NOT_SINGLE)
    job_id = int(holder.current["id"])
    _detach(conn, [job_id])
    conn.execute(delete(ja).where(ja.c.id == job_id))
    return job_id


def delete_for_user(conn: Connection, user_id: int) -> None:
    """Remove all of a user's job assignments (user deletion), and every link to them."""
    ids = [int(r[0]) for r in conn.execute(select(ja.c.id).where(ja.c.user_id == user_id))]
    _detach(conn, ids)
    conn.execute(
        update(ja)
        .where(ja.c.appraiser_id == user_id)
        .values(appraiser_id=None, timemodified=int(time.time()))
    )
    if ids:
        conn.execute(delete(ja).where(ja.c.id.in_(ids)))
