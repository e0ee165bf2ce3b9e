"""totara_job_create/update/delete_job_assignment: Totara's rules, messages and rights."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from extapi.access import roles
from extapi.db.tables import hierarchy_frameworks, hierarchy_items, job_assignments
from extapi.org import job_input, jobs
from tests.factories import fetch_token, graphql, make_api_client, make_user

FIELDS = """
  id userid idnumber fullname shortname startdate enddate positionid organisationid
  managerjaid tempmanagerjaid tempmanagerexpirydate appraiserid staffcount tempstaffcount
  user { id } position { id } organisation { id } managerja { id } appraiser { id }
  timemodified
"""
CREATE = f"""
mutation ($input: totara_job_create_job_assignment_input!) {{
  totara_job_create_job_assignment(input: $input) {{ job_assignment {{ {FIELDS} }} }}
}}
"""
UPDATE = f"""
mutation ($target: totara_job_job_assignment_reference!,
          $input: totara_job_update_job_assignment_input!) {{
  totara_job_update_job_assignment(target_job: $target, input: $input) {{
    job_assignment {{ {FIELDS} }}
  }}
}}
"""
DELETE = """
mutation ($target: totara_job_job_assignment_reference!) {
  totara_job_delete_job_assignment(target_job: $target) { job_assignment_id }
}
"""
ONE = """
query ($target: totara_job_job_assignment_reference!) {
  totara_job_job_assignment(target_job: $target) {
    found job_assignment { id staffcount tempstaffcount managerjaid tempmanagerjaid }
  }
}
"""
NO_USER = "The user does not exist or you do not have permission to create a job assignment."
UPDATE_NOT_FOUND = "Job assignment does not exist or you do not have permission to manage it."
NOT_SINGLE = (
    "There was a problem finding a single job assignment record match or you do not have "
    "permission to manage it."
)
FUTURE = int(time.time()) + 86400 * 30

Call = Callable[..., dict[str, Any]]


@pytest.fixture
def call(runtime, http) -> Call:
    token = fetch_token(http, make_api_client(runtime))

    def run(document: str, **variables: Any) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document, "variables": variables}).json())

    return run


@pytest.fixture
def org(runtime) -> dict[str, int]:
    """One position and one organisation, each in its own framework."""
    now = int(time.time())
    ids: dict[str, int] = {}
    with runtime.engine.begin() as conn:
        for kind in ("position", "organisation"):
            fw = conn.execute(
                insert(hierarchy_frameworks),
                {
                    "kind": kind,
                    "idnumber": f"{kind}-fw",
                    "fullname": kind,
                    "timecreated": now,
                    "timemodified": now,
                },
            ).inserted_primary_key[0]
            ids[kind] = int(
                conn.execute(
                    insert(hierarchy_items),
                    {
                        "kind": kind,
                        "framework_id": fw,
                        "fullname": f"A {kind}",
                        "idnumber": f"{kind}1",
                        "timecreated": now,
                        "timemodified": now,
                    },
                ).inserted_primary_key[0]
            )
    return ids


def _reason(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["debugMessage"])


def _create(call: Call, user_id: int, idnumber: str = "J1", **fields: Any) -> dict[str, Any]:
    body = call(CREATE, input={"user": {"id": user_id}, "idnumber": idnumber, **fields})
    assert "errors" not in body, body
    return dict(body["data"]["totara_job_create_job_assignment"]["job_assignment"])


def _create_error(call: Call, user_id: int, **fields: Any) -> str:
    return _reason(call(CREATE, input={"user": {"id": user_id}, "idnumber": "J9", **fields}))


def _update(call: Call, job_id: int, **fields: Any) -> dict[str, Any]:
    body = call(UPDATE, target={"id": job_id}, input=fields)
    assert "errors" not in body, body
    return dict(body["data"]["totara_job_update_job_assignment"]["job_assignment"])


# --- create -----------------------------------------------------------------------------------
def test_create_links_position_organisation_manager_and_appraiser(runtime, call, org):
    # given a holder, a manager with a job, and an appraiser
    holder, boss, appraiser = (make_user(runtime) for _ in range(3))
    boss_job = _create(call, boss, "B1")
    # when a job assignment is created with every link
    job = _create(
        call,
        holder,
        "J1",
        fullname="Engineer",
        shortname="eng",
        start_date="2030-01-01",
        end_date="2031-01-01",
        position={"idnumber": "position1"},
        organisation={"id": org["organisation"]},
        manager={"idnumber": "B1", "user": {"id": boss}},
        appraiser={"id": appraiser},
        temp_manager={"id": boss_job["id"]},
        temp_manager_expiry_date=FUTURE,
    )
    # then the links resolve and the manager's job counts its staff
    assert job["userid"] == str(holder) and job["user"] == {"id": str(holder)}
    assert (job["fullname"], job["shortname"], job["idnumber"]) == ("Engineer", "eng", "J1")
    assert job["position"] == {"id": str(org["position"])}
    assert job["organisation"] == {"id": str(org["organisation"])}
    assert job["managerja"] == {"id": boss_job["id"]} == {"id": job["managerjaid"]}
    assert job["appraiser"] == {"id": str(appraiser)}
    assert job["tempmanagerexpirydate"] == str(FUTURE)
    assert int(job["startdate"]) < int(job["enddate"])
    assert int(job["timemodified"]) > 0
    found = call(ONE, target={"id": boss_job["id"]})["data"]["totara_job_job_assignment"]
    assert found["job_assignment"]["staffcount"] == 1
    assert found["job_assignment"]["tempstaffcount"] == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"start_date": 2000, "end_date": 1000},
            "The start date can not be later than the end date.",
        ),
        ({"position": {"idnumber": "nope"}}, "Position reference not found"),
        ({"organisation": {"idnumber": "position1"}}, "Organisation reference not found"),
        ({"manager": {"id": 999999}}, "Manager reference not found"),
        (
            {"temp_manager_expiry_date": 1000},
            "The temporary manager expiry date can not be in the past.",
        ),
    ],
)
def test_create_refuses_bad_values(runtime, call, org, fields, message):
    # given a holder; when a job is created with a bad value; then Totara's message comes back
    assert _create_error(call, make_user(runtime), **fields) == message


def test_create_refuses_self_links_and_a_temp_manager_without_expiry(runtime, call):
    # given a holder who already has a job, and a manager with a job
    holder, boss = make_user(runtime), make_user(runtime)
    own = _create(call, holder, "J1")
    boss_job = _create(call, boss, "B1")
    # then the holder can not manage, temporarily manage or appraise themselves
    assert _create_error(call, holder, manager={"id": own["id"]}) == (
        "The user cannot be assigned as their own manager."
    )
    assert (
        _create_error(call, holder, temp_manager={"id": own["id"]}, temp_manager_expiry_date=FUTURE)
        == "The user cannot be assigned as their own temporary manager."
    )
    assert _create_error(call, holder, appraiser={"id": holder}) == (
        "The user can not be their own appraiser!"
    )
    # and a temporary manager needs an expiry date
    assert _create_error(call, holder, temp_manager={"id": boss_job["id"]}) == (
        "A temporary manager expiry date is required."
    )
    # and the idnumber is unique per user
    body = call(CREATE, input={"user": {"id": holder}, "idnumber": "J1"})
    assert _reason(body) == (
        "Tried to create job assignment idnumber which is not unique for this user"
    )
    # but another user may use the same idnumber
    assert _create(call, boss, "J1")["idnumber"] == "J1"


def test_create_for_an_unknown_user_is_refused(runtime, call):
    assert _create_error(call, 999999) == NO_USER


def test_rights_are_needed_to_assign_and_to_delegate(runtime, http):
    # given a client whose role lacks the delegation capability, then the assign capability
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    holder, boss = make_user(runtime), make_user(runtime)

    def create(user_id: int, idnumber: str, **fields: Any) -> dict[str, Any]:
        variables = {"input": {"user": {"id": user_id}, "idnumber": idnumber, **fields}}
        return dict(graphql(http, token, {"query": CREATE, "variables": variables}).json())

    boss_job = create(boss, "B1")["data"]["totara_job_create_job_assignment"]["job_assignment"]
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/core:delegateusersmanager", -1)
    temp = {"temp_manager": {"id": boss_job["id"]}, "temp_manager_expiry_date": FUTURE}
    assert _reason(create(holder, "J1", **temp)) == (
        "You do not have permission to delegate a manager."
    )
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/hierarchy:assignuserposition", -1)
    assert _reason(create(holder, "J1")) == NO_USER
    # but a service account may give itself a job with assignselfposition
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/hierarchy:assignselfposition", 1)
    assert "errors" not in create(client.user_id, "SELF")


# --- update -----------------------------------------------------------------------------------
def test_update_changes_given_fields_and_null_clears_links(runtime, call, org):
    # given a job with every link set
    holder, boss, appraiser = (make_user(runtime) for _ in range(3))
    boss_job = _create(call, boss, "B1")
    job = _create(
        call,
        holder,
        "J1",
        fullname="Old",
        position={"id": org["position"]},
        organisation={"id": org["organisation"]},
        manager={"id": boss_job["id"]},
        appraiser={"id": appraiser},
        temp_manager={"id": boss_job["id"]},
        temp_manager_expiry_date=FUTURE,
    )
    # when only the name changes, the links stay
    renamed = _update(call, int(job["id"]), fullname="New", idnumber="J2")
    assert (renamed["fullname"], renamed["idnumber"]) == ("New", "J2")
    assert renamed["positionid"] == str(org["position"]) and renamed["managerjaid"]
    # when every link is given as null, every link clears
    cleared = _update(
        call,
        int(job["id"]),
        position=None,
        organisation=None,
        manager=None,
        appraiser=None,
        temp_manager=None,
    )
    for field in (
        "positionid",
        "organisationid",
        "managerjaid",
        "tempmanagerjaid",
        "appraiserid",
        "tempmanagerexpirydate",
        "position",
        "managerja",
    ):
        assert cleared[field] is None, field
    assert cleared["fullname"] == "New"


def test_update_reports_missing_ambiguous_and_invalid_targets(runtime, call):
    # given two users holding a job with the same idnumber
    first, second = make_user(runtime), make_user(runtime)
    job = _create(call, first, "SAME", start_date=2000)
    _create(call, second, "SAME")
    # then an unknown target, an ambiguous idnumber and reversed dates are refused
    assert _reason(call(UPDATE, target={"id": 999999}, input={})) == UPDATE_NOT_FOUND
    assert _reason(call(UPDATE, target={"idnumber": "SAME"}, input={})) == NOT_SINGLE
    body = call(
        UPDATE,
        target={"idnumber": "SAME", "user": {"id": first}},
        input={"start_date": 2000, "end_date": 1000},
    )
    assert _reason(body) == "The start date can not be later than the end date."
    # and a duplicate idnumber for the same user is refused
    _create(call, first, "OTHER")
    body = call(UPDATE, target={"id": job["id"]}, input={"idnumber": "OTHER"})
    assert _reason(body) == (
        "Tried to update job assignment to an idnumber which is not unique for this user"
    )


# --- delete -----------------------------------------------------------------------------------
def test_delete_clears_the_links_of_its_staff(runtime, call):
    # given a manager's job managing one job and temporarily managing another
    boss, staff, temp_staff = (make_user(runtime) for _ in range(3))
    boss_job = _create(call, boss, "B1")
    managed = _create(call, staff, "S1", manager={"id": boss_job["id"]})
    temp = _create(
        call,
        temp_staff,
        "T1",
        temp_manager={"id": boss_job["id"]},
        temp_manager_expiry_date=FUTURE,
    )
    # when the manager's job is deleted
    body = call(DELETE, target={"idnumber": "B1", "user": {"id": boss}})
    assert body["data"]["totara_job_delete_job_assignment"] == {"job_assignment_id": boss_job["id"]}
    # then it is gone and nobody points at it any more
    assert call(ONE, target={"id": boss_job["id"]})["data"]["totara_job_job_assignment"] == {
        "found": False,
        "job_assignment": None,
    }
    staff_row = call(ONE, target={"id": managed["id"]})["data"]["totara_job_job_assignment"]
    assert staff_row["job_assignment"]["managerjaid"] is None
    temp_row = call(ONE, target={"id": temp["id"]})["data"]["totara_job_job_assignment"]
    assert temp_row["job_assignment"]["tempmanagerjaid"] is None


def test_delete_needs_a_single_match(runtime, call):
    first, second = make_user(runtime), make_user(runtime)
    _create(call, first, "SAME")
    _create(call, second, "SAME")
    assert _reason(call(DELETE, target={"idnumber": "SAME"})) == NOT_SINGLE
    assert _reason(call(DELETE, target={"id": 999999})) == NOT_SINGLE


def test_delete_for_user_removes_jobs_and_every_link_to_them(runtime, call):
    # given a user whose job manages another, and who appraises a third
    gone, staff = make_user(runtime), make_user(runtime)
    gone_job = _create(call, gone, "G1")
    managed = _create(
        call,
        staff,
        "S1",
        manager={"id": gone_job["id"]},
        appraiser={"id": gone},
        temp_manager={"id": gone_job["id"]},
        temp_manager_expiry_date=FUTURE,
    )
    # when the user's jobs are deleted with the user
    with runtime.engine.begin() as conn:
        jobs.delete_for_user(conn, gone)
    # then the user has no jobs and the other job keeps no link to them
    with runtime.engine.connect() as conn:
        left = conn.execute(select(job_assignments)).mappings().all()
    assert [int(r["id"]) for r in left] == [int(managed["id"])]
    row = left[0]
    assert (row["manager_ja_id"], row["temp_manager_ja_id"], row["temp_manager_expiry"]) == (
        None,
        None,
        None,
    )
    assert row["appraiser_id"] is None


def test_position_assignment_date_follows_changes_of_position(runtime, call, org):
    # given a job created with a position, its assignment date set back to 1
    job = _create(call, make_user(runtime), "J1", position={"id": org["position"]})
    job_id = int(job["id"])

    def stored() -> int:
        with runtime.engine.connect() as conn:
            query = select(job_assignments.c.positionassignmentdate)
            return int(conn.execute(query.where(job_assignments.c.id == job_id)).scalar_one())

    assert stored() > 1
    with runtime.engine.begin() as conn:
        conn.execute(
            update(job_assignments)
            .where(job_assignments.c.id == job_id)
            .values(positionassignmentdate=1)
        )
    # when the same position is given again, or another field changes, the date stays
    _update(call, job_id, position={"id": org["position"]}, fullname="Same")
    assert stored() == 1
    # when the position changes, it is dated now
    _update(call, job_id, position=None)
    assert stored() > 1


# --- a lost race ------------------------------------------------------------------------------
def test_a_create_refused_by_the_database_gets_totaras_message(runtime, call, monkeypatch):
    # given a holder with job assignment J1
    holder = make_user(runtime)
    _create(call, holder, "J1")
    # and the application's comparison missing the clash, so that only the database sees it
    monkeypatch.setattr(job_input, "same_idnumber", lambda a, b: False)
    # when another J1 is created for the holder, then Totara's message comes back
    assert _create_error(call, holder, idnumber="J1") == (
        "Tried to create job assignment idnumber which is not unique for this user"
    )
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(job_assignments.c.idnumber)).scalars().all()
    assert stored == ["J1"]


def test_an_update_refused_by_the_database_gets_totaras_message(runtime, call, monkeypatch):
    holder = make_user(runtime)
    _create(call, holder, "J1")
    second = _create(call, holder, "J2")
    monkeypatch.setattr(jobs, "check_changed", lambda *args: None)
    body = call(UPDATE, target={"id": second["id"]}, input={"idnumber": "J1"})
    assert _reason(body) == (
        "Tried to update job assignment to an idnumber which is not unique for this user"
    )
