"""The indexes of revision 0009 match the statements the API issues, so that the database can
use them when the tables are large (bench/scale.py shows the plans at a million users).

Small tables never make a planner prefer an index, so the statements are taken from real API
requests and planned with sequential scans and sorts priced out (PostgreSQL) or read from
``EXPLAIN QUERY PLAN`` (SQLite): what is checked is that the index *can* serve them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, insert

from extapi.db.tables import job_assignments
from extapi.runtime import Runtime
from tests.factories import fetch_token, graphql, make_api_client, make_user

BY_MANAGER = """
query ($cursor: String) { totara_job_job_assignments(query: {sort: [{column: "managerjaid"}],
  pagination: {limit: 2, cursor: $cursor}}) { items { id managerjaid } next_cursor } }
"""
USERS_TOTAL = "{ core_user_users { total } }"


@contextmanager
def recording(runtime: Runtime) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        seen.append((sql, params))

    event.listen(runtime.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(runtime.engine, "before_cursor_execute", note)


def plan_of(runtime: Runtime, sql: str, params: Any) -> str:
    """The plan the database would choose with sequential scans and sorts made costly."""
    with runtime.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if runtime.engine.dialect.name == "postgresql":
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute("SET LOCAL enable_sort = off")
                cursor.execute("EXPLAIN " + sql, params)
                return "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        finally:
            cursor.close()
            conn.rollback()


def statement_on(seen: list[tuple[str, Any]], *words: str) -> tuple[str, Any]:
    matches = [(sql, params) for sql, params in seen if all(w in sql for w in words)]
    assert matches, [sql for sql, _ in seen]
    return matches[0]


def test_jobs_in_manager_order_are_read_from_the_manager_order_index(runtime, http):
    # given a manager and three of their staff, and a job without a manager
    people = [make_user(runtime) for _ in range(5)]
    with runtime.engine.begin() as conn:
        row = {"idnumber": "J", "timecreated": 1, "timemodified": 1}
        boss = conn.execute(
            insert(job_assignments), {**row, "user_id": people[0]}
        ).inserted_primary_key[0]
        for person in people[1:4]:
            conn.execute(insert(job_assignments), {**row, "user_id": person, "manager_ja_id": boss})
        conn.execute(insert(job_assignments), {**row, "user_id": people[4]})
    token = fetch_token(http, make_api_client(runtime))
    # when a later page of the jobs sorted by manager is asked for
    first = graphql(http, token, {"query": BY_MANAGER}).json()
    cursor = first["data"]["totara_job_job_assignments"]["next_cursor"]
    with recording(runtime) as seen:
        body = graphql(http, token, {"query": BY_MANAGER, "variables": {"cursor": cursor}}).json()
    # then the page is right, and its statement can be served by the index, without a sort
    items = body["data"]["totara_job_job_assignments"]["items"]
    assert [item["managerjaid"] for item in items] == [str(boss), str(boss)]
    sql, params = statement_on(seen, "FROM job_assignments", "ORDER BY coalesce")
    plan = plan_of(runtime, sql, params)
    assert "ix_job_assignments_manager_order" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_the_count_of_live_users_can_come_from_the_live_users_index(runtime, http):
    # given a few users
    for _ in range(3):
        make_user(runtime)
    token = fetch_token(http, make_api_client(runtime))
    # when a client asks for the total of the user list
    with recording(runtime) as seen:
        body = graphql(http, token, {"query": USERS_TOTAL}).json()
    # then the count is right and the partial index of live users can serve it alone
    assert body["data"]["core_user_users"]["total"] == 4  # and the client's service account
    sql, params = statement_on(seen, "count(*)", "FROM users")
    plan = plan_of(runtime, sql, params)
    assert "ix_users_live" in plan, plan
