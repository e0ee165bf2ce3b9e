"""Rules U1-U13, E1 (users list and user create/update texts) and F1 of the Totara 17.3 rules."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from extapi.access import roles
from extapi.dates import format_date
from extapi.db.tables import site_settings, users
from extapi.errors import CODING_ERROR_PREFIX
from extapi.people import profile_fields
from tests.factories import ApiClient, fetch_token, graphql, make_api_client

USER_FIELDS = "id username firstname lastname fullname email suspended country theme"
CREATE = f"""
mutation create_user($input: core_user_create_user_input!) {{
  core_user_create_user(input: $input) {{ user {{ {USER_FIELDS} }} }}
}}
"""
UPDATE = f"""
mutation update_user($target: core_user_user_reference!, $input: core_user_update_user_input!) {{
  core_user_update_user(target_user: $target, input: $input) {{ user {{ {USER_FIELDS} }} }}
}}
"""
LIST = """
query list($query: core_user_users_query) {
  core_user_users(query: $query) { items { id username firstname suspended } total next_cursor }
}
"""
PASSWORD = "Passw0rd!"
Call = Callable[..., dict[str, Any]]


def _new(username: str, **fields: Any) -> dict[str, Any]:
    base = {
        "username": username,
        "email": f"{username}@example.com",
        "firstname": "First",
        "lastname": "Last",
        "password": PASSWORD,
    }
    return {**base, **fields}


def _reason(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    assert body["errors"][0]["message"] == "Internal server error"
    return str(body["errors"][0]["debugMessage"])


def _created(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return dict(body["data"]["core_user_create_user"]["user"])


def _updated(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return dict(body["data"]["core_user_update_user"]["user"])


def _listed(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return dict(body["data"]["core_user_users"])


@pytest.fixture
def client(runtime) -> ApiClient:
    return make_api_client(runtime)


def _caller(http, client: ApiClient) -> Call:
    token = fetch_token(http, client)

    def run(document: str, **variables: Any) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document, "variables": variables}).json())

    return run


@pytest.fixture
def call(http, client) -> Call:
    return _caller(http, client)


def _all_users(call: Call, **query: Any) -> dict[str, Any]:
    return _listed(call(LIST, query={"pagination": {"limit": 0}, **query}))


# --- U1 ----------------------------------------------------------------------------------------
def test_u1_suspended_users_are_listed_and_counted(call):
    # given the list before a suspended user is created
    before = _all_users(call)["total"]
    # when a suspended user is created
    _created(call(CREATE, input=_new("susp", suspended=True)))
    # then the list without filters shows and counts it
    page = _all_users(call)
    assert {"username": "susp", "suspended": True} in [
        {"username": u["username"], "suspended": u["suspended"]} for u in page["items"]
    ]
    assert page["total"] == before + 1


def test_u1_status_filter_of_later_versions_still_narrows(call):
    # given an active and a suspended user
    _created(call(CREATE, input=_new("susp", suspended=True)))
    _created(call(CREATE, input=_new("act")))
    # when the later filters are given, they narrow the list
    active = [u["username"] for u in _all_users(call, filters={"status": "ACTIVE"})["items"]]
    suspended = [u["username"] for u in _all_users(call, filters={"status": "SUSPENDED"})["items"]]
    everyone = [u["username"] for u in _all_users(call, filters={"status": "ALL"})["items"]]
    assert "susp" not in active and "act" in active
    assert suspended == ["susp"]
    assert {"susp", "act"} <= set(everyone)
    # and a filter without a status keeps 17.3's answer
    since = [u["username"] for u in _all_users(call, filters={"since_timecreated": 1})["items"]]
    assert "susp" in since


# --- U2 ----------------------------------------------------------------------------------------
def test_u2_sort_columns_are_trimmed_and_lower_cased(call):
    # given users whose first names sort differently from their ids
    for username, first in (("u1", "Cat"), ("u2", "Amy"), ("u3", "Bob")):
        _created(call(CREATE, input=_new(username, firstname=first)))
    # when sorted by "FIRSTNAME" and by " firstname , ID "
    upper = _all_users(call, sort=[{"column": "FIRSTNAME", "direction": "ASC"}])["items"]
    pair = _all_users(call, sort=[{"column": " firstname , ID "}])["items"]
    # then both sort by first name (then id)
    names = [u["firstname"] for u in upper]
    assert names == sorted(names)
    assert [u["id"] for u in pair] == [u["id"] for u in upper]


def test_u2_both_columns_take_the_direction(call):
    for username in ("d1", "d2"):
        _created(call(CREATE, input=_new(username, firstname="Same")))
    items = _all_users(call, sort=[{"column": "firstname,id", "direction": "DESC"}])["items"]
    same = [int(u["id"]) for u in items if u["firstname"] == "Same"]
    assert same == sorted(same, reverse=True)


def test_u2_a_cursor_walk_with_two_columns(call):
    for username in ("w1", "w2", "w3"):
        _created(call(CREATE, input=_new(username, firstname="Walk")))
    sort = [{"column": "firstname, id"}]
    seen: list[str] = []
    body = call(LIST, query={"sort": sort, "pagination": {"limit": 2}})
    while True:
        page = _listed(body)
        seen += [u["username"] for u in page["items"]]
        if not page["next_cursor"]:
            break
        body = call(LIST, query={"sort": sort, "pagination": {"cursor": page["next_cursor"]}})
    assert len(seen) == len(set(seen)) == page["total"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"sort": [{"column": "id"}, {"column": "email"}], "pagination": {"cursor": "%%%"}},
            "Sorting by more than one column is not currently supported.",
        ),
        (
            {"sort": [{"column": ""}], "pagination": {"cursor": "%%%"}},
            "Required parameter 'column' not being passed.",
        ),
        (
            {"sort": [{"column": "0"}], "pagination": {"cursor": "%%%"}},
            "Required parameter 'column' not being passed.",
        ),
        (
            {"sort": [{"column": "email"}], "pagination": {"cursor": "%%%"}},
            CODING_ERROR_PREFIX + "Invalid cursor given, expected base64 encoded string",
        ),
    ],
)
def test_u2_checks_run_in_totaras_order(call, query, message):
    assert _reason(call(LIST, query=query)) == message


def test_u2_cursor_before_capability_before_column_names(runtime, http):
    # given a client without the right to list users
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "nobody", "Nobody")
    call = _caller(http, make_api_client(runtime, role="nobody"))
    # then a bad cursor is reported before the capability, and the capability before a column
    bad_cursor = {"sort": [{"column": "email"}], "pagination": {"cursor": "%%%"}}
    assert _reason(call(LIST, query=bad_cursor)).endswith("expected base64 encoded string")
    bad_column = {"sort": [{"column": "email"}]}
    assert _reason(call(LIST, query=bad_column)) == "You do not have capabilities to view users."


# --- E1 ----------------------------------------------------------------------------------------
def test_e1_users_sort_error_has_the_coding_error_prefix(call):
    body = call(LIST, query={"sort": [{"column": "email"}]})
    assert _reason(body) == (
        "Coding error detected, it must be fixed by a programmer: "
        "sort field must be one of these: id, firstname, lastname, username, timemodified"
    )


def test_e1_texts_without_the_prefix_stay_bare(call):
    body = call(LIST, query={"sort": [{"column": "id"}, {"column": "id"}]})
    assert _reason(body) == "Sorting by more than one column is not currently supported."


# --- U3 ----------------------------------------------------------------------------------------
def test_u3_names_are_stored_untrimmed_and_fullname_is_tidied(runtime, call):
    # given a user created with padded names
    user = _created(call(CREATE, input=_new("padded", firstname="  Padded  ", lastname=" Name ")))
    # then the names come back as given and the full name is tidied
    assert (user["firstname"], user["lastname"]) == ("  Padded  ", " Name ")
    assert user["fullname"] == "Padded Name"
    with runtime.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "padded")).mappings().one()
    assert (row["firstname"], row["lastname"]) == ("  Padded  ", " Name ")
    # and the user sorts before "A..." by first name
    _created(call(CREATE, input=_new("alpha", firstname="Alpha")))
    items = _all_users(call, sort=[{"column": "firstname"}])["items"]
    order = [u["username"] for u in items]
    assert order.index("padded") < order.index("alpha")


def test_u3_blank_check_trims(call):
    assert _reason(call(CREATE, input=_new("blank", firstname="   "))) == (
        "Firstname can not be blank"
    )


# --- U4 ----------------------------------------------------------------------------------------
def test_u4_tags_are_stripped_from_name_like_fields(call):
    # given a user created with tags in name-like fields
    names = {"firstname": "<b>Bold</b>", "lastname": "O'Brien & Co"}
    user = _created(call(CREATE, input=_new("tags", **names)))
    # then the stored first name has no tags, entities and & kept
    assert user["firstname"] == "Bold"
    assert user["fullname"] == "Bold O'Brien & Co"
    query = """{ core_user_users(query: {pagination: {limit: 0}}) { items {
        username raw: firstname(format: RAW) html: firstname(format: HTML) } } }"""
    row = next(u for u in _listed(call(query))["items"] if u["username"] == "tags")
    assert (row["raw"], row["html"]) == ("Bold", "Bold")


def test_u4_text_fields_keep_well_formed_multilang_spans(call):
    multilang = (
        '<span lang="en" class="multilang">City</span>'
        '<span lang="fr" class="multilang">Ville</span>'
    )
    fields = {
        "city": multilang + "<i>!</i>",
        "department": "<p>Sales</p>",
        "phone1": "<b>021</b>",
        "middlename": "<em>M</em>",
    }
    _created(call(CREATE, input=_new("multi", **fields)))
    query = """{ core_user_users(query: {pagination: {limit: 0}}) { items {
        username city(format: RAW) department(format: RAW) phone1(format: RAW)
        middlename(format: RAW) } } }"""
    row = next(u for u in _listed(call(query))["items"] if u["username"] == "multi")
    assert row["city"] == multilang + "!"
    assert row["department"] == "Sales"
    assert row["phone1"] == "021"
    assert row["middlename"] == "M"


def test_u4_update_strips_tags_too(call):
    _created(call(CREATE, input=_new("later")))
    user = _updated(call(UPDATE, target={"username": "later"}, input={"firstname": "<i>It</i>"}))
    assert user["firstname"] == "It"


def test_u4_length_is_checked_on_the_raw_value(call):
    # 100 letters plus tags: the raw input is too long even though the stripped value is not
    raw = "<b>" + "a" * 98 + "</b>"
    assert _reason(call(CREATE, input=_new("long", firstname=raw))) == (
        f"Field {raw} should be less than 100 characters"
    )


def test_u4_lengths_are_checked_in_totaras_field_order(call):
    # given two phonetic names that are both too long
    fields = {"firstnamephonetic": "f" * 256, "lastnamephonetic": "l" * 256}
    # then the last name's is reported first, as Totara orders its checks
    assert _reason(call(CREATE, input=_new("phon", **fields))) == (
        f"Field {'l' * 256} should be less than 255 characters"
    )


# --- U5 ----------------------------------------------------------------------------------------
def test_u5_email_uniqueness_is_exact(runtime, call):
    # given a user with min@example.com
    _created(call(CREATE, input=_new("min", email="min@example.com")))
    # when another user takes the upper-case address, it is accepted and stored as given
    _created(call(CREATE, input=_new("minupper", email="MIN@EXAMPLE.COM")))
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(users.c.email).where(users.c.username == "minupper"))
        assert stored.scalar_one() == "MIN@EXAMPLE.COM"
    # and an exact duplicate is refused
    assert _reason(call(CREATE, input=_new("mindup", email="min@example.com"))) == (
        "Email address already exists: min@example.com"
    )


@pytest.mark.parametrize("email", ["jo@localhost", ".jo@example.com", "jo..smith@example.c"])
def test_l4_whatwg_email_is_saved_on_create_and_update(runtime, call, email):
    # given an address param_email lets through (WHATWG: no dot needed in the domain)
    # when a user is created with it, then it is stored as given
    _created(call(CREATE, input=_new("whatwg", email=email)))
    # and when another user is updated to it (a new address of the same shape), it is kept too
    _created(call(CREATE, input=_new("whatwg2")))
    _updated(call(UPDATE, target={"username": "whatwg2"}, input={"email": "x" + email}))
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(users.c.username, users.c.email).order_by(users.c.id))
        assert {row.username: row.email for row in stored}["whatwg2"] == "x" + email


def test_u5_a_reference_by_email_matches_exactly(call):
    _created(call(CREATE, input=_new("lower", email="same@example.com")))
    _created(call(CREATE, input=_new("upper", email="SAME@EXAMPLE.COM")))
    user = _updated(call(UPDATE, target={"email": "SAME@EXAMPLE.COM"}, input={"city": "X"}))
    assert user["username"] == "upper"


def test_u5_username_and_idnumber_duplicates_are_exact(call):
    _created(call(CREATE, input=_new("exact", idnumber="ID-1")))
    assert _reason(call(CREATE, input=_new("exact", email="e2@example.com"))) == (
        "Username already exists: exact"
    )
    assert _reason(call(CREATE, input=_new("other", idnumber="ID-1"))) == (
        "Idnumber already exists: ID-1"
    )
    _created(call(CREATE, input=_new("other2", idnumber="id-1")))


@pytest.mark.parametrize("idnumber", ["  ", "0", " 0 ", "\t", "\r\n", "\x0b0"])
def test_u5_blank_idnumbers_are_not_checked(call, idnumber):
    # given idnumbers PHP's empty() takes as empty after trim(): neither the application nor
    # the database's unique index checks them
    _created(call(CREATE, input=_new("b1", idnumber=idnumber)))
    _created(call(CREATE, input=_new("b2", idnumber=idnumber)))


def test_u5_idnumbers_trimmed_as_php_trims_are_checked(call):
    # given an idnumber of a space PHP's trim() keeps (no-break space)
    _created(call(CREATE, input=_new("nbsp1", idnumber="\xa0")))
    # then a second user with it is refused
    assert _reason(call(CREATE, input=_new("nbsp2", idnumber="\xa0"))) == (
        "Idnumber already exists: \xa0"
    )


# --- U6 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"country": "nz"}, "Country does not exist: nz"),
        ({"lang": "EN"}, "Language does not exist: EN"),
        ({"timezone": "pacific/auckland"}, "Timezone does not exist: pacific/auckland"),
        ({"theme": "Ventura"}, "Theme does not exist: Ventura"),
        ({"calendartype": "Gregorian"}, "Calendartype does not exist: Gregorian"),
        ({"auth": "MANUAL"}, "Auth plugin does not exist: MANUAL"),
    ],
)
def test_u6_list_values_must_match_exactly(call, fields, message):
    assert _reason(call(CREATE, input=_new("choice", **fields))) == message
    _created(call(CREATE, input=_new("choice")))
    assert _reason(call(UPDATE, target={"username": "choice"}, input=fields)) == message


def test_u6_exact_country_code_is_accepted(call):
    assert _created(call(CREATE, input=_new("kiwi", country="NZ")))["country"] == "New Zealand"


# --- U7 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("abcUpper", "The username must be in lower case"),
        ("abc bad name!", "The given username contains invalid characters"),
    ],
)
def test_u7_username_texts(call, username, message):
    assert _reason(call(CREATE, input=_new(username, email="u7@example.com"))) == message


def test_u7_upper_case_variant_of_an_existing_username(call):
    _created(call(CREATE, input=_new("abcmin")))
    body = call(CREATE, input=_new("abcMIN", email="abc2@example.com"))
    assert _reason(body) == "The username must be in lower case"


def test_u7_username_is_checked_after_the_other_fields(call):
    body = call(CREATE, input=_new("BadName", country="nz"))
    assert _reason(body) == "Country does not exist: nz"


# --- U8 ----------------------------------------------------------------------------------------
def _without_password(**fields: Any) -> dict[str, Any]:
    new = _new("nopass", **fields)
    del new["password"]
    return new


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (
            _without_password(generate_password=False),
            CODING_ERROR_PREFIX + "Required parameter - password not being passed",
        ),
        (
            _without_password(),
            CODING_ERROR_PREFIX + "Required parameter - password not being passed",
        ),
        (_new("nullpass", password=None), CODING_ERROR_PREFIX + "Password cannot be blank"),
        (_new("emptypass", password=""), CODING_ERROR_PREFIX + "Password cannot be blank"),
        (
            _new("nullgen", password=None, generate_password=True),
            CODING_ERROR_PREFIX + "Password cannot be blank",
        ),
        (
            _new("both", generate_password=True),
            "You cannot set password and generate password at the same time.",
        ),
        (
            _new("emptyboth", password="", generate_password=True),
            "You cannot set password and generate password at the same time.",
        ),
    ],
)
def test_u8_missing_or_blank_password_texts_on_create(call, new, message):
    assert _reason(call(CREATE, input=new)) == message


@pytest.mark.parametrize("password", [None, ""])
def test_u8_blank_password_on_update(call, password):
    _created(call(CREATE, input=_new("upd")))
    body = call(UPDATE, target={"username": "upd"}, input={"password": password})
    assert _reason(body) == CODING_ERROR_PREFIX + "Password cannot be blank"


def test_u8_generated_password_needs_no_password_key(call):
    assert _created(call(CREATE, input=_without_password(generate_password=True)))


# --- U9 ----------------------------------------------------------------------------------------
@pytest.fixture
def custom(runtime) -> None:
    with runtime.engine.begin() as conn:
        profile_fields.add_field(conn, "code", "Code", "text")
        profile_fields.add_field(conn, "grade", "Grade", "menu", ["A", "B"])


def test_u9_delete_on_create_comes_before_field_exists(call, custom):
    entries = [{"shortname": "nosuchfield", "delete": True}]
    assert _reason(call(CREATE, input=_new("cf", custom_fields=entries))) == (
        "Can not delete custom field on creating."
    )


def test_u9_delete_with_data_comes_before_field_exists(call, custom):
    _created(call(CREATE, input=_new("cf")))
    entries = [{"shortname": "nosuchfield", "delete": True, "data": "x"}]
    body = call(UPDATE, target={"username": "cf"}, input={"custom_fields": entries})
    assert _reason(body) == (
        "Can not set data or data_format with deleting custom field on updating."
    )


def test_u9_entries_are_checked_in_input_order(call, custom):
    _created(call(CREATE, input=_new("cf")))
    entries = [
        {"shortname": "nosuchfield", "data": "x"},
        {"shortname": "code", "delete": True, "data": "x"},
    ]
    body = call(UPDATE, target={"username": "cf"}, input={"custom_fields": entries})
    assert _reason(body) == "The custom field does not exist."
    entries.reverse()
    body = call(UPDATE, target={"username": "cf"}, input={"custom_fields": entries})
    assert _reason(body) == (
        "Can not set data or data_format with deleting custom field on updating."
    )


def test_u9_deleting_an_unset_value(call, custom):
    _created(call(CREATE, input=_new("cf")))
    entries = [{"shortname": "code", "delete": True}]
    body = call(UPDATE, target={"username": "cf"}, input={"custom_fields": entries})
    assert _reason(body) == (
        "Can not delete the custom field value, as the value has not been set for target user."
    )


# --- U10 ---------------------------------------------------------------------------------------
DESCRIPTION = """
mutation create_user($input: core_user_create_user_input!) {
  core_user_create_user(input: $input) { user { username description descriptionformat } }
}
"""


def test_u10_description_is_null_for_a_user_without_a_role(runtime, call):
    body = call(
        DESCRIPTION, input=_new("desc", description="<p>Hello</p>", descriptionformat="HTML")
    )
    user = body["data"]["core_user_create_user"]["user"]
    assert (user["description"], user["descriptionformat"]) == (None, None)


def test_u10_description_shows_once_the_user_holds_a_role(runtime, call):
    body = call(
        DESCRIPTION, input=_new("desc", description="<p>Hello</p>", descriptionformat="HTML")
    )
    user_id = None
    with runtime.engine.begin() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.username == "desc")).scalar_one()
        roles.assign_role(conn, "apiuser", user_id, None)
    query = """{ core_user_users(query: {pagination: {limit: 0}}) { items {
        username description descriptionformat } } }"""
    row = next(u for u in _listed(call(query))["items"] if u["username"] == "desc")
    assert (row["description"], row["descriptionformat"]) == ("<p>Hello</p>", "HTML")
    assert body["data"]


def test_u10_the_user_sees_its_own_description(runtime, call, client):
    with runtime.engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == client.user_id).values(description="Me"))
    query = """{ core_user_users(query: {pagination: {limit: 0}}) { items {
        id description } } }"""
    mine = next(u for u in _listed(call(query))["items"] if u["id"] == str(client.user_id))
    assert mine["description"] == "Me"


# --- U11 ---------------------------------------------------------------------------------------
def test_u11_theme_is_validated_then_stored_empty(call):
    assert _created(call(CREATE, input=_new("themed", theme="ventura")))["theme"] == ""
    assert _reason(call(CREATE, input=_new("themed2", theme="neon"))) == (
        "Theme does not exist: neon"
    )
    user = _updated(call(UPDATE, target={"username": "themed"}, input={"theme": "inspire"}))
    assert user["theme"] == ""


# --- U12 ---------------------------------------------------------------------------------------
def test_u12_default_picture_urls(runtime, http, call):
    # given the site's recorded theme revision
    with runtime.engine.connect() as conn:
        stored = conn.execute(
            select(site_settings.c.value).where(site_settings.c.name == "themerev")
        ).scalar_one()
    assert int(stored) > 1_000_000_000  # a Unix time, never a small constant
    # when a user's pictures are read
    query = """{ core_user_users(query: {pagination: {limit: 1}}) { items {
        profileimageurl profileimageurlsmall card_display { profile_picture_url } } } }"""
    item = _listed(call(query))["items"][0]
    # then they name the non-SVG variant of the site theme's image at that revision
    base = str(http.base_url).rstrip("/")
    assert item["profileimageurl"] == f"{base}/theme/image.php/_s/ventura/core/{stored}/u/f1"
    assert item["profileimageurlsmall"] == f"{base}/theme/image.php/_s/ventura/core/{stored}/u/f2"
    assert item["card_display"]["profile_picture_url"] == item["profileimageurl"]


# --- U13 ---------------------------------------------------------------------------------------
def test_u13_service_account_may_send_suspended_false_for_itself(call, client):
    me = {"id": client.user_id}
    user = _updated(call(UPDATE, target=me, input={"suspended": False}))
    assert user["suspended"] is False
    assert _reason(call(UPDATE, target=me, input={"suspended": True})) == (
        "A service account user is not allowed to suspend itself when making a request."
    )


# --- F1 ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ((2026, 11, 27, 1, 53, 33), "27 Nov 2026 at 01:53:33"),
        ((2026, 11, 5, 1, 53, 33), "5 Nov 2026 at 01:53:33"),
        ((2026, 9, 5, 13, 4, 5), "5 Sep 2026 at 13:04:05"),
    ],
)
def test_f1_datetimeseconds_format(moment, expected):
    timestamp = calendar.timegm((*moment, 0, 0, 0))
    assert format_date(timestamp, "DATETIMESECONDS", "UTC") == expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("TIME", "1:53 AM"),
        ("TIMESHORT", "01:53"),
        ("DATE", "5 November 2026"),
        ("DATESHORT", "5 November"),
        ("DATELONG", "5/11/2026"),
        ("DATETIME", "5 November 2026, 1:53 AM"),
        ("DATETIMESHORT", "5/11/26, 01:53"),
        ("DATETIMELONG", "5/11/2026, 01:53"),
        ("DAYDATETIME", "Thursday, 5 November 2026, 1:53 AM"),
        ("DATETIMESECONDS", "5 Nov 2026 at 01:53:33"),
    ],
)
def test_f1_every_format_string(fmt, expected):
    timestamp = calendar.timegm((2026, 11, 5, 1, 53, 33, 0, 0, 0))
    assert format_date(timestamp, fmt, "UTC") == expected


# --- custom profile fields: Totara's per-type input checks and what each type stores ------------
CUSTOM = """
mutation create_user($input: core_user_create_user_input!) {
  core_user_create_user(input: $input) {
    user { username custom_fields { shortname data data_format data_type } }
  }
}
"""
CUSTOM_UPDATE = """
mutation update_user($target: core_user_user_reference!, $input: core_user_update_user_input!) {
  core_user_update_user(target_user: $target, input: $input) {
    user { username custom_fields { shortname data data_format data_type } }
  }
}
"""


@pytest.fixture
def every_type(runtime) -> None:
    with runtime.engine.begin() as conn:
        profile_fields.add_field(conn, "fte", "Full time", "checkbox")
        profile_fields.add_field(conn, "grade", "Grade", "menu", ["A", "B", "1"])
        profile_fields.add_field(conn, "code", "Code", "text")
        profile_fields.add_field(conn, "notes", "Notes", "textarea")
        profile_fields.add_field(conn, "shift", "Shift", "datetime")
        profile_fields.add_field(conn, "start", "Start", "date")
        profile_fields.add_field(conn, "badge", "Badge", "text", locked=True)


def _custom_values(body: dict[str, Any], key: str = "core_user_create_user") -> dict[str, Any]:
    assert "errors" not in body, body
    return {f["shortname"]: f for f in body["data"][key]["user"]["custom_fields"]}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"shortname": "fte", "data": "yes"}, "You must pass 0 or 1 for data for checkbox fields."),
        (
            {"shortname": "fte", "data": "true"},
            "You must pass 0 or 1 for data for checkbox fields.",
        ),
        ({"shortname": "fte"}, "You must pass 0 or 1 for data for checkbox fields."),
        (
            {"shortname": "fte", "data": "1", "data_format": 1},
            "data_format should not be passed for checkbox fields.",
        ),
        ({"shortname": "grade", "data": " "}, "You must pass a valid menu option."),
        ({"shortname": "grade", "data": "a"}, "You must pass a valid menu option."),
        (
            {"shortname": "grade", "data": "A", "data_format": 2},
            "data_format should not be passed for menu fields.",
        ),
        (
            {"shortname": "code", "data": "x", "data_format": 0},
            "data_format should not be passed for text fields.",
        ),
        (
            {"shortname": "code", "data": "x" * 2049},
            "The data must have less than 2048 characters.",
        ),
        (
            {"shortname": "notes", "data": "<p>x</p>"},
            "data_format is required for textarea fields.",
        ),
        ({"shortname": "notes", "data": "x", "data_format": 3}, "Unrecognised data_format: 3."),
        (
            {"shortname": "notes", "data": "{}", "data_format": 5},
            "data_format set to JSON but data does not appear to be in JSON format.",
        ),
        (
            {"shortname": "shift", "data": " "},
            "Date must be provided in format YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.",
        ),
        (
            {"shortname": "shift", "data": "0"},
            "Date must be provided in format YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.",
        ),
        (
            {"shortname": "shift", "data": "2024-01-01", "data_format": 1},
            "data_format should not be passed for datetime fields.",
        ),
        (
            {"shortname": "shift", "data": "2024-01"},
            "Date format should be YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.",
        ),
        (
            {"shortname": "shift", "data": "2024-01-01-8-30"},
            "Date format should be YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.",
        ),
        (
            {"shortname": "shift", "data": "24-01-01-08-30-00"},
            "Date format should be YYYY-MM-DD-HH-MM-SS.",
        ),
        (
            {"shortname": "shift", "data": "2024/01/01"},
            "Date format should be YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.",
        ),
        ({"shortname": "shift", "data": "24-01-01"}, "Date format should be YYYY-MM-DD."),
        (
            {"shortname": "shift", "data": "2024-01-01-24-00-00"},
            "You must pass valid time values that represent an actual 24 hour time.",
        ),
        (
            {"shortname": "shift", "data": "2023-02-29"},
            "You must pass valid date values that represent an actual date.",
        ),
        (
            {"shortname": "shift", "data": "1899-12-31"},
            "Date given has year 1899 which is less than minimum of 1900 allowed for field.",
        ),
        (
            {"shortname": "shift", "data": "2051-01-01-00-00-00"},
            "Date given has year 2051 which is more than maximum of 2050 allowed for field.",
        ),
        (
            {"shortname": "start", "data": "2024-01-01", "data_format": 9},
            "Unrecognised data_format: 9.",
        ),
    ],
)
def test_custom_field_input_texts(call, every_type, entry, message):
    # given one bad entry
    body = call(CUSTOM, input=_new("cf", custom_fields=[entry]))
    # then Totara's text comes back, after the field's shortname
    assert _reason(body) == f"{entry['shortname']}: {message}"


def test_custom_field_first_bad_entry_wins(call, every_type):
    entries = [
        {"shortname": "code", "data": "fine"},
        {"shortname": "grade", "data": "Z"},
        {"shortname": "fte", "data": "2"},
    ]
    assert _reason(call(CUSTOM, input=_new("cf", custom_fields=entries))) == (
        "grade: You must pass a valid menu option."
    )


def test_custom_field_values_as_stored_and_returned(call, every_type):
    doc = '{"type":"doc","content":[]}'
    entries = [
        {"shortname": "fte", "data": "0"},
        {"shortname": "grade", "data": "1.0"},  # PHP's loose comparison names option "1"
        {"shortname": "code", "data": "  <b>kept</b>  "},
        {"shortname": "notes", "data": doc, "data_format": 5},
        {"shortname": "shift", "data": "2024-3-1-8-30-0"},
        {"shortname": "start", "data": "2024-02-29"},
    ]
    got = _custom_values(call(CUSTOM, input=_new("cf", custom_fields=entries)))
    assert got["fte"] == {
        "shortname": "fte",
        "data": "0",
        "data_format": 0,
        "data_type": "checkbox",
    }
    assert got["grade"]["data"] == "1"
    assert got["code"]["data"] == "  <b>kept</b>  "
    assert (got["notes"]["data"], got["notes"]["data_format"]) == (doc, 5)
    assert got["shift"]["data"] == str(calendar.timegm((2024, 3, 1, 8, 30, 0)))
    assert got["start"]["data"] == str(calendar.timegm((2024, 2, 29, 12, 0, 0)))


def test_custom_field_date_only_datetime_is_midnight(call, every_type):
    got = _custom_values(
        call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "shift", "data": "2024-03-01"}]))
    )
    assert got["shift"]["data"] == str(calendar.timegm((2024, 3, 1, 0, 0, 0)))


@pytest.mark.parametrize(
    ("data", "day"),
    [
        ("1800-01-01", (1800, 1, 1)),  # a date field has no year range
        ("2023-02-29", (2023, 3, 1)),  # rolled over as PHP's mktime does
        ("2024-13-01", (2025, 1, 1)),
        ("1709208000", (2024, 2, 29)),  # a Unix time names its UTC day
    ],
)
def test_custom_field_date_values(call, every_type, data, day):
    got = _custom_values(
        call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "start", "data": data}]))
    )
    assert got["start"]["data"] == str(calendar.timegm((*day, 12, 0, 0)))


def test_custom_field_empty_date_clears_the_value(call, every_type):
    _custom_values(
        call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "start", "data": "2024-01-01"}]))
    )
    body = call(
        CUSTOM_UPDATE,
        target={"username": "cf"},
        input={"custom_fields": [{"shortname": "start", "data": ""}]},
    )
    assert "start" not in _custom_values(body, "core_user_update_user")


def test_custom_field_entry_without_data_changes_nothing(call, every_type):
    _custom_values(
        call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "code", "data": "x"}]))
    )
    body = call(
        CUSTOM_UPDATE, target={"username": "cf"}, input={"custom_fields": [{"shortname": "code"}]}
    )
    assert _custom_values(body, "core_user_update_user")["code"]["data"] == "x"


def test_custom_field_delete_on_update(call, every_type):
    _custom_values(
        call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "code", "data": "x"}]))
    )
    body = call(
        CUSTOM_UPDATE,
        target={"username": "cf"},
        input={"custom_fields": [{"shortname": "code", "delete": True}]},
    )
    assert _custom_values(body, "core_user_update_user") == {}


def test_custom_field_locked_needs_user_update(runtime, http, every_type):
    # given a client that may create users but not hold moodle/user:update
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "creator", "Creator")
        for cap in ("moodle/user:create", "moodle/user:viewalldetails"):
            roles.set_permission(conn, "creator", cap, roles.ALLOW)
    call = _caller(http, make_api_client(runtime, role="creator"))
    body = call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "badge", "data": "x"}]))
    assert _reason(body) == (
        "badge: You do not have permission to set the value this locked custom field."
    )


def test_custom_field_locked_with_user_update(call, every_type):
    got = _custom_values(
        call(CUSTOM, input=_new("cf", custom_fields=[{"shortname": "badge", "data": "x"}]))
    )
    assert got["badge"]["data"] == "x"


def test_custom_field_output_follows_field_visibility(runtime, http):
    # given a tenant client that may list its tenant but not view all details
    from tests.factories import make_tenant, make_user

    tenant_id = make_tenant(runtime, "acme")
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "lister", "Lister")
        roles.set_permission(conn, "lister", "totara/tenant:viewparticipants", roles.ALLOW)
        ids = {
            visible: profile_fields.add_field(
                conn, f"f{visible}", f"F{visible}", "text", visible=visible
            )
            for visible in (0, 1, 2)
        }
    member = make_user(runtime, "member", tenant_id=tenant_id)
    client = make_api_client(runtime, tenant_id=tenant_id, role="lister")
    with runtime.engine.begin() as conn:
        for user_id in (member, client.user_id):
            profile_fields.apply_changes(conn, user_id, {i: ("x", 0) for i in ids.values()})
    # when it lists the users
    query = "{ core_user_users { items { id custom_fields { shortname } } } }"
    items = _listed(_caller(http, client)(query))["items"]
    shown = {int(u["id"]): {f["shortname"] for f in u["custom_fields"]} for u in items}
    # then another user shows only fields visible to all; its own record its private ones too,
    # and hidden fields never
    assert shown[member] == {"f2"}
    assert shown[client.user_id] == {"f1", "f2"}
