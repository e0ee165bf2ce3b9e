"""The command-line contract of PRODUCT.md section 4."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from extapi.cli import cli
from tests.factories import TOKEN_PATH, graphql


@pytest.fixture
def run(database_url, runtime):
    """Run ``extapi ARGS`` against the test database; returns the click Result."""
    runner = CliRunner()
    env = {"EXTAPI_DATABASE_URL": database_url, "EXTAPI_SECRET_KEY": "test-secret-key"}

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _json(result) -> dict:
    return json.loads(result.stdout)


def _add_user(run, username: str, *extra: str) -> None:
    run(
        "user",
        "add",
        "--username",
        username,
        "--email",
        f"{username}@example.com",
        "--firstname",
        "Test",
        "--lastname",
        "User",
        *extra,
    )


def test_full_client_registration_flow(run, http):
    # given a service account with the API User role
    run(
        "user",
        "add",
        "--username",
        "svc",
        "--email",
        "svc@example.com",
        "--firstname",
        "Service",
        "--lastname",
        "Account",
    )
    run("role", "assign", "apiuser", "--user", "svc")
    # when a client is added with --json
    created = _json(run("client", "add", "--name", "HR sync", "--service-account", "svc", "--json"))
    # then it prints the id and the credentials, which work at the token endpoint
    assert {"id", "client_id", "client_secret"} <= set(created)
    assert len(created["client_id"]) == 16 and created["client_id"].isalnum()
    assert len(created["client_secret"]) >= 24 and created["client_secret"].isalnum()
    token = http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    ).json()["access_token"]
    body = graphql(
        http, token, {"query": "query { totara_webapi_status { status } }", "variables": "{}"}
    )
    assert body.content == b'{"data":{"totara_webapi_status":{"status":"ok"}}}'


def test_client_list_never_shows_secrets(run):
    run(
        "user",
        "add",
        "--username",
        "svc",
        "--email",
        "s@example.com",
        "--firstname",
        "S",
        "--lastname",
        "A",
    )
    created = _json(run("client", "add", "--name", "One", "--service-account", "svc", "--json"))
    listed = json.loads(run("client", "list", "--json").stdout)
    assert listed[0]["client_id"] == created["client_id"]
    assert created["client_secret"] not in run("client", "list").stdout
    assert "client_secret" not in listed[0]


def test_client_lifecycle_commands(run):
    run(
        "user",
        "add",
        "--username",
        "svc",
        "--email",
        "s@example.com",
        "--firstname",
        "S",
        "--lastname",
        "A",
    )
    client_id = _json(
        run("client", "add", "--name", "C", "--service-account", "svc", "--disabled", "--json")
    )["client_id"]
    assert _json(run("client", "enable", client_id, "--json"))["status"] == "enabled"
    assert _json(run("client", "disable", client_id, "--json"))["status"] == "disabled"
    rotated = _json(run("client", "rotate-secret", client_id, "--json"))
    assert rotated["client_secret"].isalnum()
    settings = _json(
        run(
            "client",
            "set",
            client_id,
            "--rate-limit",
            "100",
            "--token-expiry",
            "600",
            "--error-response",
            "developer",
            "--json",
        )
    )
    assert (settings["rate_limit"], settings["token_expiry"]) == (100, 600)
    assert settings["error_response"] == "developer"
    run("client", "delete", client_id)
    assert json.loads(run("client", "list", "--json").stdout) == []


def test_client_ip_allow_list_is_set_shown_and_cleared(run, http):
    # given a client, which has no allow-list when created
    _add_user(run, "svc")
    created = _json(run("client", "add", "--name", "C", "--service-account", "svc", "--json"))
    assert created["allowed_ips"] == []
    client_id = created["client_id"]
    # when a list is set, it is stored normalised and listed
    shown = _json(
        run("client", "set", client_id, "--allowed-ips", "10.0.0.0/8, 2001:DB8::/32", "--json")
    )
    assert shown["allowed_ips"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert json.loads(run("client", "list", "--json").stdout)[0]["allowed_ips"] == [
        "10.0.0.0/8",
        "2001:db8::/32",
    ]
    assert "allowed IPs: 10.0.0.0/8, 2001:db8::/32" in run("client", "list").stdout
    # and the token endpoint now refuses the test client's address
    response = http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": created["client_secret"],
        },
    )
    assert response.status_code == 403
    # when another setting changes, the list stays; an empty value clears it
    assert _json(run("client", "set", client_id, "--rate-limit", "5", "--json"))["allowed_ips"] == [
        "10.0.0.0/8",
        "2001:db8::/32",
    ]
    cleared = _json(run("client", "set", client_id, "--allowed-ips", "", "--json"))
    assert cleared["allowed_ips"] == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set: write the range as 10.0.0.0/8."),
        ("10.0.0.0/8, intranet", "'intranet' is not an IP address or a CIDR range."),
    ],
)
def test_bad_allow_list_entries_are_refused_by_name(run, value, message):
    _add_user(run, "svc")
    created = _json(run("client", "add", "--name", "C", "--service-account", "svc", "--json"))
    refused = run("client", "set", created["client_id"], "--allowed-ips", value, ok=False)
    assert refused.exit_code != 0
    assert message in refused.stderr
    assert refused.stdout == ""
    assert json.loads(run("client", "list", "--json").stdout)[0]["allowed_ips"] == []


def test_rate_limit_above_site_limit_warns(run):
    run(
        "user",
        "add",
        "--username",
        "svc",
        "--email",
        "s@example.com",
        "--firstname",
        "S",
        "--lastname",
        "A",
    )
    client_id = _json(run("client", "add", "--name", "C", "--service-account", "svc", "--json"))[
        "client_id"
    ]
    result = run("client", "set", client_id, "--rate-limit", "300000")
    assert (
        "This client's rate limit exceeds the site limit, so the site limit is being enforced."
    ) in result.stderr


def test_tenant_client_needs_a_member_of_the_tenant(run):
    run("tenant", "add", "--name", "Acme", "--idnumber", "acme")
    run(
        "user",
        "add",
        "--username",
        "outsider",
        "--email",
        "o@example.com",
        "--firstname",
        "O",
        "--lastname",
        "U",
    )
    run(
        "user",
        "add",
        "--username",
        "member",
        "--email",
        "m@example.com",
        "--firstname",
        "M",
        "--lastname",
        "E",
        "--tenant",
        "acme",
    )
    refused = run(
        "client",
        "add",
        "--name",
        "T",
        "--service-account",
        "outsider",
        "--tenant",
        "acme",
        ok=False,
    )
    assert refused.exit_code == 1
    assert "The user does not belong to the tenant." in refused.stderr
    wrong = run("client", "add", "--name", "S", "--service-account", "member", ok=False)
    assert "The user is not valid. The status is WRONG_TENANT" in wrong.stderr
    run("role", "assign", "apiuser", "--user", "member", "--tenant", "acme")
    created = _json(
        run(
            "client",
            "add",
            "--name",
            "T",
            "--service-account",
            "member",
            "--tenant",
            "acme",
            "--json",
        )
    )
    assert created["tenant"] == "acme"


@pytest.mark.parametrize(
    ("setup", "status"),
    [("suspend", "SUSPENDED"), ("admin", "ADMIN")],
)
def test_invalid_service_accounts_are_refused_at_creation(run, setup, status):
    if setup == "admin":
        run("admin", "add", "--username", "boss", "--password", "Secret-123")
        username = "boss"
    else:
        run(
            "user",
            "add",
            "--username",
            "gone",
            "--email",
            "g@example.com",
            "--firstname",
            "G",
            "--lastname",
            "O",
        )
        run("user", "suspend", "gone")
        username = "gone"
    result = run("client", "add", "--name", "X", "--service-account", username, ok=False)
    assert f"The user is not valid. The status is {status}" in result.stderr


def test_client_name_and_description_limits(run):
    run(
        "user",
        "add",
        "--username",
        "svc",
        "--email",
        "s@example.com",
        "--firstname",
        "S",
        "--lastname",
        "A",
    )
    long_name = run("client", "add", "--name", "n" * 76, "--service-account", "svc", ok=False)
    assert "Name must not exceed 75 characters." in long_name.stderr
    long_text = run(
        "client",
        "add",
        "--name",
        "ok",
        "--description",
        "d" * 1025,
        "--service-account",
        "svc",
        ok=False,
    )
    assert "Description must not exceed 1024 characters." in long_text.stderr


def test_enabled_client_cannot_join_a_suspended_tenant(run):
    run("tenant", "add", "--name", "Acme", "--idnumber", "acme")
    run(
        "user",
        "add",
        "--username",
        "m",
        "--email",
        "m@example.com",
        "--firstname",
        "M",
        "--lastname",
        "E",
        "--tenant",
        "acme",
    )
    created = _json(
        run("client", "add", "--name", "T", "--service-account", "m", "--tenant", "acme", "--json")
    )
    run("tenant", "suspend", "acme")
    listed = json.loads(run("client", "list", "--json").stdout)
    assert listed[0]["status"] == "disabled"
    refused = run("client", "enable", created["client_id"], ok=False)
    assert "A client in a suspended tenant can not be enabled." in refused.stderr
    again = run(
        "client", "add", "--name", "T2", "--service-account", "m", "--tenant", "acme", ok=False
    )
    assert "An enabled client can not be added to a suspended tenant." in again.stderr


def test_settings_show_and_set(run):
    shown = json.loads(run("settings", "show", "--json").stdout)
    assert shown["max_query_complexity"] == 6000
    run("settings", "set", "max_query_complexity", "9000")
    assert json.loads(run("settings", "show", "--json").stdout)["max_query_complexity"] == 9000
    bad = run("settings", "set", "max_query_complexity", "0", ok=False)
    assert bad.exit_code == 1
    assert "max_query_complexity must be a whole number" in bad.stderr


def test_role_commands(run):
    run(
        "user",
        "add",
        "--username",
        "u1",
        "--email",
        "u1@example.com",
        "--firstname",
        "U",
        "--lastname",
        "One",
    )
    run("role", "create", "readonly", "--name", "Read only")
    run("role", "grant", "readonly", "moodle/user:viewalldetails")
    run("role", "grant", "readonly", "moodle/user:delete", "--permission", "prohibit")
    run("role", "assign", "readonly", "--user", "u1")
    listed = {r["shortname"]: r for r in json.loads(run("role", "list", "--json").stdout)}
    assert listed["readonly"]["capabilities"] == {
        "moodle/user:delete": -1000,
        "moodle/user:viewalldetails": 1,
    }
    run("role", "revoke", "readonly", "moodle/user:delete")
    run("role", "unassign", "readonly", "--user", "u1")


def test_errors_say_what_is_wrong(run):
    missing_user = run("role", "assign", "apiuser", "--user", "ghost", ok=False)
    assert missing_user.exit_code == 1
    assert "User 'ghost' does not exist." in missing_user.stderr
    duplicate = run("tenant", "add", "--name", "A", "--idnumber", "a")
    assert duplicate.exit_code == 0
    again = run("tenant", "add", "--name", "A", "--idnumber", "a", ok=False)
    assert "A tenant with idnumber 'a' already exists." in again.stderr


def test_every_command_creates_and_migrates_a_new_database(tmp_path: Path):
    # given an empty directory and no configuration
    # when the first command runs there, in a separate process
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "extapi",
            "tenant",
            "add",
            "--name",
            "A",
            "--idnumber",
            "a",
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    # then the default SQLite file is created, migrated, and the command succeeds
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == 1
    assert (tmp_path / "extapi.db").exists()


def test_bad_database_url_fails_fast(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "extapi", "migrate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "EXTAPI_DATABASE_URL": "mysql://x"},
    )
    assert result.returncode == 1
    assert "EXTAPI_DATABASE_URL must be a sqlite:/// or postgresql:// URL" in result.stderr


def test_profile_field_commands(run):
    created = _json(
        run(
            "profile-field",
            "add",
            "--shortname",
            "grade",
            "--name",
            "Grade",
            "--type",
            "menu",
            "--options",
            "A,B",
            "--json",
        )
    )
    assert created["type"] == "menu" and created["id"] >= 1
    run(
        "profile-field",
        "add",
        "--shortname",
        "secret",
        "--name",
        "Secret",
        "--type",
        "text",
        "--visible",
        "none",
        "--locked",
    )
    listed = {f["shortname"]: f for f in json.loads(run("profile-field", "list", "--json").stdout)}
    assert listed["grade"]["options"] == ["A", "B"]
    assert (listed["secret"]["visible"], listed["secret"]["locked"]) == (0, True)
    duplicate = run(
        "profile-field", "add", "--shortname", "grade", "--name", "G", "--type", "text", ok=False
    )
    assert "A custom profile field 'grade' already exists." in duplicate.stderr
    empty_menu = run(
        "profile-field", "add", "--shortname", "m", "--name", "M", "--type", "menu", ok=False
    )
    assert "A menu field needs at least one option" in empty_menu.stderr
    run("profile-field", "delete", "grade")
    assert "grade" not in run("profile-field", "list").stdout


def test_admin_add_on_an_existing_user_sets_the_password(run, runtime):
    from sqlalchemy import select

    from extapi.db.tables import site_admins, users
    from extapi.people.passwords import verify_password

    _add_user(run, "boss")
    run("admin", "add", "--username", "boss", "--password", "N3w-secret!")
    with runtime.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == "boss")).mappings().one()
        admins = conn.execute(select(site_admins.c.user_id)).scalars().all()
    assert row["id"] in admins
    assert verify_password(row["password"], "N3w-secret!")


def _user_add(run, username: str, email: str, *extra: str, ok: bool = True):  # type: ignore[no-untyped-def]
    args = ("--username", username, "--email", email, "--firstname", "T", "--lastname", "U")
    return run("user", "add", *args, *extra, ok=ok)


def test_user_add_refuses_taken_identifiers_with_totaras_messages(run):
    # given a user
    _user_add(run, "first", "first@example.com", "--idnumber", "E1")
    # when others are added with its e-mail address or idnumber
    same_email = _user_add(run, "second", "first@example.com", ok=False)
    same_idnumber = _user_add(run, "third", "third@example.com", "--idnumber", "E1", ok=False)
    # then each is refused with Totara's message and no traceback
    assert same_email.exit_code == 1
    assert "Email address already exists: first@example.com" in same_email.stderr
    assert "Idnumber already exists: E1" in same_idnumber.stderr
    assert "Traceback" not in same_email.output + same_idnumber.output


def test_user_add_that_loses_a_race_gets_the_same_message(run, monkeypatch):
    # given a user, and a look-up that misses it (as when another process commits it just
    # after the look-up), so that only the database refuses the duplicate
    from extapi.people import users

    _user_add(run, "first", "first@example.com")
    monkeypatch.setattr(users, "identifier_taken", lambda *args: False, raising=False)
    # when the same username is added again, then the message is the look-up's
    again = _user_add(run, "first", "other@example.com", ok=False)
    assert again.exit_code == 1
    assert "Username already exists: first" in again.stderr


# --- one set of rules for every entry point (the API's) -----------------------------------------
@pytest.mark.parametrize(
    ("extra", "email", "message"),
    [
        ((), "ｆｕｌｌ@example.com", "Invalid email format: ｆｕｌｌ@example.com"),
        (("--password", "weak"), "weak@example.com", "Passwords must be at least 8 characters"),
        (("--firstname", " "), "blank@example.com", "Firstname can not be blank"),
    ],
    ids=["full-width e-mail", "weak password", "blank first name"],
)
def test_user_add_applies_the_apis_rules(run, runtime, extra, email, message):
    from sqlalchemy import func, select

    from extapi.db.tables import users

    with runtime.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(users)).scalar_one()
    # when a user the API would refuse is added on the command line
    result = _user_add(run, "newcomer", email, *extra, ok=False)
    # then it is refused with the API's message, and nothing is stored
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    with runtime.engine.connect() as conn:
        after = conn.execute(select(func.count()).select_from(users)).scalar_one()
    assert after == before


def test_settings_refuse_a_country_the_api_would_refuse(run):
    # when the default country is set to a code that is no country
    result = run("settings", "set", "country", "ZZ", ok=False)
    # then it is refused (users created afterwards would get it) and a real one is taken
    assert result.exit_code == 1
    assert "ZZ is not one" in result.stderr
    run("settings", "set", "country", "NZ")
