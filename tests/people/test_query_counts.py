"""How many SQL statements a page of users costs: a small constant, whatever the page size.

Statements sent through the SQLAlchemy engine are counted with a ``before_cursor_execute``
listener on ``runtime.engine``. The one per-request read of the site revision (and, for a
token not cached at that revision, the token's row in the same statement; see
``extapi.db.hot``) goes straight to a DBAPI connection, so engine events never see it. It is
counted separately, by wrapping the worker's ``HotReader``, and is exactly one read per request.

Not counted either: on PostgreSQL the pool's pre-ping (``pool_pre_ping=True``) checks the
connection when the request checks it out; that is a liveness check of the pool, not a query
of the request, and SQLAlchemy runs it below the engine events.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from starlette.testclient import TestClient

from extapi.people import profile_fields
from extapi.people.users import NewUser, create_user
from extapi.runtime import Runtime
from extapi.settings.site import load_site_settings
from tests.factories import fetch_token, graphql, make_api_client

PAGE_QUERY = {
    "query": "{ core_user_users(query: {pagination: {limit: 100}}) { total next_cursor "
    "items { id username custom_fields { shortname data } job_assignments { id } } } }"
}
# A page costs, once the worker has the current site settings: (1) the caller's role grants,
# (2) the count behind ``total``, (3) the page of users, (4) the custom field values of the
# whole page in one batch; so are the job assignments of the whole page.
PAGE_STATEMENTS = [
    "role_assignments",
    "users",
    "users",
    "profile_data",
    "job_assignments",
]  # tables read
STATEMENTS_PER_PAGE = 5
# The first request after the site revision moved also reloads the site settings, once.
SETTINGS_RELOAD = ["site_settings"]
# Outside the engine: at most one read per request, of the revision alone when the token is
# cached; on PostgreSQL none while the worker's revision lease holds (extapi.db.lease).
REVISION_ONLY = "SELECT revision FROM site_revision WHERE id = 1"


def hot_reads_allowed(runtime: Runtime) -> list[list[str]]:
    if runtime.reader.lease is None:
        return [[REVISION_ONLY]]
    return [[], [REVISION_ONLY]]  # one read only when the lease had lapsed meanwhile


@contextmanager
def counting(runtime: Runtime) -> Iterator[tuple[list[str], list[str]]]:
    """Collect the engine's statements and the hot reader's reads made inside the block."""
    statements: list[str] = []
    hot_reads: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        statements.append(" ".join(sql.split()))

    reader = runtime.reader
    real_run = reader._run

    def counted_run(sql: str, params: tuple[Any, ...]) -> Any:
        hot_reads.append(" ".join(sql.split()))
        return real_run(sql, params)

    event.listen(runtime.engine, "before_cursor_execute", on_execute)
    reader._run = counted_run  # type: ignore[method-assign]
    try:
        yield statements, hot_reads
    finally:
        reader._run = real_run  # type: ignore[method-assign]
        event.remove(runtime.engine, "before_cursor_execute", on_execute)


def tables_read(statements: list[str]) -> list[str]:
    """The first table named after FROM in each statement."""
    found = [re.search(r"\bFROM (\w+)", sql) for sql in statements]
    return [m.group(1) if m else "?" for m in found]


def add_users(runtime: Runtime, first: int, count: int) -> None:
    """``count`` users, each with a value in both custom fields."""
    with runtime.engine.begin() as conn:
        site = load_site_settings(conn)
        fields = profile_fields.fields_by_shortname(conn)
        for n in range(first, first + count):
            name = f"person{n:03d}"
            user_id = create_user(conn, NewUser(name, f"{name}@example.com", "Per", name), site)
            profile_fields.apply_changes(
                conn,
                user_id,
                {fields["f1"].id: (f"one {n}", 0), fields["f2"].id: (f"two {n}", 0)},
            )


def fetch_page(http: TestClient, token: str) -> dict[str, Any]:
    body = graphql(http, token, PAGE_QUERY).json()
    assert "errors" not in body, body
    return dict(body["data"]["core_user_users"])


def measure(runtime: Runtime, http: TestClient, token: str) -> tuple[dict, list, list]:
    """The page and what it cost, in the steady state every request after the first sees."""
    # The first request after data changed reloads the site settings (the revision moved).
    fetch_page(http, token)
    with counting(runtime) as (statements, hot_reads):
        page = fetch_page(http, token)
    return page, statements, hot_reads


@pytest.fixture
def token(runtime: Runtime, http: TestClient) -> str:
    """Two custom profile text fields, and a system client's token."""
    with runtime.engine.begin() as conn:
        profile_fields.add_field(conn, "f1", "F1", "text")
        profile_fields.add_field(conn, "f2", "F2", "text")
    return fetch_token(http, make_api_client(runtime))


def test_a_page_of_100_users_costs_five_statements(runtime, http, token):
    # given 100 users with two custom field values each (and the client's service account)
    add_users(runtime, 1, 100)
    # when a system client asks for a page of 100 with custom fields and job assignments
    page, statements, hot_reads = measure(runtime, http, token)
    # then the page is full and carries the custom fields
    assert len(page["items"]) == 100
    assert page["total"] == 101
    assert page["next_cursor"]
    by_name = {item["username"]: item for item in page["items"]}
    assert by_name["person042"]["custom_fields"] == [
        {"shortname": "f1", "data": "one 42"},
        {"shortname": "f2", "data": "two 42"},
    ]
    assert by_name["person042"]["job_assignments"] == []
    # and it cost grants, count, page and one batch of custom fields, plus one revision read
    # at most
    assert len(statements) == STATEMENTS_PER_PAGE, statements
    assert tables_read(statements) == PAGE_STATEMENTS, statements
    assert "count(" in statements[1].lower()
    assert hot_reads in hot_reads_allowed(runtime)


def test_ten_users_cost_the_same_statements_as_a_hundred(runtime, http, token):
    # given 10 users with custom field values
    add_users(runtime, 1, 10)
    # when the same query runs
    small_page, small_statements, small_hot = measure(runtime, http, token)
    # and runs again once there are 100 users
    add_users(runtime, 11, 90)
    big_page, big_statements, big_hot = measure(runtime, http, token)
    # then ten times the rows cost the same statements: nothing is loaded per user
    assert len(small_page["items"]) == 11
    assert len(big_page["items"]) == 100
    assert len(small_statements) == len(big_statements) == STATEMENTS_PER_PAGE, big_statements
    assert tables_read(small_statements) == tables_read(big_statements) == PAGE_STATEMENTS
    assert small_hot in hot_reads_allowed(runtime)
    assert big_hot in hot_reads_allowed(runtime)


def test_first_request_after_a_change_also_reloads_the_settings_once(runtime, http, token):
    # given 100 users just added (which moved the site revision)
    add_users(runtime, 1, 100)
    # when the page is asked for straight away
    with counting(runtime) as (statements, hot_reads):
        page = fetch_page(http, token)
    # then the settings are reloaded once on top of the page's statements, and the one hot
    # read fetches the revision and the token's row together (the token cache was emptied)
    assert len(page["items"]) == 100
    assert tables_read(statements) == SETTINGS_RELOAD + PAGE_STATEMENTS, statements
    assert len(hot_reads) == 1
    assert "access_tokens" in hot_reads[0]


def test_a_page_without_total_runs_no_count(runtime, http, token):
    # given 100 users with custom field values
    add_users(runtime, 1, 100)
    fetch_page(http, token)  # the settings reload after the change is not what is measured
    # when a later page of an extract leaves out `total`
    query = PAGE_QUERY["query"].replace("{ total next_cursor", "{ next_cursor")
    with counting(runtime) as (statements, _hot_reads):
        body = graphql(http, token, {"query": query}).json()
    # then the page is the same, and no statement counted the users (a count of every live
    # user per page would make a full extract quadratic in the number of users)
    assert "errors" not in body, body
    assert len(body["data"]["core_user_users"]["items"]) == 100
    assert not any("count(" in sql.lower() for sql in statements), statements
    assert tables_read(statements) == [t for i, t in enumerate(PAGE_STATEMENTS) if i != 1]
