"""Job assignments: listing, finding, creating, updating and deleting them with Totara's rules.

Writers run inside the caller's transaction and validate everything before writing, so a
failed mutation changes nothing. Staff counts are never stored: they are counted on read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    update,
)

from extapi.dates import parse_date_input
from extapi.db.locks import lock_row
from extapi.db.tables import job_assignments, users
from extapi.db.unique import clashes_reported
from extapi.errors import CodingError, NotFoundError, PermissionDenied, ValidationError
from extapi.org.job_input import (
    IDNUMBER_TAKEN_ON_CREATE,
    IDNUMBER_TAKEN_ON_UPDATE,
    Holder,
    check_changed,
    check_new,
    clean_input,
)
from extapi.org.job_references import AMBIGUOUS, Unresolved, job_assignment_row, user_row
from extapi.pagination import ALL, Page, Wanted, page_request, read_page
from extapi.people.scope import REFERENCE, reachable_users
from extapi.people.user_changes import Actor

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
    "can_manage",
]

VIEW_DENIED = "Sorry, but you do not currently have permissions to do that (view job assignments)"
CREATE_NO_USER = "The user does not exist or you do not have permission to create a job assignment."
UPDATE_NOT_FOUND = "Job assignment does not exist or you do not have permission to manage it."
NOT_SINGLE = (
    "There was a problem finding a single job assignment record match or you do not have "
    "permission to manage it."
)
NO_SORT_COLUMN = "Required parameter 'sort.column' not being passed"
UNKNOWN_SORT = "Unknown sort column"

ja = job_assignments
_IDNUMBER_UNIQUE = "uq_job_assignments_user_idnumber"
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
    # The 0 is written into the SQL, not bound, so that the statement matches the expression
    # index ix_job_assignments_manager_order on every database (SQLite never matches a bound
    # parameter against an index expression).
    "managerjaid": func.coalesce(ja.c.manager_ja_id, literal_column("0")),
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


def _first_sort(query: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one sort element used (Totara reads only the first); its column must not be
    PHP-empty. Checked before the caller's rights, as Totara does."""
    first: Mapping[str, Any] = (query.get("sort") or [{}])[0]
    if first and first.get("column") in (None, "", "0"):
        raise CodingError(NO_SORT_COLUMN)
    return first


def _sort(first: Mapping[str, Any]) -> tuple[str, bool]:
    """The sort column, matched exactly, and its direction; ``id`` when none is given."""
    if not first:
        return "id", False
    column = first["column"]
    if column not in _SORT_KEYS:
        raise CodingError(UNKNOWN_SORT)
    return column, first.get("direction") == "DESC"


def _since(actor: Actor, filters: Mapping[str, Any] | None) -> list[ColumnElement[bool]]:
    value = (filters or {}).get("since_timemodified")
    try:
        since = parse_date_input(value, actor.timezone)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return [] if since is None else [ja.c.timemodified >= since]


def list_job_assignments(
    conn: Connection, actor: Actor, query: Mapping[str, Any] | None, wanted: Wanted = ALL
) -> Page:
    """One page of the job assignments of live users; only what ``wanted`` asks for is read
    (see :func:`extapi.pagination.read_page`).

    A tenant caller sees its own tenant's; a system caller sees every tenant's, even with
    tenant isolation on (Totara filters this list by the caller's tenant only), which is the
    reach of a reference rather than that of the user list.
    """
    query = query or {}
    first = _first_sort(query)
    _check_view_rights(actor)
    column, descending = _sort(first)
    request = page_request(query.get("pagination"), [column], descending)
    where = [
        reachable_users(actor.principal, actor.site, REFERENCE),
        *_since(actor, query.get("filters")),
    ]
    joined = ja.join(users, users.c.id == ja.c.user_id)
    total = (
        conn.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
        if wanted.total
        else 0
    )
    keys = [_SORT_KEYS[name].label(_KEY_PREFIX + name) for name in request.sort]
    page_query = select(ja, *keys).select_from(joined).where(*where)
    rows, next_cursor, cut = read_page(
        conn, page_query, _SORT_KEYS, request, wanted, key_prefix=_KEY_PREFIX
    )
    for row in rows:
        for name in request.sort:
            del row[_KEY_PREFIX + name]
    return Page(rows, int(total), next_cursor, cut)


def find_job_assignment(
    conn: Connection, actor: Actor, reference: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The single job assignment a reference picks, or None (none, several, or not visible)."""
    _check_view_rights(actor)
    try:
        row = _target_row(conn, actor, reference)
    except Unresolved:
        return None
    row.pop("user_tenant_id")
    return row


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


# --- writing ----------------------------------------------------------------------------------
def can_manage(actor: Actor, holder_id: int, holder_tenant_id: int | None) -> bool:
    """May the actor create, change and delete the holder's job assignments?"""
    if actor.can("totara/hierarchy:assignuserposition", holder_tenant_id):
        return True
    return holder_id == actor.principal.user_id and actor.can(
        "totara/hierarchy:assignselfposition", holder_tenant_id
    )


def create_job_assignment(conn: Connection, actor: Actor, data: Mapping[str, Any]) -> int:
    try:
        user = user_row(conn, actor, "User", data.get("user") or {})
    except Unresolved:
        raise NotFoundError(CREATE_NO_USER) from None
    if not can_manage(actor, int(user["id"]), user["tenant_id"]):
        raise PermissionDenied(CREATE_NO_USER)
    holder = Holder(int(user["id"]), user["tenant_id"], {})
    values = clean_input(conn, actor, holder, data)
    lock_row(conn, users, holder.id)  # see _idnumber_clashes
    check_new(conn, holder, values)
    last = select(func.max(ja.c.sortorder)).where(ja.c.user_id == holder.id)
    now = int(time.time())
    row = {
        **values,
        "user_id": holder.id,
        "sortorder": int(conn.execute(last).scalar_one() or 0) + 1,
        "timecreated": now,
        "timemodified": now,
        "positionassignmentdate": now,
    }
    with _idnumber_clashes(IDNUMBER_TAKEN_ON_CREATE):
        return int(conn.execute(insert(ja), row).inserted_primary_key[0])


def _idnumber_clashes(message: str) -> AbstractContextManager[None]:
    """Around a write of a job assignment: the unique constraint's refusal of a taken
    idnumber reads as Totara's ``message``.

    Writers of one holder's assignments take the holder's row lock before they look for
    clashes, so they queue and each sees the others' idnumbers; the look-up, which compares
    as PHP does ("5" equals "05"), thus holds under concurrency. The constraint, which
    compares exactly, is the last line behind it."""

    def explain(index: str) -> ValidationError | None:
        return ValidationError(message) if index == _IDNUMBER_UNIQUE else None

    return clashes_reported(explain)


def _target_row(conn: Connection, actor: Actor, reference: Mapping[str, Any]) -> dict[str, Any]:
    """The job assignment a target reference picks: by id, idnumber and holder (``user``)."""
    columns = dict(reference)
    if isinstance(reference.get("user"), Mapping):
        columns["userid"] = user_row(conn, actor, "User", reference["user"])["id"]
    return job_assignment_row(conn, actor, "Job assignment", columns)


def _target(conn: Connection, actor: Actor, reference: Mapping[str, Any], not_found: str) -> Holder:
    try:
        row = _target_row(conn, actor, reference)
    except Unresolved as exc:
        ambiguous = exc.message == f"Job assignment {AMBIGUOUS}"
        raise NotFoundError(NOT_SINGLE if ambiguous else not_found) from None
    tenant_id = row.pop("user_tenant_id")
    if not can_manage(actor, int(row["user_id"]), tenant_id):
        raise PermissionDenied(not_found)
    return Holder(int(row["user_id"]), tenant_id, row)


def update_job_assignment(
    conn: Connection, actor: Actor, reference: Mapping[str, Any], data: Mapping[str, Any]
) -> int:
    holder = _target(conn, actor, reference, UPDATE_NOT_FOUND)
    values = clean_input(conn, actor, holder, data)
    if "idnumber" in values:
        lock_row(conn, users, holder.id)
    check_changed(conn, holder, values)
    job_id = int(holder.current["id"])
    values["timemodified"] = now = int(time.time())
    if "position_id" in values and values["position_id"] != holder.current["position_id"]:
        values["positionassignmentdate"] = now  # Totara dates every change of position
    with _idnumber_clashes(IDNUMBER_TAKEN_ON_UPDATE):
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
