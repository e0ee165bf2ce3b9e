"""Documents with several aliased mutations that fail part-way, as Totara 17.3 answers them.

Totara runs root mutation fields one after another (graphql-php's serial execution) with no
transaction around the request: each mutation's writes stand once it has returned. Every
mutation result type is non-null, so a failing mutation nulls the whole ``data`` (left out of
the answer) and stops the document: the mutations after it never run and cost nothing. The
errors are those collected up to and including the failure, in execution order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from extapi.db.tables import job_assignments, users
from extapi.people import users as users_service
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_user

JOBS = """
mutation ($a: totara_job_create_job_assignment_input!,
          $b: totara_job_create_job_assignment_input!,
          $c: totara_job_create_job_assignment_input!) {
  a: totara_job_create_job_assignment(input: $a) { job_assignment { id idnumber } }
  b: totara_job_create_job_assignment(input: $b) { job_assignment { id idnumber } }
  c: totara_job_create_job_assignment(input: $c) { job_assignment { id idnumber } }
}
"""
USERS = """
mutation ($a: core_user_create_user_input!, $b: core_user_create_user_input!,
          $c: core_user_create_user_input!) {
  a: core_user_create_user(input: $a) { user { id username } }
  b: core_user_create_user(input: $b) { user { id username } }
  c: core_user_create_user(input: $c) { user { id username } }
}
"""
MIXED = """
mutation ($job: core_id!, $holder: core_id!) {
  a: totara_job_update_job_assignment(target_job: {id: $job}, input: {fullname: "First"}) {
    job_assignment { fullname user { firstname } }
  }
  b: core_user_update_user(target_user: {id: $holder}, input: {firstname: "Renamed"}) {
    user { firstname }
  }
  c: totara_job_update_job_assignment(target_job: {id: $job}, input: {shortname: "second"}) {
    job_assignment { shortname user { firstname } }
  }
}
"""
PASSWORD = "Passw0rd!"
Call = Callable[..., dict[str, Any]]


@pytest.fixture
def call(runtime: Runtime, http: Any) -> Call:
    token = fetch_token(http, make_api_client(runtime))

    def run(document: str, **variables: Any) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document, "variables": variables}).json())

    return run


def _job(user_id: int, idnumber: str, **fields: Any) -> dict[str, Any]:
    return {"user": {"id": user_id}, "idnumber": idnumber, **fields}


def _new_user(username: str, **fields: Any) -> dict[str, Any]:
    base = {
        "username": username,
        "email": f"{username}@example.com",
        "firstname": "New",
        "lastname": "User",
        "password": PASSWORD,
    }
    return {**base, **fields}


def _idnumbers(runtime: Runtime, user_id: int) -> list[str]:
    query = select(job_assignments.c.idnumber).where(job_assignments.c.user_id == user_id)
    with runtime.engine.connect() as conn:
        return sorted(str(v) for v in conn.execute(query).scalars())


def _usernames(runtime: Runtime, *names: str) -> list[str]:
    query = select(users.c.username).where(users.c.username.in_(names))
    with runtime.engine.connect() as conn:
        return sorted(str(v) for v in conn.execute(query).scalars())


def _assert_stopped_at_b(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    assert [e["path"] for e in body["errors"]] == [["b"]], body
    return dict(body["errors"][0])


def test_job_mutations_before_a_failure_stand_and_those_after_never_run(runtime, call):
    # given a holder
    holder = make_user(runtime)
    # when the second of three creations names an unknown position
    body = call(
        JOBS,
        a=_job(holder, "JA1"),
        b=_job(holder, "JA2", position={"idnumber": "NOPE"}),
        c=_job(holder, "JA3"),
    )
    # then the answer holds only the failure, at b
    error = _assert_stopped_at_b(body)
    assert error["debugMessage"] == "Position reference not found"
    # and the first creation is committed while the third never ran
    assert _idnumbers(runtime, holder) == ["JA1"]


def test_a_failure_in_the_first_mutation_stops_the_rest(runtime, call):
    holder = make_user(runtime)
    body = call(JOBS, a=_job(holder, ""), b=_job(holder, "JA2"), c=_job(holder, "JA3"))
    assert body.get("data") is None and [e["path"] for e in body["errors"]] == [["a"]]
    assert body["errors"][0]["debugMessage"] == (
        "ID Number is required when creating new job assignment"
    )
    assert _idnumbers(runtime, holder) == []


def test_user_mutations_before_a_failure_stand_and_those_after_never_run(runtime, call):
    # given an existing user "taken"
    make_user(runtime, "taken")
    # when the second of three creations reuses that username
    body = call(USERS, a=_new_user("first"), b=_new_user("taken"), c=_new_user("third"))
    # then the answer holds only b's (masked) failure
    error = _assert_stopped_at_b(body)
    assert error["message"] == "Internal server error"
    assert error["extensions"]["category"] == "internal"
    # and only the first new user exists
    assert _usernames(runtime, "first", "taken", "third") == ["first", "taken"]


def test_reaching_the_complexity_limit_at_a_mutation_stops_the_document(runtime, call):
    # given a limit that a's 10 + 2 points fit in but b's root field does not (12 + 10 > 20)
    holder = make_user(runtime)
    with runtime.engine.begin() as conn:
        set_setting(conn, "max_query_complexity", "20")
    body = call(JOBS, a=_job(holder, "JA1"), b=_job(holder, "JA2"), c=_job(holder, "JA3"))
    # then b fails on the limit before running, and a stands
    error = _assert_stopped_at_b(body)
    assert error["message"] == "Query complexity exceeded maximum allowed complexity of 20."
    assert error["extensions"]["category"] == "query_complexity"
    assert _idnumbers(runtime, holder) == ["JA1"]


def test_a_later_mutation_reads_what_an_earlier_one_wrote(runtime, call):
    # given a job whose holder is called "Before"
    holder = make_user(runtime, firstname="Before")
    job = call(JOBS, a=_job(holder, "JA1"), b=_job(holder, "JA2"), c=_job(holder, "JA3"))
    job_id = job["data"]["a"]["job_assignment"]["id"]
    # when one document reads the holder, renames them and reads them again
    body = call(MIXED, job=job_id, holder=str(holder))
    # then the third mutation sees the new name, as a fresh read in Totara would
    assert "errors" not in body, body
    assert body["data"]["a"]["job_assignment"]["user"] == {"firstname": "Before"}
    assert body["data"]["b"]["user"] == {"firstname": "Renamed"}
    assert body["data"]["c"]["job_assignment"] == {
        "shortname": "second",
        "user": {"firstname": "Renamed"},
    }


def test_every_mutation_commits_on_its_own(runtime, call):
    # given three valid creations in one document
    holder = make_user(runtime)
    started = time.time()
    body = call(JOBS, a=_job(holder, "JA1"), b=_job(holder, "JA2"), c=_job(holder, "JA3"))
    # then all three are answered in order and stored
    assert "errors" not in body, body
    assert [body["data"][k]["job_assignment"]["idnumber"] for k in "abc"] == ["JA1", "JA2", "JA3"]
    with runtime.engine.connect() as conn:
        count = conn.execute(
            select(func.count()).where(job_assignments.c.timecreated >= int(started))
        ).scalar_one()
    assert count == 3


ONE_FIELD_OVER = """
mutation ($a: totara_job_create_job_assignment_input!,
          $b: totara_job_create_job_assignment_input!) {
  a: totara_job_create_job_assignment(input: $a) { job_assignment { id fullname } }
  b: totara_job_create_job_assignment(input: $b) { job_assignment { id } }
}
"""


def test_errors_of_earlier_mutations_are_kept_when_a_later_one_fails(runtime, call):
    # given a limit of 11: a's root (10) and id (11) fit, its nullable fullname (12) does not
    holder = make_user(runtime)
    with runtime.engine.begin() as conn:
        set_setting(conn, "max_query_complexity", "11")
    # when b's root field then goes over the limit too
    body = call(ONE_FIELD_OVER, a=_job(holder, "JA1"), b=_job(holder, "JA2"))
    # then both errors are listed in execution order, and a stands
    assert body.get("data") is None, body
    assert [e["path"] for e in body["errors"]] == [["a", "job_assignment", "fullname"], ["b"]]
    assert {e["extensions"]["category"] for e in body["errors"]} == {"query_complexity"}
    assert _idnumbers(runtime, holder) == ["JA1"]


def test_a_mutation_refused_by_the_database_stops_the_document_like_any_other(
    runtime, call, monkeypatch
):
    # given an existing user, and a duplicate look-up that misses it (as when a concurrent
    # request commits it just after the look-up), so that only the database refuses
    make_user(runtime, "taken")
    monkeypatch.setattr(users_service, "_exists", lambda *args: False)
    # when the second of three creations reuses that username
    body = call(USERS, a=_new_user("first"), b=_new_user("taken"), c=_new_user("third"))
    # then b fails with Totara's duplicate message, as if the look-up had found it
    error = _assert_stopped_at_b(body)
    assert error["debugMessage"] == "Username already exists: taken"
    assert error["extensions"]["category"] == "internal"
    # and the first creation stands while the third never ran
    assert _usernames(runtime, "first", "taken", "third") == ["first", "taken"]
