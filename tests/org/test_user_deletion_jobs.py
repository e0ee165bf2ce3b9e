"""Deleting a user removes their job assignments and releases the staff they managed."""

from __future__ import annotations

import time

from sqlalchemy import insert, select

from extapi.db.tables import job_assignments
from tests.factories import fetch_token, graphql, make_api_client, make_user

DELETE = """
mutation delete_user($target: core_user_user_reference!) {
  core_user_delete_user(target_user: $target) { user_id }
}
"""


def test_deleting_a_manager_clears_the_link_of_their_staff(runtime, http):
    token = fetch_token(http, make_api_client(runtime))
    # given a manager and a report whose job assignment points at the manager's
    manager_id = make_user(runtime, "boss")
    report_id = make_user(runtime, "worker")
    now = int(time.time())
    with runtime.engine.begin() as conn:
        boss_ja = conn.execute(
            insert(job_assignments).values(
                user_id=manager_id, idnumber="B1", timecreated=now, timemodified=now
            )
        ).inserted_primary_key[0]
        conn.execute(
            insert(job_assignments).values(
                user_id=report_id,
                idnumber="W1",
                manager_ja_id=boss_ja,
                timecreated=now,
                timemodified=now,
            )
        )
    # when the manager is deleted through the API
    body = graphql(http, token, {"query": DELETE, "variables": {"target": {"username": "boss"}}})
    assert "data" in body.json()
    # then the manager's assignment is gone and the report has no manager
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(job_assignments)).mappings().all()
    assert [(r["user_id"], r["manager_ja_id"]) for r in rows] == [(report_id, None)]
