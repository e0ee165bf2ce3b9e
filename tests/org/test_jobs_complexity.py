"""Complexity totals of nested job assignment queries, priced as Totara 17.3 prices them.

In Totara a field costs 1 per record when its type has a type resolver class, and nothing when
the type is a wrapper resolved by the default resolver. Among the types met here,
``core_user``, ``totara_job_job_assignment``, ``totara_hierarchy_position`` and
``totara_hierarchy_position_framework`` have one; ``core_user_users_result`` and
``totara_job_job_assignments_result`` do not. A null link resolves nothing below it.

Each total is pinned without reading the total itself: the query passes when the limit equals
the total, and exactly one field (the last costed one) fails when the limit is one less.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert

from extapi.db.tables import hierarchy_frameworks, hierarchy_items, job_assignments
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_user

USERS_NESTED = """
{ core_user_users(query: {pagination: {limit: 100}}) {
    total
    items { id job_assignments { id managerja { id user { id job_assignments { idnumber } } } } }
} }
"""
JOBS_NESTED = """
{ totara_job_job_assignments {
    total next_cursor
    items {
      idnumber user { id } managerja { idnumber staffcount } position { id framework { id } }
    }
} }
"""
Call = Callable[[str], dict[str, Any]]
_now = int(time.time())


@pytest.fixture
def call(runtime: Runtime, http: Any) -> Call:
    token = fetch_token(http, make_api_client(runtime))

    def run(document: str) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document}).json())

    return run


def _job(runtime: Runtime, user_id: int, idnumber: str, **values: Any) -> int:
    row = {"user_id": user_id, "idnumber": idnumber, "timecreated": _now, "timemodified": _now}
    with runtime.engine.begin() as conn:
        return int(conn.execute(insert(job_assignments), {**row, **values}).inserted_primary_key[0])


def _position(runtime: Runtime) -> int:
    with runtime.engine.begin() as conn:
        framework = conn.execute(
            insert(hierarchy_frameworks),
            {
                "kind": "position",
                "idnumber": "PFW",
                "fullname": "Positions",
                "timecreated": _now,
                "timemodified": _now,
            },
        ).inserted_primary_key[0]
        item = {
            "kind": "position",
            "framework_id": framework,
            "fullname": "Engineer",
            "idnumber": "P1",
            "timecreated": _now,
            "timemodified": _now,
        }
        return int(conn.execute(insert(hierarchy_items), item).inserted_primary_key[0])


@pytest.fixture
def staff(runtime: Runtime) -> None:
    """A boss with one job B1; staff1 with S1 (managed by B1, in a position); staff2 with S2
    (managed by B1) and S3 (no manager)."""
    boss, staff1, staff2 = make_user(runtime), make_user(runtime), make_user(runtime)
    b1 = _job(runtime, boss, "B1")
    _job(runtime, staff1, "S1", manager_ja_id=b1, position_id=_position(runtime))
    _job(runtime, staff2, "S2", manager_ja_id=b1)
    _job(runtime, staff2, "S3")


def _limit(runtime: Runtime, points: int) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, "max_query_complexity", str(points))


def _assert_total(runtime: Runtime, call: Call, document: str, total: int) -> dict[str, Any]:
    _limit(runtime, total)
    body = call(document)
    assert "errors" not in body, body
    _limit(runtime, total - 1)
    over = call(document)
    categories = [e["extensions"]["category"] for e in over.get("errors", [])]
    assert categories == ["query_complexity"], over
    return body


def test_users_with_their_jobs_managers_and_managers_jobs(runtime, call, staff):
    # given four jobs, two of them managed by B1, over the users of the site
    users = call(USERS_NESTED)["data"]["core_user_users"]["items"]
    # then: root 5; per user id + job_assignments; per job id + managerja; per manager's job
    # id + user; that user's id + job_assignments; and the idnumber of the boss's one job
    total = 5 + 2 * len(users) + 2 * 4 + 2 * (2 + 2 + 1)
    body = _assert_total(runtime, call, USERS_NESTED, total)
    managed = [
        job["managerja"]
        for user in body["data"]["core_user_users"]["items"]
        for job in user["job_assignments"]
        if job["managerja"]
    ]
    assert [m["user"]["job_assignments"] for m in managed] == [[{"idnumber": "B1"}]] * 2


def test_job_list_with_holder_manager_and_position_framework(runtime, call, staff):
    # root 5; per job idnumber, user, user.id, managerja, position (5 x 4);
    # per manager's job idnumber + staffcount (2 x 2); the one position's id, framework, its id
    total = 5 + 5 * 4 + 2 * 2 + 3
    body = _assert_total(runtime, call, JOBS_NESTED, total)
    page = body["data"]["totara_job_job_assignments"]
    assert page["total"] == 4
    assert [i["managerja"] for i in page["items"]] == [
        None,
        {"idnumber": "B1", "staffcount": 2},
        {"idnumber": "B1", "staffcount": 2},
        None,
    ]
