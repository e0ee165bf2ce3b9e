"""core_user_create_user / update_user / delete_user: Totara's rules, messages and rights."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from extapi.access import roles
from extapi.db.tables import profile_data, users
from extapi.errors import CODING_ERROR_PREFIX
from extapi.people import profile_fields
from extapi.people import users as users_service
from extapi.people.passwords import verify_password
from extapi.people.users import make_site_admin
from tests.factories import fetch_token, graphql, make_api_client, make_tenant, make_user

CREATE = """
mutation create_user($input: core_user_create_user_input!) {
  core_user_create_user(input: $input) {
    user { id username email idnumber firstname lastname country timezone lang suspended
           city description descriptionformat
           custom_fields { shortname data data_format data_type } }
  }
}
"""
UPDATE = """
mutation update_user($target: core_user_user_reference!, $input: core_user_update_user_input!) {
  core_user_update_user(target_user: $target, input: $input) {
    user { id username idnumber city suspended custom_fields { shortname data } }
  }
}
"""
DELETE = """
mutation delete_user($target: core_user_user_reference!) {
  core_user_delete_user(target_user: $target) { user_id }
}
"""
NOT_FOUND = (
    "There was a problem finding a single user record match or you do not have sufficient "
    "capabilities."
)
GOOD_PASSWORD = "Passw0rd!"


def _new(**fields: Any) -> dict[str, Any]:
    base = {
        "username": "jdoe",
        "email": "jdoe@example.com",
        "firstname": "Jane",
        "lastname": "Doe",
        "password": GOOD_PASSWORD,
    }
    return {**base, **fields}


def _reason(body: dict[str, Any]) -> str:
    assert "errors" in body, body
    return str(body["errors"][0]["debugMessage"])


def _user_count(runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def _row(runtime, username: str) -> dict[str, Any]:
    with runtime.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).mappings().one()
    return dict(row)


# --- create -----------------------------------------------------------------------------------
def test_create_returns_the_user_with_site_defaults(runtime, call):
    body = call(CREATE, input=_new(country="NZ", idnumber="E100", city="Nelson"))
    user = body["data"]["core_user_create_user"]["user"]
    assert user["username"] == "jdoe"
    assert user["idnumber"] == "E100"
    assert user["country"] == "New Zealand"
    assert user["timezone"] == "UTC"  # follows the site timezone
    assert user["lang"] == "en"
    assert user["suspended"] is False
    assert user["descriptionformat"] is None  # the new user holds no role (rule U10)
    # email is hidden from the service account, as in Totara (maildisplay 2 by default)
    assert user["email"] is None
    row = _row(runtime, "jdoe")
    assert row["email"] == "jdoe@example.com"
    assert verify_password(row["password"], GOOD_PASSWORD)
    assert GOOD_PASSWORD not in row["password"]


def test_public_email_is_visible(runtime, call):
    with runtime.engine.begin() as conn:
        from extapi.settings.site import set_setting

        set_setting(conn, "defaultpreference_maildisplay", "1")
    body = call(CREATE, input=_new())
    assert body["data"]["core_user_create_user"]["user"]["email"] == "jdoe@example.com"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": " "}, "Username can not be blank"),
        ({"firstname": ""}, "Firstname can not be blank"),
        ({"lastname": "  "}, "Lastname can not be blank"),
        ({"username": "u" * 101}, f"Field {'u' * 101} should be less than 100 characters"),
        ({"lastname": "l" * 201}, f"Field {'l' * 201} should be less than 200 characters"),
        ({"phone1": "1" * 21}, f"Field {'1' * 21} should be less than 20 characters"),
        (
            {"email": "not-an-email"},
            # param_email refuses it while the variable is coerced (rule L3)
            'Variable "$input" got invalid value {"username":"jdoe","email":"not-an-email",'
            '"firstname":"Jane","lastname":"Doe","password":"Passw0rd!"}; '
            "Expected type param_email at value.email; Invalid parameter value detected",
        ),
        ({"url": "javascript:alert(1)"}, "Invalid url format: javascript:alert(1)"),
        ({"country": "XX"}, "Country does not exist: XX"),
        ({"timezone": "Mars/Base"}, "Timezone does not exist: Mars/Base"),
        ({"lang": "tlh"}, "Language does not exist: tlh"),
        ({"theme": "neon"}, "Theme does not exist: neon"),
        ({"auth": "magic"}, "Auth plugin does not exist: magic"),
        ({"calendartype": "lunar"}, "Calendartype does not exist: lunar"),
        ({"descriptionformat": "MOBILE"}, CODING_ERROR_PREFIX + "Unsupported descriptionformat"),
        ({"password": None}, CODING_ERROR_PREFIX + "Password cannot be blank"),
        (
            {"generate_password": True},
            "You cannot set password and generate password at the same time.",
        ),
        (
            {"password": "short"},
            "Passwords must be at least 8 characters long. Passwords must have at least 1 "
            "digit(s). Passwords must have at least 1 upper case letter(s). Passwords must have "
            "at least 1 non-alphanumeric character(s) such as as *, -, or #.",
        ),
        (
            {"auth": "nologin", "password": GOOD_PASSWORD},
            "The authentication plugin dose not support password creation.",
        ),
        ({"tenant": {"idnumber": "nope"}}, "Tenant reference must identify exactly one tenant."),
    ],
)
def test_create_validation_messages(runtime, call, fields, message):
    before = _user_count(runtime)
    body = call(CREATE, input=_new(**fields))
    assert _reason(body) == message
    assert body["errors"][0]["message"] == "Internal server error"
    assert _user_count(runtime) == before


def test_uniqueness_messages(runtime, call):
    assert "data" in call(CREATE, input=_new(idnumber="E1"))
    again = {"email": "other@example.com", "idnumber": "E2"}
    assert _reason(call(CREATE, input=_new(**again))) == "Username already exists: jdoe"
    same_id = {"username": "other", "email": "other@example.com", "idnumber": "E1"}
    assert _reason(call(CREATE, input=_new(**same_id))) == "Idnumber already exists: E1"
    same_mail = {"username": "other", "email": "jdoe@example.com"}
    assert _reason(call(CREATE, input=_new(**same_mail))) == (
        "Email address already exists: jdoe@example.com"
    )


def test_username_must_be_lower_case(call):
    message = _reason(call(CREATE, input=_new(username="JDoe")))
    assert message == "The username must be in lower case"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": None}, CODING_ERROR_PREFIX + "Password cannot be blank"),
        ({}, "The authentication plugin dose not support password creation."),
        (
            {"generate_password": True},
            "The authentication plugin dose not support password creation.",
        ),
    ],
)
def test_users_of_plugins_without_passwords_are_not_created(runtime, call, fields, message):
    # given an auth plugin that keeps no passwords, with a password, a null one or generation
    new = _new(auth="nologin", **fields)
    if fields.get("generate_password"):
        del new["password"]
    # when the user is created, then Totara's checks refuse it every time
    assert _reason(call(CREATE, input=new)) == message


def test_generated_password_and_forced_change(runtime, call):
    new = _new(generate_password=True, force_password_change=True)
    del new["password"]
    body = call(CREATE, input=new)
    assert "data" in body
    row = _row(runtime, "jdoe")
    assert row["password"].startswith("$argon2")
    assert row["force_password_change"] is True


def test_create_needs_the_capability(runtime, http):
    # given a client whose role lacks moodle/user:create
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "reader", "Reader")
        roles.set_permission(conn, "reader", "moodle/user:viewalldetails", roles.ALLOW)
    client = make_api_client(runtime, role="reader")
    token = fetch_token(http, client)
    body = graphql(http, token, {"query": CREATE, "variables": {"input": _new()}}).json()
    assert _reason(body) == "You do not have capabilities to create a user."


# --- tenants ----------------------------------------------------------------------------------
def test_tenant_client_creates_only_in_its_own_tenant(runtime, http):
    tenant_a = make_tenant(runtime, "ta")
    make_tenant(runtime, "tb")
    client = make_api_client(runtime, tenant_id=tenant_a)
    token = fetch_token(http, client)

    def create(**fields: Any) -> dict[str, Any]:
        return graphql(
            http, token, {"query": CREATE, "variables": {"input": _new(**fields)}}
        ).json()

    assert _reason(create()) == "You do not have capabilities to create a user."
    assert _reason(create(tenant={"idnumber": "tb"})) == (
        "You do not have capabilities to create a user for the tenant."
    )
    assert "data" in create(tenant={"idnumber": "ta"})
    assert _row(runtime, "jdoe")["tenant_id"] == tenant_a


def test_system_client_creates_inside_a_tenant(runtime, call):
    tenant_id = make_tenant(runtime, "acme")
    assert "data" in call(CREATE, input=_new(tenant={"idnumber": "acme"}))
    assert _row(runtime, "jdoe")["tenant_id"] == tenant_id


# --- custom fields ----------------------------------------------------------------------------
@pytest.fixture
def fields(runtime):
    with runtime.engine.begin() as conn:
        profile_fields.add_field(conn, "start", "Start", "date")
        profile_fields.add_field(conn, "shift", "Shift", "datetime")
        profile_fields.add_field(conn, "fte", "Full time", "checkbox")
        profile_fields.add_field(conn, "grade", "Grade", "menu", ["A", "B"])
        profile_fields.add_field(conn, "notes", "Notes", "textarea")
        profile_fields.add_field(conn, "code", "Code", "text")
        profile_fields.add_field(conn, "secret", "Secret", "text", visible=0)


def test_custom_fields_are_written_and_read(runtime, call, fields):
    values = [
        {"shortname": "start", "data": "2024-02-29"},
        {"shortname": "shift", "data": "2024-03-01-08-30-00"},
        {"shortname": "fte", "data": "1"},
        {"shortname": "grade", "data": "B"},
        {"shortname": "notes", "data": "<p>Hi</p>", "data_format": 1},
        {"shortname": "code", "data": "first"},
        {"shortname": "code", "data": "last wins"},
    ]
    body = call(CREATE, input=_new(custom_fields=values))
    got = {
        f["shortname"]: f for f in body["data"]["core_user_create_user"]["user"]["custom_fields"]
    }
    assert got["start"]["data"] == "1709208000"  # noon UTC
    assert got["shift"]["data"] == "1709281800"  # 08:30 UTC, the service account's timezone
    assert got["fte"] == {
        "shortname": "fte",
        "data": "1",
        "data_format": 0,
        "data_type": "checkbox",
    }
    assert got["grade"]["data"] == "B"
    assert got["notes"]["data_format"] == 1
    assert got["code"]["data"] == "last wins"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"shortname": "nope", "data": "x"}, "The custom field does not exist."),
        ({"shortname": "code", "delete": True}, "Can not delete custom field on creating."),
        ({"shortname": "grade", "data": "a"}, "grade: You must pass a valid menu option."),
        (
            {"shortname": "fte", "data": "yes"},
            "fte: You must pass 0 or 1 for data for checkbox fields.",
        ),
        (
            {"shortname": "shift", "data": "1800-01-01"},
            "shift: Date given has year 1800 which is less than minimum of 1900 allowed for field.",
        ),
    ],
)
def test_custom_field_errors_change_nothing(runtime, call, fields, value, message):
    before = _user_count(runtime)
    assert _reason(call(CREATE, input=_new(custom_fields=[value]))) == message
    assert _user_count(runtime) == before


def test_hidden_fields_need_viewalldetails(runtime, http, fields):
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "editor", "Editor")
        for cap in ("moodle/user:create", "moodle/user:update", "moodle/user:viewdetails"):
            roles.set_permission(conn, "editor", cap, roles.ALLOW)
    token = fetch_token(http, make_api_client(runtime, role="editor"))
    values = [{"shortname": "secret", "data": "x"}]
    body = graphql(
        http, token, {"query": CREATE, "variables": {"input": _new(custom_fields=values)}}
    ).json()
    assert _reason(body) == "The custom field does not exist."


def test_custom_field_delete_on_update(runtime, call, fields):
    call(CREATE, input=_new(custom_fields=[{"shortname": "code", "data": "x"}]))
    target = {"username": "jdoe"}
    both = [{"shortname": "code", "delete": True, "data": "y"}]
    assert _reason(call(UPDATE, target=target, input={"custom_fields": both})) == (
        "Can not set data or data_format with deleting custom field on updating."
    )
    unset = [{"shortname": "grade", "delete": True}]
    assert _reason(call(UPDATE, target=target, input={"custom_fields": unset})) == (
        "Can not delete the custom field value, as the value has not been set for target user."
    )
    body = call(
        UPDATE, target=target, input={"custom_fields": [{"shortname": "code", "delete": True}]}
    )
    assert body["data"]["core_user_update_user"]["user"]["custom_fields"] == []
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(profile_data)).scalar_one() == 0


# --- update -----------------------------------------------------------------------------------
def test_update_by_every_reference_kind(runtime, call):
    call(CREATE, input=_new(idnumber="E9"))
    user_id = _row(runtime, "jdoe")["id"]
    for target in (
        {"id": user_id},
        {"id": str(user_id)},
        {"username": "jdoe"},
        {"idnumber": "E9"},
        {"email": "jdoe@example.com"},
        {"username": "jdoe", "idnumber": "E9"},
    ):
        body = call(UPDATE, target=target, input={"city": "Napier"})
        assert body["data"]["core_user_update_user"]["user"]["city"] == "Napier", target


@pytest.mark.parametrize(
    "target",
    [{}, {"username": "ghost"}, {"username": "jdoe", "idnumber": "wrong"}, {"id": 0}],
)
def test_reference_must_match_exactly_one_user(call, target):
    call(CREATE, input=_new(idnumber="E9"))
    assert _reason(call(UPDATE, target=target, input={"city": "X"})) == NOT_FOUND


def test_deleted_users_cannot_be_referenced(call):
    call(CREATE, input=_new())
    call(DELETE, target={"username": "jdoe"})
    assert _reason(call(UPDATE, target={"username": "jdoe"}, input={"city": "X"})) == NOT_FOUND


def test_suspend_and_unsuspend(runtime, call):
    call(CREATE, input=_new())
    body = call(UPDATE, target={"username": "jdoe"}, input={"suspended": True})
    assert body["data"]["core_user_update_user"]["user"]["suspended"] is True
    body = call(UPDATE, target={"username": "jdoe"}, input={"suspended": False})
    assert body["data"]["core_user_update_user"]["user"]["suspended"] is False


def test_service_account_cannot_suspend_or_delete_itself(runtime, call, client):
    me = {"id": client.user_id}
    assert _reason(call(UPDATE, target=me, input={"suspended": True})) == (
        "A service account user is not allowed to suspend itself when making a request."
    )
    assert _reason(call(DELETE, target=me)) == (
        "A service account user is not allowed to delete itself when making a request."
    )


def test_admin_protections(runtime, call):
    admin_id = make_user(runtime, "boss")
    with runtime.engine.begin() as conn:
        make_site_admin(conn, admin_id)
    target = {"username": "boss"}
    assert _reason(call(UPDATE, target=target, input={"suspended": True})) == (
        "The admin user cannot be suspended."
    )
    assert _reason(call(UPDATE, target=target, input={"password": GOOD_PASSWORD})) == (
        "You can not update password for the admin user."
    )
    assert _reason(call(DELETE, target=target)) == (
        "For deleting a user: Admin user can not be specified for User."
    )


ADMINS_ONLY = "Only administrators are allowed to modify other administrator accounts"


@pytest.mark.parametrize(
    "change",
    [
        {"username": "renamed"},
        {"auth": "nologin"},
        {"email": "taken-over@example.com"},
        {"firstname": "Mallory"},
        {"tenant": {"idnumber": "acme"}},
        {"suspended": False},
        {"password": GOOD_PASSWORD},
        {"generate_password": True},
    ],
)
def test_site_administrators_are_out_of_reach_of_service_accounts(runtime, call, change):
    # given a site administrator, and a client allowed to update users and their logins
    admin_id = make_user(runtime, "boss")
    make_tenant(runtime, "acme")
    with runtime.engine.begin() as conn:
        make_site_admin(conn, admin_id)
        for capability in ("moodle/user:managelogin", "totara/tenant:manageparticipants"):
            roles.set_permission(conn, "apiuser", capability, roles.ALLOW)
    before = _row(runtime, "boss")
    # when the client changes anything about the administrator
    message = _reason(call(UPDATE, target={"username": "boss"}, input=change))
    # then it is refused, with Totara's own text where Totara has one, and nothing changes
    assert message in (
        ADMINS_ONLY,
        "The admin user cannot be suspended.",
        "You can not update password for the admin user.",
    )
    assert _row(runtime, "boss") == before


def test_the_admin_rule_comes_after_totaras_admin_messages(runtime, call):
    admin_id = make_user(runtime, "boss")
    with runtime.engine.begin() as conn:
        make_site_admin(conn, admin_id)
        roles.set_permission(conn, "apiuser", "moodle/user:managelogin", roles.ALLOW)
    target = {"username": "boss"}
    assert _reason(call(UPDATE, target=target, input={"username": "renamed"})) == ADMINS_ONLY
    assert _reason(call(UPDATE, target=target, input={"city": "X", "suspended": False})) == (
        "The admin user cannot be suspended."
    )
    assert _reason(call(UPDATE, target=target, input={"password": GOOD_PASSWORD})) == (
        "You can not update password for the admin user."
    )


def test_site_administrators_are_listed_as_totara_lists_them(runtime, call):
    # Totara's users query does not leave site administrators out
    admin_id = make_user(runtime, "boss")
    with runtime.engine.begin() as conn:
        make_site_admin(conn, admin_id)
    body = call("{ core_user_users { items { id } } }")
    assert {"id": str(admin_id)} in body["data"]["core_user_users"]["items"]


def test_password_rules_on_update(runtime, call):
    call(CREATE, input=_new())
    target = {"username": "jdoe"}
    both = {"password": GOOD_PASSWORD, "generate_password": True}
    assert _reason(call(UPDATE, target=target, input=both)) == (
        "You cannot set new password and generate password at the same time."
    )
    assert "data" in call(UPDATE, target=target, input={"password": "N3w-passw0rd"})
    assert verify_password(_row(runtime, "jdoe")["password"], "N3w-passw0rd")
    with runtime.engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == "jdoe").values(auth="nologin"))
    assert _reason(call(UPDATE, target=target, input={"password": GOOD_PASSWORD})) == (
        "The authentication method does not support password changes."
    )


def test_update_uniqueness_ignores_the_target(call):
    call(CREATE, input=_new(idnumber="E1"))
    call(CREATE, input=_new(username="other", email="o@example.com", idnumber="E2"))
    target = {"username": "jdoe"}
    assert "data" in call(UPDATE, target=target, input={"idnumber": "E1", "username": "jdoe"})
    assert _reason(call(UPDATE, target=target, input={"idnumber": "E2"})) == (
        "Idnumber already exists: E2"
    )


def test_failed_update_changes_nothing(runtime, call, fields):
    call(CREATE, input=_new(city="Nelson"))
    bad = {"city": "Napier", "custom_fields": [{"shortname": "grade", "data": "Z"}]}
    assert "errors" in call(UPDATE, target={"username": "jdoe"}, input=bad)
    assert _row(runtime, "jdoe")["city"] == "Nelson"


def _limited_client(runtime, http, *capabilities: str):
    with runtime.engine.begin() as conn:
        roles.create_role(conn, "limited", "Limited")
        for cap in capabilities:
            roles.set_permission(conn, "limited", cap, roles.ALLOW)
    token = fetch_token(http, make_api_client(runtime, role="limited"))

    def run(query: str, **variables: Any) -> dict[str, Any]:
        return graphql(http, token, {"query": query, "variables": variables}).json()

    return run


def test_update_capability_messages(runtime, http):
    make_user(runtime, "target")
    target = {"username": "target"}
    nothing = _limited_client(runtime, http, "moodle/user:viewdetails")
    assert _reason(nothing(UPDATE, target=target, input={"city": "X"})) == (
        "You do not have capabilities to update a user."
    )


def test_profile_editor_cannot_change_login_tenant_password_or_suspension(runtime, http):
    make_user(runtime, "target")
    make_tenant(runtime, "acme")
    target = {"username": "target"}
    editor = _limited_client(runtime, http, "moodle/user:editprofile")
    assert "data" in editor(UPDATE, target=target, input={"city": "Napier"})
    assert _reason(editor(UPDATE, target=target, input={"username": "renamed"})) == (
        "You do not have capabilities to update username or auth plugin."
    )
    assert _reason(editor(UPDATE, target=target, input={"tenant": {"idnumber": "acme"}})) == (
        "You do not have capabilities to update user tenancy membership."
    )
    assert _reason(editor(UPDATE, target=target, input={"password": GOOD_PASSWORD})) == (
        "You do not have capabilities to update a user password."
    )
    assert _reason(editor(UPDATE, target=target, input={"suspended": True})) == (
        "You do not have capabilities to suspend a user."
    )


def test_tenant_move_needs_manageparticipants(runtime, http, call):
    tenant_id = make_tenant(runtime, "acme")
    make_user(runtime, "mover")
    move = {"tenant": {"idnumber": "acme"}}
    assert _reason(call(UPDATE, target={"username": "mover"}, input=move)) == (
        "You do not have capabilities to update user tenancy membership."
    )
    with runtime.engine.begin() as conn:
        roles.set_permission(conn, "apiuser", "totara/tenant:manageparticipants", roles.ALLOW)
    assert "data" in call(UPDATE, target={"username": "mover"}, input=move)
    assert _row(runtime, "mover")["tenant_id"] == tenant_id


# --- delete -----------------------------------------------------------------------------------
def test_delete_is_soft_and_releases_identifiers(runtime, call):
    call(CREATE, input=_new(idnumber="E1"))
    user_id = _row(runtime, "jdoe")["id"]
    body = call(DELETE, target={"idnumber": "E1"})
    assert body == {"data": {"core_user_delete_user": {"user_id": str(user_id)}}}
    with runtime.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).mappings().one()
    assert row["deleted"] is True
    # the same person can be created again
    assert "data" in call(CREATE, input=_new(idnumber="E1"))


def test_delete_needs_the_capability(runtime, http):
    make_user(runtime, "target")
    viewer = _limited_client(runtime, http, "moodle/user:viewalldetails")
    assert _reason(viewer(DELETE, target={"username": "target"})) == (
        "You do not have capabilities to delete a user."
    )


def test_a_200_character_last_name_is_stored(call):
    # given Totara's limit for last names
    lastname = "L" * 200
    # when a user is created with it
    result = call(CREATE, input=_new(lastname=lastname))
    # then it is stored whole, on every database
    assert result["data"]["core_user_create_user"]["user"]["lastname"] == lastname


# --- a lost race --------------------------------------------------------------------------------
@pytest.fixture
def look_up_misses(monkeypatch):
    """The application's duplicate look-up finds nothing, as happens when a concurrent request
    commits the clashing user just after the look-up: only the database can refuse."""
    monkeypatch.setattr(users_service, "_exists", lambda *args: False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "jdoe", "Username already exists: jdoe"),
        ("idnumber", "E1", "Idnumber already exists: E1"),
        ("email", "jdoe@example.com", "Email address already exists: jdoe@example.com"),
    ],
)
def test_a_create_refused_by_the_database_gets_the_duplicate_message(
    runtime, call, look_up_misses, field, value, message
):
    # given a user holding an identifier
    assert "data" in call(CREATE, input=_new(idnumber="E1"))
    before = _user_count(runtime)
    # when another user is created with it and only the database notices
    other = _new(
        **{"username": "other", "email": "other@example.com", "idnumber": "E2", field: value}
    )
    body = call(CREATE, input=other)
    # then the client gets the same answer as from the look-up, and nothing is written
    assert _reason(body) == message
    error = body["errors"][0]
    assert (error["message"], error["extensions"]["category"]) == (
        "Internal server error",
        "internal",
    )
    assert _user_count(runtime) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "jdoe", "Username already exists: jdoe"),
        ("idnumber", "E1", "Idnumber already exists: E1"),
        ("email", "jdoe@example.com", "Email address already exists: jdoe@example.com"),
    ],
)
def test_an_update_refused_by_the_database_gets_the_duplicate_message(
    runtime, call, look_up_misses, field, value, message
):
    call(CREATE, input=_new(idnumber="E1"))
    call(CREATE, input=_new(username="other", email="other@example.com", idnumber="E2"))
    body = call(UPDATE, target={"username": "other"}, input={field: value, "city": "Moved"})
    assert _reason(body) == message
    assert _row(runtime, "other")["city"] != "Moved"


def test_blank_and_zero_idnumbers_are_left_to_share(runtime, call, look_up_misses):
    # the database's rule is the application's: PHP-empty idnumbers are never unique
    for number, idnumber in enumerate(["", "0", " ", "0", " 0\t"]):
        new = _new(username=f"u{number}", email=f"u{number}@example.com", idnumber=idnumber)
        assert "data" in call(CREATE, input=new), idnumber
