"""Resolvers of the job assignment area: thin calls into :mod:`extapi.org.jobs`.

Related rows (holders, appraisers, positions, organisations, managers' assignments and staff
counts) load through per-request batch loaders: whoever produces job assignment rows announces
their related ids, so a page costs one statement per kind of related row, not one per item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from extapi.dates import format_date
from extapi.graphql.formats import format_string_field, format_text
from extapi.graphql.loaders import BatchLoader
from extapi.graphql.paging import read_list
from extapi.org import hierarchy, jobs

__all__ = ["RESOLVERS", "announce", "jobs_of_users_loader"]

Job = Mapping[str, Any]


def _loader(info: GraphQLResolveInfo, name: str, make: Callable[[Any], BatchLoader[Any]]) -> Any:
    ctx = info.context
    loader = ctx.loaders.get(name)
    if loader is None:
        loader = ctx.loaders[name] = make(ctx)
    return loader


def _users(info: GraphQLResolveInfo) -> BatchLoader[dict[str, Any] | None]:
    return _loader(
        info,
        "jobs_users",
        lambda ctx: BatchLoader(lambda i: jobs.users_by_ids(ctx.conn, ctx.actor, i), None),
    )


def _items(info: GraphQLResolveInfo) -> BatchLoader[dict[str, Any] | None]:
    return _loader(
        info,
        "jobs_items",
        lambda ctx: BatchLoader(lambda i: hierarchy.items_by_ids(ctx.conn, i), None),
    )


def _counts(info: GraphQLResolveInfo) -> BatchLoader[tuple[int, int]]:
    return _loader(
        info,
        "jobs_counts",
        lambda ctx: BatchLoader(lambda i: jobs.staff_counts(ctx.conn, i), (0, 0)),
    )


def _managers(info: GraphQLResolveInfo) -> BatchLoader[dict[str, Any] | None]:
    def make(ctx: Any) -> BatchLoader[dict[str, Any] | None]:
        def fetch(ids: list[int]) -> dict[int, Any]:
            found = jobs.jobs_by_ids(ctx.conn, ctx.actor, ids)
            announce(info, found.values())  # so the managers' own links batch too
            return found

        return BatchLoader(fetch, None)

    return _loader(info, "jobs_managers", make)


def jobs_of_users_loader(info: GraphQLResolveInfo) -> BatchLoader[list[dict[str, Any]]]:
    """Job assignments per user id; list resolvers of users announce their page's ids here."""

    def make(ctx: Any) -> BatchLoader[list[dict[str, Any]]]:
        def fetch(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
            found = jobs.jobs_of_users(ctx.conn, ids)
            announce(info, (job for rows in found.values() for job in rows))
            return found

        return BatchLoader(fetch, [])

    return _loader(info, "jobs_of_users", make)


def announce(info: GraphQLResolveInfo, rows: Iterable[Job]) -> None:
    """Register the related ids of job assignment rows about to be resolved."""
    listed = list(rows)
    _users(info).expect(
        int(r[key]) for r in listed for key in ("user_id", "appraiser_id") if r[key] is not None
    )
    _items(info).expect(
        int(r[key])
        for r in listed
        for key in ("position_id", "organisation_id")
        if r[key] is not None
    )
    _managers(info).expect(
        int(r[key])
        for r in listed
        for key in ("manager_ja_id", "temp_manager_ja_id")
        if r[key] is not None
    )
    _counts(info).expect(int(r["id"]) for r in listed)


def _forget(info: GraphQLResolveInfo, job_id: int) -> None:
    """Drop cached rows a mutation may have changed."""
    _counts(info).forget(job_id)
    _managers(info).forget(job_id)


# --- queries and mutations --------------------------------------------------------------------
def resolve_list(_root: Any, info: GraphQLResolveInfo, query: Any = None) -> dict[str, Any]:
    ctx = info.context
    page = read_list(
        info, lambda wanted: jobs.list_job_assignments(ctx.conn, ctx.actor, query, wanted)
    )
    announce(info, page.items)
    return {"items": page.items, "total": page.total, "next_cursor": page.next_cursor}


def resolve_one(_root: Any, info: GraphQLResolveInfo, target_job: Any) -> dict[str, Any]:
    ctx = info.context
    found = jobs.find_job_assignment(ctx.conn, ctx.actor, target_job)
    return {"found": found is not None, "job_assignment": found}


def _written(info: GraphQLResolveInfo, conn: Any, job_id: int) -> dict[str, Any]:
    """The job assignment as just written, read inside the mutation's own transaction."""
    _forget(info, job_id)
    row = jobs.get_job_assignment(conn, job_id)
    for related in (row["manager_ja_id"], row["temp_manager_ja_id"]):
        if related is not None:
            _forget(info, int(related))
    return {"job_assignment": row}


def resolve_create(_root: Any, info: GraphQLResolveInfo, input: Any) -> dict[str, Any]:
    ctx = info.context
    with ctx.transaction() as conn:
        return _written(info, conn, jobs.create_job_assignment(conn, ctx.actor, input))


def resolve_update(
    _root: Any, info: GraphQLResolveInfo, input: Any, target_job: Any
) -> dict[str, Any]:
    ctx = info.context
    with ctx.transaction() as conn:
        job_id = jobs.update_job_assignment(conn, ctx.actor, target_job, input)
        return _written(info, conn, job_id)


def resolve_delete(_root: Any, info: GraphQLResolveInfo, target_job: Any) -> dict[str, Any]:
    ctx = info.context
    with ctx.transaction() as conn:
        job_id = jobs.delete_job_assignment(conn, ctx.actor, target_job)
    return {"job_assignment_id": job_id}


# --- totara_job_job_assignment fields ---------------------------------------------------------
def _column(name: str) -> Callable[..., Any]:
    def resolve(job: Job, _info: GraphQLResolveInfo) -> Any:
        return job[name]

    return resolve


def _editable(info: GraphQLResolveInfo, job: Job) -> bool:
    """Text in RAW format is shown only to callers who may edit the holder's job assignments."""
    holder = _users(info).load(int(job["user_id"]))
    return holder is not None and jobs.can_manage(
        info.context.actor, int(holder["id"]), holder["tenant_id"]
    )


def _raw_allowed(info: GraphQLResolveInfo, job: Job, fmt: str) -> bool:
    return fmt != "RAW" or _editable(info, job)


def resolve_description(job: Job, info: GraphQLResolveInfo, format: str = "HTML") -> str | None:
    """Totara loads a missing description as an empty text, so it reads as "", never null."""
    if not _raw_allowed(info, job, format):
        return None
    return format_text(job["description"] or "", format)


# PHP's trim() characters: a name of only these counts as no name.
_PHP_BLANK = " \t\n\r\0\x0b"
DEFAULT_FULLNAME = "Unnamed job assignment (ID: {})"


def resolve_fullname(job: Job, info: GraphQLResolveInfo, format: str = "PLAIN") -> str | None:
    """The stored name, or Totara's stand-in naming the idnumber when none is stored."""
    name = job["fullname"]
    if name is None or not name.strip(_PHP_BLANK):
        name = DEFAULT_FULLNAME.format(job["idnumber"])
    return format_string_field(name, format) if _raw_allowed(info, job, format) else None


def resolve_shortname(job: Job, info: GraphQLResolveInfo, format: str = "PLAIN") -> str | None:
    """An empty short name reads as none, as Totara reloads it; the format is checked first."""
    name = job["shortname"] or None
    return format_string_field(name, format) if _raw_allowed(info, job, format) else None


def _date(name: str) -> Callable[..., str | None]:
    def resolve(job: Job, info: GraphQLResolveInfo, format: str = "TIMESTAMP") -> str | None:
        return format_date(job[name], format, info.context.timezone)

    return resolve


def _related(
    name: str, loader: Callable[[GraphQLResolveInfo], BatchLoader[Any]]
) -> Callable[..., Any]:
    def resolve(job: Job, info: GraphQLResolveInfo) -> Any:
        return None if job[name] is None else loader(info).load(int(job[name]))

    return resolve


def _viewable(capability: str, column: str, load: bool) -> Callable[..., Any]:
    """A position or organisation link (its id, or the item when ``load``), shown only when
    the caller may view that kind of item in the holder's context."""

    def resolve(job: Job, info: GraphQLResolveInfo) -> Any:
        if job[column] is None:
            return None
        holder = _users(info).load(int(job["user_id"]))
        tenant_id = None if holder is None else holder["tenant_id"]
        if not info.context.actor.can(capability, tenant_id):
            return None
        return _items(info).load(int(job[column])) if load else job[column]

    return resolve


_VIEW_POSITION = "totara/hierarchy:viewposition"
_VIEW_ORGANISATION = "totara/hierarchy:vieworganisation"


def resolve_staffcount(job: Job, info: GraphQLResolveInfo) -> int:
    return int(_counts(info).load(int(job["id"]))[0])


def resolve_tempstaffcount(job: Job, info: GraphQLResolveInfo) -> int:
    return int(_counts(info).load(int(job["id"]))[1])


_T = "totara_job_job_assignment"
RESOLVERS: dict[str, Callable[..., Any]] = {
    "Query.totara_job_job_assignments": resolve_list,
    "Query.totara_job_job_assignment": resolve_one,
    "Mutation.totara_job_create_job_assignment": resolve_create,
    "Mutation.totara_job_update_job_assignment": resolve_update,
    "Mutation.totara_job_delete_job_assignment": resolve_delete,
    f"{_T}.userid": _column("user_id"),
    f"{_T}.positionid": _viewable(_VIEW_POSITION, "position_id", load=False),
    f"{_T}.organisationid": _viewable(_VIEW_ORGANISATION, "organisation_id", load=False),
    f"{_T}.managerjaid": _column("manager_ja_id"),
    f"{_T}.tempmanagerjaid": _column("temp_manager_ja_id"),
    f"{_T}.appraiserid": _column("appraiser_id"),
    f"{_T}.fullname": resolve_fullname,
    f"{_T}.shortname": resolve_shortname,
    f"{_T}.description": resolve_description,
    f"{_T}.startdate": _date("startdate"),
    f"{_T}.enddate": _date("enddate"),
    f"{_T}.tempmanagerexpirydate": _date("temp_manager_expiry"),
    f"{_T}.timemodified": _date("timemodified"),
    f"{_T}.user": _related("user_id", _users),
    f"{_T}.appraiser": _related("appraiser_id", _users),
    f"{_T}.position": _viewable(_VIEW_POSITION, "position_id", load=True),
    f"{_T}.organisation": _viewable(_VIEW_ORGANISATION, "organisation_id", load=True),
    f"{_T}.managerja": _related("manager_ja_id", _managers),
    f"{_T}.tempmanagerja": _related("temp_manager_ja_id", _managers),
    f"{_T}.staffcount": resolve_staffcount,
    f"{_T}.tempstaffcount": resolve_tempstaffcount,
}
