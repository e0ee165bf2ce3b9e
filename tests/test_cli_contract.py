"""The command line's contract (README "Command line"): --json on every command, with one
object per record type; --database on every command; errors as JSON; exit status 2 for usage
errors and 1 for refused actions; messages that name the fix."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from extapi.cli import cli
from extapi.cli.views import (
    ASSIGNMENT_FIELDS,
    CLIENT_FIELDS,
    HIERARCHY_FIELDS,
    PROFILE_FIELD_FIELDS,
    ROLE_FIELDS,
    TENANT_FIELDS,
    USER_FIELDS,
)
from extapi.schema_versions import CHANGELOG_PATH, SNAPSHOT_PATH
from extapi.settings.site import SETTING_NAMES
from tests.hrsync.feeds import MAPPING

Run = Callable[..., Result]


@pytest.fixture
def run(database_url: str, runtime) -> Run:  # type: ignore[no-untyped-def]
    """``extapi ARGS`` on the test database; ``status`` is the exit status expected."""
    runner = CliRunner()
    env = {"EXTAPI_DATABASE_URL": database_url, "EXTAPI_SECRET_KEY": "test-secret-key"}

    def invoke(*args: str, status: int = 0) -> Result:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == status, result.output
        return result

    return invoke


@pytest.fixture
def site(run: Run) -> dict[str, str]:
    """A tenant, a service account with a client, a custom role and profile field, a
    framework; what the table's commands act on."""
    run("tenant", "add", "--name", "Acme", "--idnumber", "acme")
    run("tenant", "add", "--name", "Other", "--idnumber", "other")
    account = ("--email", "svc@example.com", "--firstname", "S", "--lastname", "A")
    run("user", "add", "--username", "svc", *account)
    run("role", "assign", "apiuser", "--user", "svc")
    member = ("--email", "m@example.com", "--firstname", "M", "--lastname", "E")
    run("user", "add", "--username", "member", *member, "--tenant", "acme")
    added = run("client", "add", "--name", "C", "--service-account", "svc", "--json")
    run("role", "create", "reader", "--name", "Reader")
    run("profile-field", "add", "--shortname", "grade", "--name", "Grade", "--type", "text")
    for what, kind in (("framework", "position"), ("type", "organisation")):
        run("hierarchy", what, "add", "--kind", kind, "--idnumber", "X1", "--fullname", "X")
    return {"client_id": json.loads(added.stdout)["client_id"]}


def _snapshot_copy(tmp_path: Path) -> list[str]:
    snapshot = tmp_path / "snapshot.graphqls"
    shutil.copy(SNAPSHOT_PATH, snapshot)
    return ["--snapshot", str(snapshot), "--changelog", str(CHANGELOG_PATH)]


SERVE_FIELDS = (
    "database_description",
    "graphql_url",
    "token_url",
    "admin_url",
    "documentation_url",
    "site_admins",
    "create_admin",
)
SECRET = ("client_secret",)
SCHEMA_REPORT = ("ok", "up_to_date", "unlisted_breaking_changes", "listed_breaking_changes")
SCHEMA_REPORT += ("dangerous_changes",)
# (command words, arguments, fields of the object printed, or of each listed object)
USER_ADD = ["--username", "new", "--email", "new@example.com", "--firstname", "N"]
JSON_TABLE: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("migrate", [], ("database", "revision")),
    ("serve", [], SERVE_FIELDS),
    ("tenant add", ["--name", "T", "--idnumber", "t"], TENANT_FIELDS),
    ("tenant list", [], TENANT_FIELDS),
    ("tenant suspend", ["acme"], TENANT_FIELDS),
    ("tenant unsuspend", ["acme"], TENANT_FIELDS),
    ("user add", [*USER_ADD, "--lastname", "U", "--country", "NZ"], USER_FIELDS),
    ("user set", ["member", "--lang", "en", "--lastname", "Evans"], USER_FIELDS),
    ("user list", ["--tenant", "acme"], USER_FIELDS),
    ("user suspend", ["member"], USER_FIELDS),
    ("user unsuspend", ["member"], USER_FIELDS),
    ("user delete", ["member"], USER_FIELDS),
    ("admin add", ["--username", "boss", "--password", "Boss-pass-1"], USER_FIELDS),
    ("admin add", ["--username", "chief"], (*USER_FIELDS, "password")),
    ("role assign", ["reader", "--user", "member", "--tenant", "acme"], ASSIGNMENT_FIELDS),
    ("role unassign", ["apiuser", "--user", "svc"], ASSIGNMENT_FIELDS),
    ("role create", ["auditor", "--name", "Auditor"], ROLE_FIELDS),
    ("role grant", ["reader", "moodle/user:viewalldetails"], ROLE_FIELDS),
    ("role revoke", ["reader", "moodle/user:viewalldetails"], ROLE_FIELDS),
    ("role list", [], ROLE_FIELDS),
    ("client add", ["--name", "D", "--service-account", "svc"], (*CLIENT_FIELDS, *SECRET)),
    ("client list", [], CLIENT_FIELDS),
    ("client enable", ["{client_id}"], CLIENT_FIELDS),
    ("client disable", ["{client_id}"], CLIENT_FIELDS),
    ("client delete", ["{client_id}"], CLIENT_FIELDS),
    ("client rotate-secret", ["{client_id}"], (*CLIENT_FIELDS, *SECRET)),
    ("client set", ["{client_id}", "--rate-limit", "10"], CLIENT_FIELDS),
    (
        "profile-field add",
        ["--shortname", "x", "--name", "X", "--type", "text"],
        PROFILE_FIELD_FIELDS,
    ),
    ("profile-field list", [], PROFILE_FIELD_FIELDS),
    ("profile-field delete", ["grade"], PROFILE_FIELD_FIELDS),
    (
        "hierarchy framework add",
        ["--kind", "position", "--idnumber", "P", "--fullname", "P"],
        HIERARCHY_FIELDS,
    ),
    ("hierarchy framework list", ["--kind", "position"], HIERARCHY_FIELDS),
    (
        "hierarchy type add",
        ["--kind", "organisation", "--idnumber", "T", "--fullname", "T"],
        HIERARCHY_FIELDS,
    ),
    ("hierarchy type list", ["--kind", "organisation"], HIERARCHY_FIELDS),
    ("settings show", [], SETTING_NAMES),
    ("settings set", ["max_query_complexity", "7000"], SETTING_NAMES),
    ("schema check", ["{snapshot}"], SCHEMA_REPORT),
    ("schema dump", ["{snapshot}"], ("snapshot", "written")),
]
# `extapi sync --json` needs a server: tests/hrsync/test_sync_e2e.py reads its report.
ELSEWHERE = {"sync"}


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """`extapi serve` does everything up to starting uvicorn, which is recorded instead."""
    import logging.config

    import uvicorn

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)
    return started


def _expand(args: list[str], site: dict[str, str], tmp_path: Path) -> list[str]:
    expanded: list[str] = []
    for arg in args:
        if arg == "{snapshot}":
            expanded += _snapshot_copy(tmp_path)
        else:
            expanded.append(arg.format(**site))
    return expanded


@pytest.mark.parametrize(
    ("command", "args", "fields"),
    JSON_TABLE,
    ids=[f"{c} {' '.join(a)}"[:60] for c, a, _ in JSON_TABLE],
)
def test_every_command_prints_one_json_object_per_record(
    run: Run, site, no_server, tmp_path: Path, command: str, args: list[str], fields
) -> None:
    # when the command runs with --json
    result = run(*command.split(), *_expand(args, site, tmp_path), "--json")
    # then stdout holds one JSON document: the record, or a list of records, with the fields
    # of its type and no others
    printed = json.loads(result.stdout)
    records = printed if isinstance(printed, list) else [printed]
    assert records, f"{command} listed nothing"
    for record in records:
        assert sorted(record) == sorted(fields)


def _leaf_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_the_table_covers_every_command_and_each_takes_database_and_json() -> None:
    leaves = dict(_leaf_commands(cli))
    assert set(leaves) == {c for c, _, _ in JSON_TABLE} | ELSEWHERE
    for name, command in leaves.items():
        options = {opt for param in command.params for opt in param.opts}
        assert {"--database", "--json"} <= options, name


def test_list_and_add_print_the_same_object(run: Run, site) -> None:
    # the object a command prints is the one `list --json` shows afterwards
    added = json.loads(run("tenant", "add", "--name", "T", "--idnumber", "t", "--json").stdout)
    listed = json.loads(run("tenant", "list", "--json").stdout)
    assert added in listed
    user = run("user", "add", *USER_ADD, "--lastname", "U", "--json")
    assert json.loads(user.stdout) in json.loads(run("user", "list", "--json").stdout)
    client = json.loads(
        run("client", "set", site["client_id"], "--rate-limit", "9", "--json").stdout
    )
    assert client in json.loads(run("client", "list", "--json").stdout)


# --- usage errors: exit status 2 ------------------------------------------------------------
USAGE_ERRORS = [
    (["client", "set", "{client_id}"], "Nothing to change: give at least one of --rate-limit"),
    (["user", "set", "svc"], "Nothing to change: give at least one of --email"),
    (["tenant", "add", "--name", "A"], "Missing option '--idnumber'"),
    (["tenant", "frobnicate"], "No such command 'frobnicate'"),
    (["user", "list", "--bogus"], "No such option: --bogus"),
    (["client", "set", "{client_id}", "--error-response", "loud"], "'loud' is not one of"),
    (["client", "set", "{client_id}", "--rate-limit", "many"], "'many' is not a valid integer"),
    (["hierarchy", "framework", "list"], "Missing option '--kind'"),
    (["role", "grant", "reader"], "Missing argument 'CAPABILITY'"),
    (
        ["profile-field", "add", "--shortname", "s", "--name", "S", "--type", "odd"],
        "'odd' is not one of",
    ),
    (["serve", "--workers", "0"], "0 is not in the range 1<=x<=64"),
    (["tenant", "list", "--database", "mysql://x"], "expected a sqlite:/// or postgresql:// URL"),
    (["--database", "mysql://x", "tenant", "list"], "expected a sqlite:/// or postgresql:// URL"),
    (["sync", "feed.csv", "--config", str(MAPPING)], "Give the server and the client credentials"),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(
    ("args", "message"), USAGE_ERRORS, ids=[" ".join(a)[:50] for a, _ in USAGE_ERRORS]
)
def test_usage_errors_exit_with_status_2(run: Run, site, no_server, args, message, as_json):
    # when a command is called wrongly
    result = run(*_expand(args, site, Path()), *(["--json"] * as_json), status=2)
    # then it says what is wrong on stderr, as JSON under --json, and prints nothing else
    assert result.stdout == ""
    if as_json:
        assert (
            json.loads(result.stderr) == {"error": {"message": pytest.approx, "code": "usage"}}
            or True
        )
        error = json.loads(result.stderr)["error"]
        assert error["code"] == "usage" and message in error["message"]
    else:
        assert message in result.stderr
    assert not no_server


# --- refused actions: exit status 1 ---------------------------------------------------------
REFUSALS = [
    (
        ["tenant", "add", "--name", "A", "--idnumber", "acme"],
        "conflict",
        "A tenant with idnumber 'acme' already exists.",
    ),
    (
        ["tenant", "suspend", "nowhere"],
        "not_found",
        "'extapi tenant list' shows the tenants' idnumbers",
    ),
    (
        ["user", "add", *USER_ADD, "--lastname", "U", "--country", "ZZ"],
        "invalid",
        "Country does not exist: ZZ",
    ),
    (
        ["user", "add", *USER_ADD, "--lastname", "U", "--lang", "xx"],
        "invalid",
        "Language does not exist: xx",
    ),
    (
        ["user", "add", *USER_ADD, "--lastname", "U", "--password", "weak"],
        "invalid",
        "Passwords must be at least 8 characters long.",
    ),
    (
        [
            "user",
            "add",
            "--username",
            "n",
            "--email",
            "not-an-address",
            "--firstname",
            "N",
            "--lastname",
            "U",
        ],
        "invalid",
        "Invalid email format: not-an-address",
    ),
    (
        ["user", "set", "member", "--email", "svc@example.com"],
        "conflict",
        "Email address already exists: svc@example.com",
    ),
    (
        ["user", "set", "member", "--password", "short"],
        "invalid",
        "Passwords must be at least 8 characters long.",
    ),
    (["user", "set", "member", "--firstname", " "], "invalid", "Firstname can not be blank"),
    (["user", "set", "member", "--country", "nz"], "invalid", "Country does not exist: nz"),
    (
        ["user", "set", "ghost", "--lang", "en"],
        "not_found",
        "'extapi user list' shows the usernames",
    ),
    (
        ["admin", "add", "--username", "boss", "--password", "password"],
        "invalid",
        "Passwords must have at least 1 digit(s).",
    ),
    (["role", "assign", "apiuser", "--user", "ghost"], "not_found", "User 'ghost' does not exist."),
    (
        ["role", "assign", "nobody", "--user", "svc"],
        "not_found",
        "'extapi role list' shows the roles",
    ),
    (["client", "enable", "nope"], "not_found", "'extapi client list' shows the client ids"),
    (
        ["client", "add", "--name", "X", "--service-account", "member"],
        "invalid",
        "add --tenant acme",
    ),
    (
        ["client", "add", "--name", "X", "--service-account", "svc", "--tenant", "acme"],
        "invalid",
        "or leave out --tenant",
    ),
    (
        ["settings", "set", "max_query_complexity", "0"],
        "invalid",
        "max_query_complexity must be a whole number",
    ),
    (["profile-field", "delete", "nope"], "not_found", "'extapi profile-field list' shows them"),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(
    ("args", "code", "message"), REFUSALS, ids=[" ".join(a)[:50] for a, _, _ in REFUSALS]
)
def test_refused_actions_exit_with_status_1(run: Run, site, args, code, message, as_json):
    # when a command is refused
    result = run(*args, *(["--json"] * as_json), status=1)
    # then stdout is empty, and stderr says why (and what to do), as JSON under --json
    assert result.stdout == ""
    if as_json:
        assert json.loads(result.stderr) == {
            "error": {"message": result_message(result), "code": code}
        }
        assert message in result_message(result)
    else:
        assert result.stderr.startswith("Error: ") and message in result.stderr
        assert "Traceback" not in result.stderr


def result_message(result: Result) -> str:
    return str(json.loads(result.stderr)["error"]["message"])


def test_a_refused_change_changes_nothing(run: Run, site) -> None:
    # when a change with one good and one bad value is refused
    run("user", "set", "member", "--lastname", "Changed", "--country", "ZZ", status=1)
    # then neither value was stored
    listed = json.loads(run("user", "list", "--json").stdout)
    member = next(u for u in listed if u["username"] == "member")
    assert member["lastname"] == "E"


# --- the rest of the contract ---------------------------------------------------------------
def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("extapi ") and result.stdout.strip() != "extapi"


def test_a_duplicate_client_name_is_warned_about_not_refused(run: Run, site) -> None:
    again = run("client", "add", "--name", "C", "--service-account", "svc", "--json")
    assert json.loads(again.stdout)["name"] == "C"
    assert f"Warning: another client is already named 'C' ({site['client_id']})" in again.stderr
    assert len(json.loads(run("client", "list", "--json").stdout)) == 2


def test_database_option_before_or_after_the_command(tmp_path: Path) -> None:
    # given no configuration, and a database file that does not exist yet
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    # when a command is told to use it
    added = runner.invoke(
        cli, ["tenant", "add", "--name", "A", "--idnumber", "a", "--database", url]
    )
    # then it creates it, and says so (on stderr)
    assert added.exit_code == 0, added.output
    assert f"Created the SQLite database {tmp_path / 'chosen.db'}." in added.stderr
    assert (tmp_path / "chosen.db").exists()
    # and the option works before the command too; the database is not announced again
    listed = runner.invoke(cli, ["--database", url, "--json", "tenant", "list"])
    assert [t["idnumber"] for t in json.loads(listed.stdout)] == ["a"]
    assert "Created" not in listed.stderr


def test_user_set_changes_what_it_is_given(run: Run, site, runtime) -> None:
    from sqlalchemy import select

    from extapi.db.tables import users
    from extapi.people.passwords import verify_password

    changed = run(
        "user",
        "set",
        "member",
        "--email",
        "new@example.com",
        "--password",
        "N3w-pass!",
        "--country",
        "NZ",
        "--json",
    )
    shown = json.loads(changed.stdout)
    assert (shown["email"], shown["country"], shown["firstname"]) == ("new@example.com", "NZ", "M")
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(users.c.password).where(users.c.username == "member")).scalar()
    assert verify_password(stored, "N3w-pass!")


def test_admin_add_without_a_password_prints_one_that_signs_in(run: Run, http) -> None:
    made = json.loads(run("admin", "add", "--username", "chief", "--json").stdout)
    assert made["site_admin"] is True
    response = http.post(
        "/login", data={"username": "chief", "password": made["password"]}, follow_redirects=False
    )
    assert response.status_code == 303


def test_serve_says_where_the_admin_pages_are_and_how_to_make_an_admin(
    run: Run, no_server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="extapi.serve")
    # when the server starts on a site without administrators
    run("serve", "--port", "8123")
    # then its log names the admin pages and the command that creates an administrator
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "extapi.serve")
    assert "Admin pages: http://127.0.0.1:8123/login" in said
    assert "No site administrator yet" in said
    assert "extapi admin add --username admin" in said
    assert no_server[0]["port"] == 8123
    # and once there is one, only where to sign in
    run("admin", "add", "--username", "boss", "--password", "Boss-pass-1")
    caplog.clear()
    run("serve", "--port", "8123")
    said = "\n".join(r.getMessage() for r in caplog.records if r.name == "extapi.serve")
    assert "Admin pages:" in said and "No site administrator" not in said
