"""The documents behind the typed helpers, and cursor paging, without I/O.

A helper is described by a :class:`Call` (document, variables, how to pick its result out of
``data``) or a :class:`Listing` (a paged query); both clients run them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from extapi.client.errors import UnknownFieldError
from extapi.client.models import (
    JOB_ASSIGNMENT_FIELDS,
    ORGANISATION_FIELDS,
    POSITION_FIELDS,
    USER_FIELDS,
    JobAssignment,
    Organisation,
    Position,
    User,
)

__all__ = [
    "Call",
    "Listing",
    "Pager",
    "selection",
    "largest_page",
    "users_listing",
    "job_assignments_listing",
    "organisations_listing",
    "positions_listing",
    "create_user",
    "update_user",
    "delete_user",
    "job_assignment",
    "create_job_assignment",
    "update_job_assignment",
    "delete_job_assignment",
    "status",
]

T = TypeVar("T")
# Totara's defaults: a query field costs 5 points, each selected field 1 point per record,
# and a request may cost at most 6000.
MAX_QUERY_COMPLEXITY = 6000
QUERY_FIELD_COST = 5
DEFAULT_USER_FIELDS = ("id", "username", "idnumber", "firstname", "lastname", "email")
DEFAULT_JOB_FIELDS = ("id", "idnumber", "userid", "fullname", "positionid", "organisationid")
DEFAULT_HIERARCHY_FIELDS = ("id", "idnumber", "fullname", "shortname", "frameworkid", "parentid")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def selection(fields: Iterable[str], known: frozenset[str], type_name: str) -> str:
    """The selection set for ``fields``. Each entry is a field name, optionally with
    arguments or a sub-selection (``"custom_fields { shortname data }"``); its name must be a
    field of ``type_name``, so a typo fails here instead of costing a request."""
    chosen = list(fields)
    if not chosen:
        raise UnknownFieldError(f"Choose at least one field of {type_name}.")
    for entry in chosen:
        match = _NAME.match(entry.strip())
        name = match.group(0) if match else entry
        if name not in known:
            raise UnknownFieldError(
                f"{type_name} has no field {name!r}; known fields: {', '.join(sorted(known))}"
            )
    return " ".join(chosen)


def largest_page(fields: Sequence[str], max_complexity: int = MAX_QUERY_COMPLEXITY) -> int:
    """The largest page whose cost stays within the complexity budget when each field costs
    one point per record (fields with sub-selections cost more: pass a smaller page)."""
    return max(1, (max_complexity - QUERY_FIELD_COST) // max(1, len(fields)))


@dataclass(frozen=True)
class Call(Generic[T]):
    query: str
    variables: dict[str, Any]
    pick: Callable[[dict[str, Any]], T]


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A paged query: ``field_name(query: $query) { items {...} total next_cursor }``."""

    query: str
    field_name: str
    base: dict[str, Any]
    page_size: int

    def pager(self) -> Pager[T]:
        return Pager(self)


@dataclass
class Pager(Generic[T]):
    """Follows ``next_cursor`` until it comes back empty."""

    listing: Listing[T]
    cursor: str | None = None
    done: bool = False
    total: int | None = None
    pages: int = 0
    _seen: set[str] = field(default_factory=set)

    def variables(self) -> dict[str, Any]:
        pagination: dict[str, Any] = {"limit": self.listing.page_size}
        if self.cursor:
            pagination["cursor"] = self.cursor
        return {"query": {**self.listing.base, "pagination": pagination}}

    def absorb(self, data: Mapping[str, Any] | None) -> list[T]:
        page = (data or {}).get(self.listing.field_name) or {}
        self.pages += 1
        self.total = page.get("total", self.total)
        cursor = page.get("next_cursor") or ""
        if cursor in self._seen:
            raise RuntimeError(f"The server returned the cursor {cursor!r} twice")
        self._seen.add(cursor)
        self.cursor = cursor
        self.done = not cursor
        return cast(list[T], [item for item in page.get("items") or [] if item is not None])


def _query_argument(
    filters: Mapping[str, Any] | None, sort: Sequence[Mapping[str, Any]] | None
) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if filters:
        base["filters"] = dict(filters)
    if sort:
        base["sort"] = [dict(s) for s in sort]
    return base


def _listing(
    field_name: str,
    query_type: str,
    fields: Sequence[str],
    known: frozenset[str],
    type_name: str,
    page_size: int | None,
    base: dict[str, Any],
) -> Listing[Any]:
    chosen = selection(fields, known, type_name)
    size = page_size if page_size is not None else largest_page(fields)
    if size < 1:
        raise ValueError("page_size must be at least 1")
    query = (
        f"query extapi_client_{field_name}($query: {query_type}) "
        f"{{ {field_name}(query: $query) {{ items {{ {chosen} }} total next_cursor }} }}"
    )
    return Listing(query, field_name, base, size)


def users_listing(
    fields: Sequence[str] = DEFAULT_USER_FIELDS,
    page_size: int | None = None,
    filters: Mapping[str, Any] | None = None,
    sort: Sequence[Mapping[str, Any]] | None = None,
) -> Listing[User]:
    base = _query_argument(filters, sort)
    return _listing(
        "core_user_users",
        "core_user_users_query",
        fields,
        USER_FIELDS,
        "core_user",
        page_size,
        base,
    )


def job_assignments_listing(
    fields: Sequence[str] = DEFAULT_JOB_FIELDS,
    page_size: int | None = None,
    filters: Mapping[str, Any] | None = None,
    sort: Sequence[Mapping[str, Any]] | None = None,
) -> Listing[JobAssignment]:
    base = _query_argument(filters, sort)
    return _listing(
        "totara_job_job_assignments",
        "totara_job_job_assignments_query",
        fields,
        JOB_ASSIGNMENT_FIELDS,
        "totara_job_job_assignment",
        page_size,
        base,
    )


def _hierarchy_base(
    filters: Mapping[str, Any] | None, order_by: str | None, order_dir: str | None
) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if filters:
        base["filters"] = dict(filters)
    if order_by:
        base["order_by"] = order_by
    if order_dir:
        base["order_dir"] = order_dir
    return base


def organisations_listing(
    fields: Sequence[str] = DEFAULT_HIERARCHY_FIELDS,
    page_size: int | None = None,
    filters: Mapping[str, Any] | None = None,
    order_by: str | None = None,
    order_dir: str | None = None,
) -> Listing[Organisation]:
    return _listing(
        "hierarchy_organisation_organisations",
        "hierarchy_organisation_organisations_query",
        fields,
        ORGANISATION_FIELDS,
        "totara_hierarchy_organisation",
        page_size,
        _hierarchy_base(filters, order_by, order_dir),
    )


def positions_listing(
    fields: Sequence[str] = DEFAULT_HIERARCHY_FIELDS,
    page_size: int | None = None,
    filters: Mapping[str, Any] | None = None,
    order_by: str | None = None,
    order_dir: str | None = None,
) -> Listing[Position]:
    return _listing(
        "hierarchy_position_positions",
        "hierarchy_position_positions_query",
        fields,
        POSITION_FIELDS,
        "totara_hierarchy_position",
        page_size,
        _hierarchy_base(filters, order_by, order_dir),
    )


def _pick(*path: str) -> Callable[[dict[str, Any]], Any]:
    def pick(data: dict[str, Any]) -> Any:
        value: Any = data
        for key in path:
            value = None if value is None else value.get(key)
        return value

    return pick


def create_user(input: Mapping[str, Any], fields: Sequence[str]) -> Call[User]:
    chosen = selection(fields, USER_FIELDS, "core_user")
    query = (
        "mutation extapi_client_create_user($input: core_user_create_user_input!) "
        f"{{ core_user_create_user(input: $input) {{ user {{ {chosen} }} }} }}"
    )
    return Call(query, {"input": dict(input)}, _pick("core_user_create_user", "user"))


def update_user(
    target: Mapping[str, Any], input: Mapping[str, Any], fields: Sequence[str]
) -> Call[User]:
    chosen = selection(fields, USER_FIELDS, "core_user")
    query = (
        "mutation extapi_client_update_user($target: core_user_user_reference!, "
        "$input: core_user_update_user_input!) { core_user_update_user(target_user: $target, "
        f"input: $input) {{ user {{ {chosen} }} }} }}"
    )
    variables = {"target": dict(target), "input": dict(input)}
    return Call(query, variables, _pick("core_user_update_user", "user"))


def delete_user(target: Mapping[str, Any]) -> Call[str]:
    query = (
        "mutation extapi_client_delete_user($target: core_user_user_reference!) "
        "{ core_user_delete_user(target_user: $target) { user_id } }"
    )
    return Call(query, {"target": dict(target)}, _pick("core_user_delete_user", "user_id"))


def job_assignment(target: Mapping[str, Any], fields: Sequence[str]) -> Call[JobAssignment | None]:
    chosen = selection(fields, JOB_ASSIGNMENT_FIELDS, "totara_job_job_assignment")
    query = (
        "query extapi_client_job_assignment($target: totara_job_job_assignment_reference!) "
        "{ totara_job_job_assignment(target_job: $target) { found "
        f"job_assignment {{ {chosen} }} }} }}"
    )
    pick = _pick("totara_job_job_assignment", "job_assignment")
    return Call(query, {"target": dict(target)}, pick)


def create_job_assignment(input: Mapping[str, Any], fields: Sequence[str]) -> Call[JobAssignment]:
    chosen = selection(fields, JOB_ASSIGNMENT_FIELDS, "totara_job_job_assignment")
    query = (
        "mutation extapi_client_create_job_assignment("
        "$input: totara_job_create_job_assignment_input!) "
        "{ totara_job_create_job_assignment(input: $input) "
        f"{{ job_assignment {{ {chosen} }} }} }}"
    )
    pick = _pick("totara_job_create_job_assignment", "job_assignment")
    return Call(query, {"input": dict(input)}, pick)


def update_job_assignment(
    target: Mapping[str, Any], input: Mapping[str, Any], fields: Sequence[str]
) -> Call[JobAssignment]:
    chosen = selection(fields, JOB_ASSIGNMENT_FIELDS, "totara_job_job_assignment")
    query = (
        "mutation extapi_client_update_job_assignment("
        "$target: totara_job_job_assignment_reference!, "
        "$input: totara_job_update_job_assignment_input!) "
        "{ totara_job_update_job_assignment(target_job: $target, input: $input) "
        f"{{ job_assignment {{ {chosen} }} }} }}"
    )
    pick = _pick("totara_job_update_job_assignment", "job_assignment")
    return Call(query, {"target": dict(target), "input": dict(input)}, pick)


def delete_job_assignment(target: Mapping[str, Any]) -> Call[str]:
    query = (
        "mutation extapi_client_delete_job_assignment("
        "$target: totara_job_job_assignment_reference!) "
        "{ totara_job_delete_job_assignment(target_job: $target) { job_assignment_id } }"
    )
    pick = _pick("totara_job_delete_job_assignment", "job_assignment_id")
    return Call(query, {"target": dict(target)}, pick)


def status() -> Call[dict[str, Any]]:
    query = "query extapi_client_status { totara_webapi_status { status timestamp } }"
    return Call(query, {}, _pick("totara_webapi_status"))
