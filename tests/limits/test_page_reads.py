"""Paginated lists read no more rows than the request can use: a count alone for ``total``,
and never more items than the complexity budget could pay for, whatever the limit."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from extapi.db.tables import hierarchy_frameworks, hierarchy_items, job_assignments
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_user

COMPLEXITY = "Query complexity exceeded maximum allowed complexity of {}."
ROWS = 30
LISTS = {
    "users": ("core_user_users", "users"),
    "job assignments": ("totara_job_job_assignments", "job_assignments"),
    "positions": ("hierarchy_position_positions", "hierarchy_items"),
}


@pytest.fixture
def rows(runtime) -> None:
    """At least ROWS users, ROWS job assignments and ROWS positions."""
    now = int(time.time())
    ids = [make_user(runtime) for _ in range(ROWS)]
    with runtime.engine.begin() as conn:
        conn.execute(
            insert(job_assignments),
            [
                {"user_id": i, "idnumber": f"J{i}", "timecreated": now, "timemodified": now}
                for i in ids
            ],
        )
        framework = conn.execute(
            insert(hierarchy_frameworks),
            {
                "kind": "position",
                "idnumber": "PFW",
                "fullname": "Positions",
                "timecreated": now,
                "timemodified": now,
            },
        ).inserted_primary_key[0]
        conn.execute(
            insert(hierarchy_items),
            [
                {
                    "kind": "position",
                    "framework_id": framework,
                    "fullname": f"P{n}",
                    "idnumber": f"P{n}",
                    "timecreated": now,
                    "timemodified": now,
                }
                for n in range(ROWS)
            ],
        )


@pytest.fixture
def call(runtime, http) -> Any:
    token = fetch_token(http, make_api_client(runtime))

    def run(document: str) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document}).json())

    return run


class Reads:
    """The SQL statements run while a block runs, with their parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def on(self, table: str) -> list[tuple[str, Any]]:
        """Statements that read rows (not a count) from ``table``."""
        return [
            (sql, params)
            for sql, params in self.statements
            if f"FROM {table}" in sql and "count(" not in sql.lower()
        ]


@pytest.fixture
def reads(engine: Engine) -> Iterator[Reads]:
    seen = Reads()

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        seen.statements.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _limit_value(sql: str, params: Any) -> int:
    """The value bound to a query's LIMIT, named (psycopg) or by position (sqlite3)."""
    head, _, tail = sql.rpartition("LIMIT")
    if isinstance(params, dict):
        found = re.match(r"\s*%\((\w+)\)s", tail)
        assert found, sql
        return int(params[found.group(1)])
    return int(params[head.count("?")])


def _set(runtime, name: str, value: str) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, name, value)


@pytest.mark.parametrize("kind", LISTS, ids=list(LISTS))
@pytest.mark.parametrize("limit", [-1, 0, 1000])
def test_total_alone_reads_no_rows(rows, call, reads, kind, limit) -> None:
    field, table = LISTS[kind]
    # when only the total is asked for
    body = call(f"{{ {field}(query: {{pagination: {{limit: {limit}}}}}) {{ total }} }}")
    # then it is counted, and no row is read
    assert "errors" not in body, body
    assert body["data"][field]["total"] >= ROWS
    assert reads.on(table) == []


@pytest.mark.parametrize("kind", LISTS, ids=list(LISTS))
def test_next_cursor_alone_reads_two_keys(rows, call, reads, kind) -> None:
    field, table = LISTS[kind]
    # given the cursor a full page read hands out
    full = call(
        f"{{ {field}(query: {{pagination: {{limit: 7}}}}) {{ next_cursor items {{ id }} }} }}"
    )
    reads.statements.clear()
    # when only the next cursor is asked for
    body = call(f"{{ {field}(query: {{pagination: {{limit: 7}}}}) {{ next_cursor }} }}")
    # then it is the same cursor, read from two rows' keys
    assert body["data"][field]["next_cursor"] == full["data"][field]["next_cursor"] != ""
    [(sql, params)] = reads.on(table)
    assert _limit_value(sql, params) == 2


@pytest.mark.parametrize("kind", LISTS, ids=list(LISTS))
def test_next_cursor_alone_after_a_cursor(rows, call, kind) -> None:
    field, _table = LISTS[kind]
    first = call(f"{{ {field}(query: {{pagination: {{limit: 7}}}}) {{ next_cursor }} }}")
    cursor = first["data"][field]["next_cursor"]
    page = f'{field}(query: {{pagination: {{cursor: "{cursor}"}}}})'
    full = call(f"{{ {page} {{ next_cursor items {{ id }} }} }}")
    alone = call(f"{{ {page} {{ next_cursor }} }}")
    assert alone["data"][field]["next_cursor"] == full["data"][field]["next_cursor"] != ""
    last = call(f"{{ {field}(query: {{pagination: {{limit: {ROWS * 2}}}}}) {{ next_cursor }} }}")
    assert last["data"][field]["next_cursor"] == ""


@pytest.mark.parametrize("kind", LISTS, ids=list(LISTS))
@pytest.mark.parametrize("limit", [-1, 0, 2**31 - 1, 2**62])
def test_no_more_rows_than_the_budget_pays_for(runtime, rows, call, reads, kind, limit) -> None:
    field, table = LISTS[kind]
    # given a budget of 5 for the root field and 15 more: 15 items at most, 7 of two fields
    _set(runtime, "max_query_complexity", "20")
    # when every row is asked for
    page = f"{field}(query: {{pagination: {{limit: {limit}}}}})"
    body = call(f"{{ {page} {{ total items {{ id idnumber }} }} }}")
    # then the answer is the complexity limit's, as when every row was read
    assert [e["message"] for e in body["errors"]] == [COMPLEXITY.format(20)]
    assert body["errors"][0]["extensions"]["category"] == "query_complexity"
    assert body.get("data") is None
    # and no more rows were read than the most items any selection could pay for, and one
    [(sql, params)] = reads.on(table)
    assert _limit_value(sql, params) == 16


@pytest.mark.parametrize("kind", LISTS, ids=list(LISTS))
def test_a_page_the_budget_pays_for_is_answered_whole(runtime, rows, call, kind) -> None:
    field, _table = LISTS[kind]
    _set(runtime, "max_query_complexity", str(5 + 2 * 500))
    page = f"{field}(query: {{pagination: {{limit: -1}}}})"
    body = call(f"{{ {page} {{ total next_cursor items {{ id idnumber }} }} }}")
    assert "errors" not in body, body
    result = body["data"][field]
    assert len(result["items"]) == result["total"] >= ROWS
    assert result["next_cursor"] == ""


def test_a_page_partly_paid_for_fails_field_by_field_as_in_totara(runtime, rows, call) -> None:
    # given a budget of 20: 15 points for items of two fields, 10 items asked for
    _set(runtime, "max_query_complexity", "20")
    body = call(
        "{ totara_job_job_assignments(query: {pagination: {limit: 10}}) "
        "{ items { idnumber fullname } } }"
    )
    # then the items are all read, and those past the budget fail field by field
    items = body["data"]["totara_job_job_assignments"]["items"]
    assert len(items) == 10
    assert all(item["idnumber"] for item in items[:7])
    assert {e["message"] for e in body["errors"]} == {COMPLEXITY.format(20)}
    assert [e["path"][2] for e in body["errors"]] == [7, 8, 9]


@pytest.mark.parametrize("kind", LISTS, ids=list(LISTS))
def test_free_items_are_bounded_as_if_each_cost_a_point(runtime, rows, call, reads, kind) -> None:
    field, table = LISTS[kind]
    # given a budget of 20, and items asking for nothing Totara charges for
    _set(runtime, "max_query_complexity", "20")
    body = call(f"{{ {field}(query: {{pagination: {{limit: -1}}}}) {{ items {{ __typename }} }} }}")
    # then extapi refuses the page as over the budget instead of reading every row
    assert [e["message"] for e in body["errors"]] == [COMPLEXITY.format(20)]
    [(sql, params)] = reads.on(table)
    assert _limit_value(sql, params) == 16
