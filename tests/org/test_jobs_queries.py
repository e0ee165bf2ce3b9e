"""totara_job_job_assignments, totara_job_job_assignment and core_user.job_assignments:
rights, tenant isolation, sorting, cursor pagination and the statement cost of a page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, insert

from extapi.access import roles
from extapi.db.tables import hierarchy_frameworks, hierarchy_items, job_assignments
from extapi.people.users import soft_delete
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_tenant, make_user

LIST = """
query ($query: totara_job_job_assignments_query) {
  totara_job_job_assignments(query: $query) { total next_cursor items { id idnumber userid } }
}
"""
ONE = """
query ($target: totara_job_job_assignment_reference!) {
  totara_job_job_assignment(target_job: $target) { found job_assignment { id } }
}
"""
UPDATE = """
mutation ($target: totara_job_job_assignment_reference!,
          $input: totara_job_update_job_assignment_input!) {
  totara_job_update_job_assignment(target_job: $target, input: $input) {
    job_assignment { id managerjaid }
  }
}
"""
PAGE = """
{ totara_job_job_assignments(query: {pagination: {limit: 100}}) {
    total items { id user { id } position { id } organisation { id } managerja { id }
                  staffcount } } }
"""
UPDATE_NOT_FOUND = "Job assignment does not exist or you do not have permission to manage it."
Call = Callable[..., dict[str, Any]]
_now = int(time.time())


def _caller(runtime: Runtime, http: Any, tenant_id: int | None = None) -> Call:
    token = fetch_token(http, make_api_client(runtime, tenant_id=tenant_id))

    def run(document: str, **variables: Any) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document, "variables": variables}).json())

    return run


@pytest.fixture
def call(runtime, http) -> Call:
    return _caller(runtime, http)


def add_job(runtime: Runtime, user_id: int, idnumber: str, **values: Any) -> int:
    row = {"user_id": user_id, "idnumber": idnumber, "timecreated": _now, "timemodified": _now}
    with runtime.engine.begin() as conn:
        return int(conn.execute(insert(job_assignments), {**row, **values}).inserted_primary_key[0])


def listed(call: Call, **query: Any) -> dict[str, Any]:
    body = call(LIST, query=query)
    assert "errors" not in body, body
    return dict(body["data"]["totara_job_job_assignments"])


def _reason(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["debugMessage"])


# --- rights and filters -----------------------------------------------------------------------
def test_listing_needs_a_view_capability(runtime, call):
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "moodle/user:viewdetails", -1)
        roles.set_permission(conn, "apiuser", "moodle/user:viewalldetails", -1)
    assert _reason(call(LIST)) == (
        "Sorry, but you do not currently have permissions to do that (view job assignments)"
    )


def test_listing_skips_deleted_users_and_filters_by_change_time(runtime, call):
    # given three jobs, one of a deleted user and one changed long ago
    live, gone = make_user(runtime), make_user(runtime)
    recent = add_job(runtime, live, "R")
    add_job(runtime, live, "OLD", timemodified=1000)
    add_job(runtime, gone, "G")
    with runtime.engine.begin() as conn:
        soft_delete(conn, gone)
    # then the deleted user's job never appears, and the filter keeps the recent one
    assert listed(call)["total"] == 2
    page = listed(call, filters={"since_timemodified": 2000})
    assert [item["id"] for item in page["items"]] == [str(recent)]
    assert (
        call(ONE, target={"idnumber": "G"})["data"]["totara_job_job_assignment"]["found"] is False
    )


def test_unknown_sort_column_is_refused(call):
    assert _reason(call(LIST, query={"sort": [{"column": "enddate"}]})) == (
        "Coding error detected, it must be fixed by a programmer: Unknown sort column"
    )


def test_lookup_reports_found_and_ambiguity(runtime, call):
    first, second = make_user(runtime), make_user(runtime)
    job = add_job(runtime, first, "SAME")
    add_job(runtime, second, "SAME")
    answer = call(ONE, target={"idnumber": "SAME", "user": {"id": first}})
    assert answer["data"]["totara_job_job_assignment"] == {
        "found": True,
        "job_assignment": {"id": str(job)},
    }
    ambiguous = call(ONE, target={"idnumber": "SAME"})["data"]["totara_job_job_assignment"]
    assert ambiguous == {"found": False, "job_assignment": None}


# --- tenants ----------------------------------------------------------------------------------
def test_tenant_client_sees_and_reaches_only_its_tenant(runtime, http):
    # given a job in a tenant, a job in another tenant and a job outside tenants
    mine, theirs = make_tenant(runtime), make_tenant(runtime)
    member, colleague = make_user(runtime, tenant_id=mine), make_user(runtime, tenant_id=mine)
    outsider, stranger = make_user(runtime, tenant_id=theirs), make_user(runtime)
    own_job = add_job(runtime, member, "M")
    boss_job = add_job(runtime, colleague, "C")
    foreign = add_job(runtime, outsider, "O")
    add_job(runtime, stranger, "S")
    call = _caller(runtime, http, tenant_id=mine)
    # then the list holds only the tenant's jobs, items and total alike
    page = listed(call)
    assert sorted(int(i["id"]) for i in page["items"]) == [own_job, boss_job]
    assert page["total"] == 2
    # and no reference reaches another tenant's job
    assert call(ONE, target={"id": foreign})["data"]["totara_job_job_assignment"]["found"] is False
    assert _reason(call(UPDATE, target={"id": foreign}, input={})) == UPDATE_NOT_FOUND
    body = call(UPDATE, target={"id": own_job}, input={"manager": {"id": foreign}})
    assert _reason(body) == "Manager user reference not found"
    # but a manager inside the tenant can be referenced
    body = call(UPDATE, target={"id": own_job}, input={"manager": {"id": boss_job}})
    updated = body["data"]["totara_job_update_job_assignment"]["job_assignment"]
    assert updated["managerjaid"] == str(boss_job)


def test_isolated_system_client_still_lists_the_jobs_of_every_tenant(runtime, call):
    tenant = make_tenant(runtime)
    inside = add_job(runtime, make_user(runtime, tenant_id=tenant), "T")
    outside = add_job(runtime, make_user(runtime), "O")
    with runtime.engine.begin() as conn:
        set_setting(conn, "tenantsisolated", "1")
    assert [int(i["id"]) for i in listed(call)["items"]] == [inside, outside]


# --- sorting and pagination -------------------------------------------------------------------
def _sample(runtime: Runtime) -> list[dict[str, Any]]:
    """23 jobs over 5 users with gaps in the nullable columns; job 1 manages every third."""
    people = [make_user(runtime) for _ in range(5)]
    rows: list[dict[str, Any]] = []
    boss = add_job(runtime, people[0], "BOSS", shortname="m")
    rows.append({"id": boss, "shortname": "m", "startdate": None, "enddate": None, "manager": None})
    for n in range(22):
        values = {
            "shortname": None if n % 4 == 0 else f"s{n % 5}",
            "startdate": None if n % 3 == 0 else 1000 * (n % 6),
            "enddate": None if n % 2 == 0 else 5000 + n % 4,
            "manager_ja_id": boss if n % 3 == 0 else None,
        }
        job = add_job(runtime, people[n % 5], f"J{n}", **values)
        rows.append({"id": job, **values, "manager": values["manager_ja_id"]})
    return rows


def _walk(call: Call, sort: list[dict[str, str]], limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(50):
        pagination = {"limit": limit} if cursor is None else {"cursor": cursor}
        page = listed(call, sort=sort, pagination=pagination)
        seen += [int(i["id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    ("column", "direction", "key"),
    [
        ("id", "ASC", lambda r: 0),
        ("shortname", "ASC", lambda r: r["shortname"] or ""),
        ("startdate", "DESC", lambda r: r["startdate"] or 0),
        ("endate", "ASC", lambda r: r["enddate"] or 0),
        ("managerjaid", "DESC", lambda r: r["manager"] or 0),
    ],
)
def test_walking_every_page_returns_each_job_once_in_order(runtime, call, column, direction, key):
    rows = _sample(runtime)
    expected = [
        r["id"] for r in sorted(rows, key=lambda r: (key(r), r["id"]), reverse=direction == "DESC")
    ]
    assert _walk(call, [{"column": column, "direction": direction}], limit=4) == expected


def test_sorting_by_staff_count_puts_the_manager_last(runtime, call):
    rows = _sample(runtime)
    order = _walk(call, [{"column": "staffcount"}, {"column": "ignored"}], limit=5)
    assert sorted(order) == sorted(r["id"] for r in rows)
    assert order[-1] == rows[0]["id"]


def test_default_page_is_twenty(runtime, call):
    _sample(runtime)
    page = listed(call)
    assert (len(page["items"]), page["total"]) == (20, 23) and page["next_cursor"]


def test_user_job_assignments_follow_sort_order(runtime, call):
    holder = make_user(runtime, "holder")
    add_job(runtime, holder, "SECOND", sortorder=2)
    add_job(runtime, holder, "FIRST", sortorder=1)
    body = call(
        "{ core_user_users(query: {pagination: {limit: 50}}) "
        "{ items { username job_assignments { idnumber } } } }"
    )
    by_name = {u["username"]: u for u in body["data"]["core_user_users"]["items"]}
    assert by_name["holder"]["job_assignments"] == [{"idnumber": "FIRST"}, {"idnumber": "SECOND"}]


# --- statement cost ---------------------------------------------------------------------------
@contextmanager
def counting(runtime: Runtime) -> Iterator[list[str]]:
    statements: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(" ".join(sql.split()))

    event.listen(runtime.engine, "before_cursor_execute", on_execute)
    try:
        yield statements
    finally:
        event.remove(runtime.engine, "before_cursor_execute", on_execute)


def _tables(statements: list[str]) -> list[str]:
    found = [re.search(r"\bFROM (\w+)", sql) for sql in statements]
    return [m.group(1) if m else "?" for m in found]


def _add_linked_jobs(runtime: Runtime, first: int, count: int) -> None:
    """``count`` jobs over ten users, each with a position, organisation and manager."""
    people = [make_user(runtime) for _ in range(10)]
    with runtime.engine.begin() as conn:
        fw = conn.execute(
            insert(hierarchy_frameworks),
            {
                "kind": "position",
                "idnumber": f"fw{first}",
                "fullname": "F",
                "timecreated": _now,
                "timemodified": _now,
            },
        ).inserted_primary_key[0]
        items = [
            conn.execute(
                insert(hierarchy_items),
                {
                    "kind": kind,
                    "framework_id": fw,
                    "fullname": kind,
                    "idnumber": f"{kind}{first}",
                    "timecreated": _now,
                    "timemodified": _now,
                },
            ).inserted_primary_key[0]
            for kind in ("position", "organisation")
        ]
        boss = None
        for n in range(first, first + count):
            row = {
                "user_id": people[n % 10],
                "idnumber": f"J{n}",
                "position_id": items[0],
                "organisation_id": items[1],
                "manager_ja_id": boss,
                "timecreated": _now,
                "timemodified": _now,
            }
            job = conn.execute(insert(job_assignments), row).inserted_primary_key[0]
            boss = boss or job


# grants, count, page, holders, positions and organisations, managers' jobs, staff counts
PAGE_TABLES = [
    "role_assignments",
    "job_assignments",
    "job_assignments",
    "users",
    "hierarchy_items",
    "job_assignments",
    "job_assignments",
]


def _measure(runtime: Runtime, call: Call) -> tuple[list[dict[str, Any]], list[str]]:
    call(PAGE)  # the first request after data changed also reloads the site settings
    with counting(runtime) as statements:
        body = call(PAGE)
    assert "errors" not in body, body
    return body["data"]["totara_job_job_assignments"]["items"], statements


def test_a_page_of_100_jobs_costs_seven_statements_like_a_page_of_10(runtime, call):
    # given 10 linked jobs
    _add_linked_jobs(runtime, 0, 10)
    small, small_statements = _measure(runtime, call)
    # and then 100
    _add_linked_jobs(runtime, 10, 90)
    big, big_statements = _measure(runtime, call)
    # then both pages cost the same seven statements, and the links resolved
    assert len(small) == 10 and len(big) == 100
    assert _tables(small_statements) == _tables(big_statements) == PAGE_TABLES, big_statements
    boss = big[0]
    assert boss["staffcount"] == 9 and big[1]["managerja"] == {"id": boss["id"]}
    assert all(item["user"] and item["position"] and item["organisation"] for item in big)


def test_a_page_without_total_skips_the_count(runtime, call):
    # given 10 linked jobs, and the settings reload after the change out of the way
    _add_linked_jobs(runtime, 0, 10)
    call(PAGE)
    # when a page leaves out `total`, as the later pages of an extract do
    with counting(runtime) as statements:
        body = call(PAGE.replace("total items", "items"))
    # then the page is whole and the count of every job was never run
    assert "errors" not in body, body
    assert len(body["data"]["totara_job_job_assignments"]["items"]) == 10
    assert _tables(statements) == PAGE_TABLES[:1] + PAGE_TABLES[2:], statements
