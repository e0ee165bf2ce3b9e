"""Job assignment rules J1-J8 of the Totara 17.3 observed-behaviour document, and the rules of
saving that Totara's source adds where the document is silent."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select

from extapi.access import roles
from extapi.db.tables import hierarchy_frameworks, hierarchy_items, job_assignments
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_tenant, make_user

FIELDS = "id idnumber fullname shortname startdate enddate positionid organisationid managerjaid"
FIELDS += " tempmanagerjaid tempmanagerexpirydate appraiserid"
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
LIST = """
query ($query: totara_job_job_assignments_query) {
  totara_job_job_assignments(query: $query) {
    total next_cursor items { id fullname user { id } }
  }
}
"""
USERS = """
{ core_user_users(query: {pagination: {limit: 100}}) {
    items { id job_assignments { idnumber fullname } } } }
"""
PREFIX = "Coding error detected, it must be fixed by a programmer: "
FUTURE = int(time.time()) + 86400 * 30
Call = Callable[..., dict[str, Any]]


def _caller(runtime: Runtime, http: Any, tenant_id: int | None = None) -> Call:
    token = fetch_token(http, make_api_client(runtime, tenant_id=tenant_id))

    def run(document: str, **variables: Any) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document, "variables": variables}).json())

    return run


@pytest.fixture
def call(runtime: Runtime, http: Any) -> Call:
    return _caller(runtime, http)


def _reason(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    assert body["errors"][0]["message"] == "Internal server error"
    return str(body["errors"][0]["debugMessage"])


def _create(call: Call, user_id: int, idnumber: str = "J1", **fields: Any) -> dict[str, Any]:
    body = call(CREATE, input={"user": {"id": user_id}, "idnumber": idnumber, **fields})
    assert "errors" not in body, body
    return dict(body["data"]["totara_job_create_job_assignment"]["job_assignment"])


def _create_error(call: Call, user_id: int, idnumber: str = "J9", **fields: Any) -> str:
    return _reason(call(CREATE, input={"user": {"id": user_id}, "idnumber": idnumber, **fields}))


def _update(call: Call, job_id: Any, **fields: Any) -> dict[str, Any]:
    body = call(UPDATE, target={"id": job_id}, input=fields)
    assert "errors" not in body, body
    return dict(body["data"]["totara_job_update_job_assignment"]["job_assignment"])


def _update_error(call: Call, job_id: Any, **fields: Any) -> str:
    return _reason(call(UPDATE, target={"id": job_id}, input=fields))


def _item(runtime: Runtime, kind: str, idnumber: str) -> int:
    """A position or organisation in a framework of its own."""
    now = int(time.time())
    with runtime.engine.begin() as conn:
        framework = conn.execute(
            insert(hierarchy_frameworks),
            {
                "kind": kind,
                "idnumber": f"{kind}-fw-{idnumber}-{time.monotonic_ns()}",
                "fullname": kind,
                "timecreated": now,
                "timemodified": now,
            },
        ).inserted_primary_key[0]
        row = {
            "kind": kind,
            "framework_id": framework,
            "fullname": f"A {kind}",
            "idnumber": idnumber,
            "timecreated": now,
            "timemodified": now,
        }
        return int(conn.execute(insert(hierarchy_items), row).inserted_primary_key[0])


def _stored(runtime: Runtime, job_id: Any) -> dict[str, Any]:
    with runtime.engine.connect() as conn:
        query = select(job_assignments).where(job_assignments.c.id == int(job_id))
        return dict(conn.execute(query).mappings().one())


# --- J1 ---------------------------------------------------------------------------------------
def test_j1_fullname_defaults_to_unnamed_job_assignment_with_the_idnumber(runtime, call):
    # given a job created with only an idnumber
    holder = make_user(runtime)
    job = _create(call, holder, "JA2")
    # then its name is the stand-in, while nothing is stored
    assert job["fullname"] == "Unnamed job assignment (ID: JA2)"
    assert _stored(runtime, job["id"])["fullname"] is None
    # and a name given, then cleared with null or blanks, falls back to the current idnumber
    assert _update(call, job["id"], fullname="Engineer")["fullname"] == "Engineer"
    assert _update(call, job["id"], fullname=None)["fullname"] == "Unnamed job assignment (ID: JA2)"
    renamed = _update(call, job["id"], fullname=" \t ", idnumber="JA3")
    assert renamed["fullname"] == "Unnamed job assignment (ID: JA3)"
    # and the list and the user's job assignments show the same
    items = call(LIST)["data"]["totara_job_job_assignments"]["items"]
    assert [i["fullname"] for i in items] == ["Unnamed job assignment (ID: JA3)"]
    users = call(USERS)["data"]["core_user_users"]["items"]
    mine = next(u for u in users if u["id"] == str(holder))
    assert mine["job_assignments"] == [
        {"idnumber": "JA3", "fullname": "Unnamed job assignment (ID: JA3)"}
    ]


def test_j1_empty_shortname_reads_as_null(runtime, call):
    job = _create(call, make_user(runtime), "S1", shortname="")
    assert job["shortname"] is None


# --- J2 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"position": {"idnumber": "NOPE"}}, "Position reference not found"),
        ({"position": {"id": 999999999}}, "Position reference not found"),
        ({"position": {"idnumber": ""}}, "Position reference must resolve one record only"),
        ({"position": {"id": None}}, "Position reference columns are not being passed."),
        ({"organisation": {"idnumber": "NOPE"}}, "Organisation reference not found"),
        ({"organisation": {"idnumber": "P1"}}, "Organisation reference not found"),
        (
            {"organisation": {"idnumber": ""}},
            "Organisation reference must resolve one record only",
        ),
        (
            {"organisation": {"idnumber": None}},
            "Organisation reference columns are not being passed.",
        ),
        ({"appraiser": {"id": 999999999}}, "Appraiser reference not found"),
        ({"appraiser": {"username": "nobody-here"}}, "Appraiser reference not found"),
        ({"appraiser": {"id": None}}, "Appraiser reference must resolve one record only"),
        ({"appraiser": {"username": "guest"}}, "Guest user can not be specified for Appraiser."),
    ],
)
def test_j2_position_organisation_and_appraiser_reference_texts(runtime, call, fields, message):
    # given two positions and two organisations without an idnumber, one position P1, a guest
    for kind in ("position", "organisation"):
        _item(runtime, kind, "")
        _item(runtime, kind, "")
    _item(runtime, "position", "P1")
    make_user(runtime, "guest")
    holder = make_user(runtime)
    job = _create(call, holder, "J1")
    # then create and update both answer with Totara's reference text
    assert _create_error(call, holder, **fields) == message
    assert _update_error(call, job["id"], **fields) == message


def test_j2_a_user_the_caller_can_not_see_is_no_appraiser(runtime, http):
    # given a tenant client, a holder in its tenant and a user outside it
    tenant = make_tenant(runtime)
    call = _caller(runtime, http, tenant_id=tenant)
    holder = make_user(runtime, tenant_id=tenant)
    outsider = make_user(runtime)
    # then naming the outsider as appraiser is refused with Totara's text
    assert _create_error(call, holder, appraiser={"id": outsider}) == (
        "No capabilities to view user."
    )


# --- J3 ---------------------------------------------------------------------------------------
def test_j3_manager_references_resolve_by_id_and_idnumber_only(runtime, call):
    # given two users who each hold a job JA1, and a holder
    first, second, holder = make_user(runtime), make_user(runtime), make_user(runtime)
    boss_job = _create(call, first, "JA1")
    _create(call, second, "JA1")
    # then unknown and ambiguous references have their own texts
    assert _create_error(call, holder, manager={"idnumber": "NOJA"}) == (
        "Manager reference not found"
    )
    assert _create_error(call, holder, manager={"idnumber": "JA1"}) == (
        "Manager reference must resolve one record only"
    )
    # and the user sub-field does not narrow an ambiguous idnumber
    narrowed = {"idnumber": "JA1", "user": {"id": first}}
    assert _create_error(call, holder, manager=narrowed) == (
        "Manager reference must resolve one record only"
    )
    # and a reference with only a user, or only nulls, names no usable column
    assert _create_error(call, holder, manager={"user": {"id": first}}) == (
        "Manager reference columns are not being passed."
    )
    assert _create_error(call, holder, manager={"id": None, "idnumber": None}) == (
        "Manager reference columns are not being passed."
    )
    # and the temporary manager has the same texts under its own name
    temp = {"temp_manager": {"id": 999999999}, "temp_manager_expiry_date": FUTURE}
    assert _create_error(call, holder, **temp) == "Temporary manager reference not found"
    # while the id picks the manager's job
    assert (
        _create(call, holder, "J2", manager={"id": boss_job["id"]})["managerjaid"]
        == (boss_job["id"])
    )


def test_j3_a_holder_outside_the_callers_tenant_is_not_found(runtime, http, call):
    # given a system user's job, and a tenant client with a holder in its tenant
    system_job = _create(call, make_user(runtime), "SYS")
    tenant = make_tenant(runtime)
    tenant_call = _caller(runtime, http, tenant_id=tenant)
    holder = make_user(runtime, tenant_id=tenant)
    # then the tenant client naming the system user's job hears its holder is not found
    assert _create_error(tenant_call, holder, manager={"id": system_job["id"]}) == (
        "Manager user reference not found"
    )
    temp = {"temp_manager": {"id": system_job["id"]}, "temp_manager_expiry_date": FUTURE}
    assert _create_error(tenant_call, holder, **temp) == (
        "Temporary manager user reference not found"
    )


def test_j3_only_a_temporary_manager_needs_the_right_to_delegate(runtime, call):
    # given a role without the delegation capability
    boss, holder = make_user(runtime), make_user(runtime)
    boss_job = _create(call, boss, "B1")
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/core:delegateusersmanager", -1)
    # then a manager alone is set
    assert _create(call, holder, "J1", manager={"id": boss_job["id"]})["managerjaid"]
    # but a temporary manager, or only its expiry date, is refused before any lookup
    denied = "You do not have permission to delegate a manager."
    temp = {"temp_manager": {"id": 999999999}, "temp_manager_expiry_date": FUTURE}
    assert _create_error(call, holder, **temp) == denied
    assert _create_error(call, holder, temp_manager_expiry_date=FUTURE) == denied
    assert _create_error(call, holder, temp_manager=None) == denied


# --- J4 ---------------------------------------------------------------------------------------
def test_j4_an_empty_reference_object_means_none(runtime, call):
    # given a job with every link set
    holder, boss, appraiser = make_user(runtime), make_user(runtime), make_user(runtime)
    position, organisation = _item(runtime, "position", "P1"), _item(runtime, "organisation", "O1")
    boss_job = _create(call, boss, "B1")
    empties = {
        "position": {},
        "organisation": {},
        "manager": {},
        "temp_manager": {},
        "appraiser": {},
    }
    # when a job is created with empty references, then it is created with no links
    created = _create(call, holder, "E9", **empties)
    assert [created[k] for k in ("positionid", "organisationid", "managerjaid")] == [None] * 3
    assert created["tempmanagerjaid"] is created["appraiserid"] is None
    # and an update with empty references clears every link, the expiry date included
    linked = _create(
        call,
        holder,
        "L1",
        position={"id": position},
        organisation={"id": organisation},
        manager={"id": boss_job["id"]},
        temp_manager={"id": boss_job["id"]},
        temp_manager_expiry_date=FUTURE,
        appraiser={"id": appraiser},
    )
    assert linked["positionid"] == str(position) and linked["tempmanagerjaid"]
    cleared = _update(call, linked["id"], **empties)
    for field in (
        "positionid",
        "organisationid",
        "managerjaid",
        "tempmanagerjaid",
        "tempmanagerexpirydate",
        "appraiserid",
    ):
        assert cleared[field] is None, field


def test_j4_an_empty_temporary_manager_ignores_the_expiry_date_given_with_it(runtime, call):
    job = _create(call, make_user(runtime), "T1", temp_manager={}, temp_manager_expiry_date=1000)
    assert job["tempmanagerjaid"] is job["tempmanagerexpirydate"] is None


# --- J5 ---------------------------------------------------------------------------------------
def test_j5_idnumber_rules_and_texts_on_create(runtime, call):
    holder, other = make_user(runtime), make_user(runtime)
    # an empty idnumber is refused, but blanks and "0" are idnumbers
    assert _create_error(call, holder, "") == (
        "ID Number is required when creating new job assignment"
    )
    assert _create(call, holder, "  ")["idnumber"] == "  "
    assert _create(call, holder, "0")["idnumber"] == "0"
    # the same idnumber for the same user is refused, but not for another user
    _create(call, holder, "JA1")
    assert _create_error(call, holder, "JA1") == (
        "Tried to create job assignment idnumber which is not unique for this user"
    )
    assert _create(call, other, "JA1")["idnumber"] == "JA1"


def test_j5_idnumber_rules_and_texts_on_update(runtime, call):
    holder = make_user(runtime)
    job = _create(call, holder, "JA1")
    _create(call, holder, "JA2")
    empty = "Tried to update job assignment idnumber to an empty value which is not allowed"
    assert _update_error(call, job["id"], idnumber=None) == empty
    assert _update_error(call, job["id"], idnumber="") == empty
    assert _update_error(call, job["id"], idnumber="JA2") == (
        "Tried to update job assignment to an idnumber which is not unique for this user"
    )
    # keeping the current value is fine
    assert _update(call, job["id"], idnumber="JA1", fullname="Kept")["idnumber"] == "JA1"


def test_j5_idnumber_is_checked_after_every_reference(runtime, call):
    holder = make_user(runtime)
    job = _create(call, holder, "JA1")
    assert _create_error(call, holder, "", position={"idnumber": "NOPE"}) == (
        "Position reference not found"
    )
    assert _create_error(call, holder, "JA1", start_date=2000, end_date=1000) == (
        "The start date can not be later than the end date."
    )
    assert _update_error(call, job["id"], idnumber="", manager={"idnumber": "NOJA"}) == (
        "Manager reference not found"
    )
    assert _update_error(call, job["id"], idnumber=None, appraiser={"id": 999999999}) == (
        "Appraiser reference not found"
    )


# --- J6 ---------------------------------------------------------------------------------------
def test_j6_dates_are_compared_only_when_both_are_in_the_same_input(runtime, call):
    # given a job that ends at 2000000000
    job = _create(call, make_user(runtime), "D1", end_date=2000000000)
    # when only the start date is moved past the stored end, then it is accepted
    moved = _update(call, job["id"], start_date=2100000000)
    assert (moved["startdate"], moved["enddate"]) == ("2100000000", "2000000000")
    # and only the end date moved before the stored start is accepted too
    assert _update(call, job["id"], end_date=1000)["enddate"] == "1000"
    # but both in one input are compared
    assert _update_error(call, job["id"], start_date=3000, end_date=2000) == (
        "The start date can not be later than the end date."
    )


# --- J7 ---------------------------------------------------------------------------------------
def _list_error(call: Call, **query: Any) -> str:
    return _reason(call(LIST, query=query))


@pytest.mark.parametrize("column", ["", "0"])
def test_j7_an_empty_sort_column_is_a_coding_error_checked_before_rights(runtime, call, column):
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "moodle/user:viewdetails", -1)
        roles.set_permission(conn, "apiuser", "moodle/user:viewalldetails", -1)
    assert _list_error(call, sort=[{"column": column}]) == (
        PREFIX + "Required parameter 'sort.column' not being passed"
    )


@pytest.mark.parametrize("column", ["fullname", "enddate", "ID", " id", "userid "])
def test_j7_an_unknown_sort_column_is_a_coding_error(runtime, call, column):
    assert _list_error(call, sort=[{"column": column}]) == PREFIX + "Unknown sort column"
    # and it is checked before the cursor is read
    bad_cursor = {"cursor": "%%%"}
    assert _list_error(call, sort=[{"column": column}], pagination=bad_cursor) == (
        PREFIX + "Unknown sort column"
    )


def test_j7_an_unknown_sort_column_is_checked_after_rights(runtime, call):
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "moodle/user:viewdetails", -1)
        roles.set_permission(conn, "apiuser", "moodle/user:viewalldetails", -1)
    assert _list_error(call, sort=[{"column": "fullname"}]) == (
        "Sorry, but you do not currently have permissions to do that (view job assignments)"
    )


def test_j7_only_the_first_sort_element_counts(runtime, call):
    holder = make_user(runtime)
    first, second = _create(call, holder, "A"), _create(call, holder, "B")
    sort = [{"column": "id", "direction": "DESC"}, {"column": "nonsense"}]
    items = call(LIST, query={"sort": sort})["data"]["totara_job_job_assignments"]["items"]
    assert [i["id"] for i in items] == [second["id"], first["id"]]


# --- J8 ---------------------------------------------------------------------------------------
def test_j8_tenant_isolation_does_not_narrow_the_job_assignment_list(runtime, http, call):
    # given jobs of users in tenants A and B and of a system user, with isolation on
    tenant_a, tenant_b = make_tenant(runtime), make_tenant(runtime)
    in_a = _create(call, make_user(runtime, tenant_id=tenant_a), "A")
    in_b = _create(call, make_user(runtime, tenant_id=tenant_b), "B")
    system = _create(call, make_user(runtime), "S")
    with runtime.engine.begin() as conn:
        set_setting(conn, "tenantsisolated", "1")
    # then the system client lists all three, and each holder resolves
    page = call(LIST)["data"]["totara_job_job_assignments"]
    assert [i["id"] for i in page["items"]] == [in_a["id"], in_b["id"], system["id"]]
    assert page["total"] == 3 and all(i["user"] for i in page["items"])
    # while a tenant client still sees only its own tenant's
    tenant_page = _caller(runtime, http, tenant_id=tenant_a)(LIST)
    assert [i["id"] for i in tenant_page["data"]["totara_job_job_assignments"]["items"]] == [
        in_a["id"]
    ]


# --- the rules of saving (Totara's job assignment class) --------------------------------------
def test_temporary_manager_and_expiry_date_must_come_together(runtime, call):
    holder, boss = make_user(runtime), make_user(runtime)
    boss_job = _create(call, boss, "B1")
    assert _create_error(call, holder, temp_manager={"id": boss_job["id"]}) == (
        "A temporary manager expiry date is required."
    )
    assert _create_error(call, holder, temp_manager_expiry_date=FUTURE) == (
        "Temporary manager and expiry date must either both be provided or both be empty in "
        "job_assignment::create"
    )
    job = _create(
        call, holder, "J1", temp_manager={"id": boss_job["id"]}, temp_manager_expiry_date=FUTURE
    )
    assert _update_error(call, job["id"], temp_manager_expiry_date=FUTURE + 60) == (
        "Temporary manager and expiry date must either both be provided or both be empty in "
        "job_assignment::update_internal"
    )
    assert _update_error(call, job["id"], temp_manager={"id": boss_job["id"]}) == (
        "A temporary manager expiry date is required."
    )


def test_a_manager_chain_may_not_loop(runtime, call):
    # given A managing B, who manages C
    a, b, c = (make_user(runtime) for _ in range(3))
    job_a = _create(call, a, "A")
    job_b = _create(call, b, "B", manager={"id": job_a["id"]})
    job_c = _create(call, c, "C", manager={"id": job_b["id"]})
    # then A can not be managed by C
    assert _update_error(call, job_a["id"], manager={"id": job_c["id"]}) == (
        "Tried to create a manager path loop in job_assignment::calculate_managerjapath"
    )
    assert _stored(runtime, job_a["id"])["manager_ja_id"] is None


def test_idnumbers_compare_as_php_does(runtime, call):
    # Totara compares a new idnumber with the user's others with PHP's loose ==
    holder = make_user(runtime)
    _create(call, holder, "1")
    taken = "Tried to create job assignment idnumber which is not unique for this user"
    assert _create_error(call, holder, "01") == taken
    assert _create_error(call, holder, "1.0") == taken
    assert _create(call, holder, "1a")["idnumber"] == "1a"


RAW = """
{ totara_job_job_assignments { items {
    fullname(format: RAW) shortname(format: RAW) plain: fullname
    description html: description(format: HTML) raw: description(format: RAW)
} } }
"""


def test_raw_job_texts_need_the_right_to_edit_the_holders_jobs(runtime, call):
    # (and a job assignment's description is never null: Totara loads a missing one as "")
    # given a job with names
    _create(call, make_user(runtime), "R1", fullname="Boss & co", shortname="b")
    # then RAW shows them to a client that may edit job assignments
    items = call(RAW)["data"]["totara_job_job_assignments"]["items"]
    texts = {"fullname": "Boss & co", "shortname": "b", "plain": "Boss & co"}
    assert items == [{**texts, "description": "", "html": "", "raw": ""}]
    # but not to one that may only view them
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/hierarchy:assignuserposition", -1)
    items = call(RAW)["data"]["totara_job_job_assignments"]["items"]
    hidden = {"fullname": None, "shortname": None, "plain": "Boss & co"}
    assert items == [{**hidden, "description": "", "html": "", "raw": None}]


LINKS = """
{ totara_job_job_assignments { items {
    positionid position { id } organisationid organisation { id }
} } }
"""


def test_position_and_organisation_need_their_view_capability(runtime, call):
    # given a job with a position and an organisation
    position, organisation = _item(runtime, "position", "P1"), _item(runtime, "organisation", "O1")
    _create(
        call, make_user(runtime), "J1", position={"id": position}, organisation={"id": organisation}
    )
    linked = {
        "positionid": str(position),
        "position": {"id": str(position)},
        "organisationid": str(organisation),
        "organisation": {"id": str(organisation)},
    }
    assert call(LINKS)["data"]["totara_job_job_assignments"]["items"] == [linked]
    # when the caller may no longer view positions, then the position reads as none
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/hierarchy:viewposition", -1)
    no_position = {**linked, "positionid": None, "position": None}
    assert call(LINKS)["data"]["totara_job_job_assignments"]["items"] == [no_position]
    # and the same for organisations
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/hierarchy:vieworganisation", -1)
    neither = {**no_position, "organisationid": None, "organisation": None}
    assert call(LINKS)["data"]["totara_job_job_assignments"]["items"] == [neither]
