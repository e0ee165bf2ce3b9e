"""core_user_users: pagination, sorting, filters, visibility and formats, as in Totara."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from sqlalchemy import update

from extapi.access import roles
from extapi.db.tables import users
from extapi.errors import CODING_ERROR_PREFIX
from extapi.people.users import set_suspended, soft_delete
from tests.factories import fetch_token, graphql, make_api_client, make_user

LIST = """
query list_users($query: core_user_users_query) {
  core_user_users(query: $query) { total next_cursor items { id username } }
}
"""


@pytest.fixture
def people(runtime, client) -> list[int]:
    """Five users besides the service account, created with distinct names and times."""
    ids = [
        make_user(runtime, name, firstname=first, lastname=last)
        for name, first, last in [
            ("amy", "Amy", "Zed"),
            ("bob", "Bob", "Young"),
            ("cat", "Cat", "Young"),
            ("dan", "Dan", "Adams"),
            ("eve", "Eve", "Brown"),
        ]
    ]
    with runtime.engine.begin() as conn:
        for offset, user_id in enumerate(ids):
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(timecreated=1000 + offset, timemodified=2000 + offset)
            )
    return ids


def _page(body: dict[str, Any]) -> dict[str, Any]:
    assert "data" in body, body
    return body["data"]["core_user_users"]


def _walk(call, query: dict[str, Any]) -> list[str]:
    names: list[str] = []
    cursor = None
    while True:
        pagination = {**query.get("pagination", {}), "cursor": cursor}
        page = _page(call(LIST, query={**query, "pagination": pagination}))
        names += [u["username"] for u in page["items"]]
        if page["next_cursor"] == "":
            return names
        cursor = page["next_cursor"]


def _reason(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["debugMessage"])


def test_default_page_is_twenty_by_id(runtime, call, client):
    for i in range(25):
        make_user(runtime, f"bulk{i:02d}")
    page = _page(call(LIST))
    assert page["total"] == 26
    assert len(page["items"]) == 20
    ids = [int(u["id"]) for u in page["items"]]
    assert ids == sorted(ids)
    decoded = json.loads(base64.b64decode(page["next_cursor"]))
    assert decoded == {"limit": 20, "columns": {"id": ids[-1]}}


def test_cursor_walk_returns_everyone_once(call, people):
    names = _walk(call, {"pagination": {"limit": 2}})
    assert len(names) == 6 and len(set(names)) == 6


def test_cursor_limit_wins_over_a_new_limit(call, people):
    first = _page(call(LIST, query={"pagination": {"limit": 2}}))
    second = _page(call(LIST, query={"pagination": {"limit": 5, "cursor": first["next_cursor"]}}))
    assert len(second["items"]) == 2


@pytest.mark.parametrize("limit", [0, -1])
def test_zero_or_negative_limit_returns_everyone(call, people, limit):
    page = _page(call(LIST, query={"pagination": {"limit": limit}}))
    assert len(page["items"]) == 6 and page["next_cursor"] == ""


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ({"column": "lastname"}, ["dan", "eve"]),
        ({"column": "lastname", "direction": "DESC"}, ["amy"]),
        ({"column": "firstname"}, ["amy", "bob"]),
        ({"column": "username", "direction": "DESC"}, None),
        ({"column": "timemodified", "direction": "DESC"}, None),
    ],
)
def test_sorting(call, people, sort, expected):
    names = _walk(call, {"sort": [sort], "pagination": {"limit": 2}})
    if expected:
        assert names[: len(expected)] == expected
    assert len(names) == 6
    if sort["column"] == "username":
        assert names == sorted(names, reverse=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"sort": [{"column": "id"}, {"column": "username"}]},
            "Sorting by more than one column is not currently supported.",
        ),
        (
            {"sort": [{"column": "email"}]},
            CODING_ERROR_PREFIX
            + "sort field must be one of these: id, firstname, lastname, username, timemodified",
        ),
        (
            {"pagination": {"cursor": "%%%"}},
            CODING_ERROR_PREFIX + "Invalid cursor given, expected base64 encoded string",
        ),
        (
            {"pagination": {"cursor": base64.b64encode(b"[1,2]").decode()}},
            CODING_ERROR_PREFIX + "You must provide a limit within your cursor.",
        ),
    ],
)
def test_bad_queries_give_totaras_messages(call, people, query, message):
    assert _reason(call(LIST, query=query)) == message


def test_cursor_must_match_the_order(call, people):
    first = _page(call(LIST, query={"pagination": {"limit": 2}}))
    body = call(
        LIST,
        query={"pagination": {"cursor": first["next_cursor"]}, "sort": [{"column": "lastname"}]},
    )
    assert _reason(body) == CODING_ERROR_PREFIX + "Order of query does not match given cursor"


def test_status_filter(runtime, call, people):
    with runtime.engine.begin() as conn:
        set_suspended(conn, people[0], True)
    default = _page(call(LIST, query={"pagination": {"limit": 0}}))
    assert "amy" in [u["username"] for u in default["items"]]  # Totara 17.3 (rule U1)
    active = _page(call(LIST, query={"filters": {"status": "ACTIVE"}}))
    assert "amy" not in [u["username"] for u in active["items"]]
    suspended = _page(call(LIST, query={"filters": {"status": "SUSPENDED"}}))
    assert [u["username"] for u in suspended["items"]] == ["amy"]
    everyone = _page(call(LIST, query={"filters": {"status": "ALL"}, "pagination": {"limit": 0}}))
    assert everyone["total"] == 6


def test_delta_filters(call, people):
    # the service account was created just now, so it matches both filters too
    mine = {"amy", "bob", "cat", "dan", "eve"}
    since = {"filters": {"since_timemodified": 2003}, "pagination": {"limit": 0}}
    found = [u["username"] for u in _page(call(LIST, query=since))["items"]]
    assert [n for n in found if n in mine] == ["dan", "eve"] and len(found) == 3
    created = {"filters": {"since_timecreated": "1970-01-01T00:16:43Z"}}
    found = [u["username"] for u in _page(call(LIST, query=created))["items"]]
    assert [n for n in found if n in mine] == ["dan", "eve"] and len(found) == 3


def test_deleted_users_never_appear(runtime, call, people):
    with runtime.engine.begin() as conn:
        soft_delete(conn, people[1])
    page = _page(call(LIST, query={"filters": {"status": "ALL"}, "pagination": {"limit": 0}}))
    assert "bob" not in [u["username"] for u in page["items"]]
    assert page["total"] == 5


def test_listing_needs_viewalldetails(runtime, http, people):
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "blind", "Blind")
        roles.set_permission(conn, "blind", "moodle/user:create", roles.ALLOW)
    token = fetch_token(http, make_api_client(runtime, role="blind"))
    body = graphql(http, token, {"query": LIST}).json()
    assert body["errors"][0]["debugMessage"] == "You do not have capabilities to view users."


FIELDS = """
{ core_user_users(query: {pagination: {limit: 0}}) { items {
    id username fullname firstname lastname email idnumber phone1 city
    country suspended timezone lang theme interests firstaccess lastaccess(format: ISO8601)
    description(format: HTML) descriptionformat profileimageurl profileimageurlsmall
    profileimagealt card_display { profile_url display_fields { label value } }
    custom_fields { shortname } job_assignments { id }
} } }
"""


def test_every_field_resolves(runtime, call, people):
    with runtime.engine.begin() as conn:
        roles.assign_role(conn, "apiuser", people[1], None)
        conn.execute(
            update(users)
            .where(users.c.id == people[1])
            .values(description="<b>Hi</b> <script>x()</script>")
        )
        conn.execute(
            update(users)
            .where(users.c.id == people[0])
            .values(
                country="NZ",
                phone1="021 555",
                description="<b>Hi</b> <script>x()</script>",
                firstaccess=1662026813,
                lastaccess=1662026813,
            )
        )
    items = {u["username"]: u for u in _page(call(FIELDS))["items"]}
    amy = items["amy"]
    assert amy["fullname"] == "Amy Zed"
    assert amy["country"] == "New Zealand"
    assert amy["phone1"] == "021 555"
    assert amy["firstaccess"] == "1662026813"
    assert amy["lastaccess"] == "2022-09-01T10:06:53+0000"
    assert amy["description"] is None  # amy holds no role (rule U10)
    assert re.search(
        r"/theme/image\.php/_s/ventura/core/[1-9][0-9]{9}/u/f1$", amy["profileimageurl"]
    )
    assert amy["card_display"]["profile_url"].endswith(f"/user/profile.php?id={people[0]}")
    assert amy["job_assignments"] == []
    assert amy["email"] is None
    assert items["bob"]["description"] == "<b>Hi</b> "


def test_fields_without_viewalldetails_are_null(runtime, http):
    # given a tenant client that may list participants but not view all details
    from tests.factories import make_tenant

    tenant_id = make_tenant(runtime, "acme")
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "lister", "Lister")
        roles.set_permission(conn, "lister", "totara/tenant:viewparticipants", roles.ALLOW)
    make_user(runtime, "member", tenant_id=tenant_id, idnumber="M1")
    client = make_api_client(runtime, tenant_id=tenant_id, role="lister")
    token = fetch_token(http, client)
    # when it lists its tenant
    query = "{ core_user_users { items { username firstname idnumber suspended } } }"
    body = graphql(http, token, {"query": query}).json()
    items = body["data"]["core_user_users"]["items"]
    # then both tenant users show; the other member's identity details are null, while the
    # service account's own record shows in full
    assert len(items) == 2
    member = next(u for u in items if u["username"] is None)
    assert member == {"username": None, "firstname": "Test", "idnumber": None, "suspended": None}
    assert any(u["username"] and u["suspended"] is False for u in items)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("PLAIN", "HI & bye"), ("HTML", "<b>Hi</b> &amp; bye"), ("RAW", "<b>Hi</b> &amp; bye")],
)
def test_description_formats(runtime, call, people, fmt, expected):
    with runtime.engine.begin() as conn:
        roles.assign_role(conn, "apiuser", people[0], None)
        conn.execute(
            update(users).where(users.c.id == people[0]).values(description="<b>Hi</b> &amp; bye")
        )
    query = f"{{ core_user_users {{ items {{ username description(format: {fmt}) }} }} }}"
    items = {u["username"]: u for u in _page(call(query))["items"]}
    assert items["amy"]["description"] == expected


def test_text_fields_are_returned_as_stored_whatever_the_format(runtime, call, people):
    # given a city holding markup (stored directly: the API strips tags when it saves)
    with runtime.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == people[0]).values(city="A <b> & C"))
    # when it is read in HTML and in the default PLAIN format
    query = "{ core_user_users { items { username city(format: HTML) plain: city } } }"
    items = {u["username"]: u for u in _page(call(query))["items"]}
    # then both are the stored text: Totara's user type ignores the format of such fields
    assert items["amy"]["city"] == "A <b> & C"
    assert items["amy"]["plain"] == "A <b> & C"


def test_fullname_and_card_values_are_cleaned_strings(runtime, call, people):
    # given a user whose name holds characters that HTML treats specially
    with runtime.engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == people[0])
            .values(firstname="Bold", lastname="O'Brien & Co")
        )
    # when the full name is read in PLAIN and HTML
    query = "{ core_user_users { items { username fullname html: fullname(format: HTML) } } }"
    items = {u["username"]: u for u in _page(call(query))["items"]}
    # then PLAIN is the text and HTML writes the risky characters as numeric entities
    assert items["amy"]["fullname"] == "Bold O'Brien & Co"
    assert items["amy"]["html"] == "Bold O&#39;Brien &#38; Co"
