"""``extapi sync`` end to end, against a live extapi (the sandbox's ``extapi_server``),
through the command line as an operator runs it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from extapi.cli import cli
from extapi.client import Client
from extapi.db.tables import api_clients
from extapi.limits.window import MemoryWindowStore, _Window
from extapi.sandbox import Sandbox
from tests.hrsync.feeds import MAPPING, people, write_feed

pytestmark = pytest.mark.extapi_seed("seed.toml")

USER_FIELDS = ["id", "username", "idnumber", "firstname", "lastname", "city", "suspended"]
USER_FIELDS += ["custom_fields { shortname data }"]
JOB_FIELDS = ["id", "userid", "idnumber", "fullname", "positionid", "organisationid"]
JOB_FIELDS += ["managerjaid", "startdate"]


def sync(server: Sandbox, feed: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """Run ``extapi sync --json``; the exit status and the report."""
    result = CliRunner().invoke(
        cli,
        ["sync", str(feed), "--config", str(MAPPING), "--url", server.base_url, "--json", *extra],
        env={
            "EXTAPI_SYNC_CLIENT_ID": server.client_id,
            "EXTAPI_SYNC_CLIENT_SECRET": server.client_secret,
        },
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, orjson.loads(result.stdout)


def extract(server: Sandbox) -> dict[str, Any]:
    """Everything the sync may change, read through the API."""
    with Client(server.base_url, server.client_id, server.client_secret) as api:
        users = sorted(api.users(USER_FIELDS, page_size=500), key=lambda u: int(u["id"]))
        jobs = sorted(api.job_assignments(JOB_FIELDS), key=lambda j: int(j["id"]))
    return {"users": users, "jobs": jobs}


def by_idnumber(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["idnumber"]: u for u in snapshot["users"] if u["idnumber"]}


def jobs_of(snapshot: dict[str, Any], user: dict[str, Any]) -> list[dict[str, Any]]:
    return [j for j in snapshot["jobs"] if j["userid"] == user["id"]]


def test_a_thousand_people_then_the_same_feed_then_leavers_movers_and_bad_rows(
    extapi_server, tmp_path
):
    rows = people(1000)
    feed = write_feed(tmp_path / "people.csv", rows)
    # when a 1,000-person feed is applied to a server without them
    status, report = sync(extapi_server, feed)
    # then everyone is created with their job, managers linked
    assert status == 0, report
    assert report["applied"] == {"create": 1000, "jobs_created": 1000}
    assert report["bad_rows"] == [] and report["failures"] == []
    first = extract(extapi_server)
    people_now = by_idnumber(first)
    assert len(people_now) == 1000
    ids = {j["idnumber"]: j["id"] for j in first["jobs"]}
    job_of_7 = jobs_of(first, people_now["E00007"])[0]
    assert job_of_7["managerjaid"] == ids["J-E00000"]
    assert job_of_7["positionid"] is not None
    fields = {f["shortname"]: f["data"] for f in people_now["E00007"]["custom_fields"]}
    assert fields["department"] == "Sales"

    # when the same feed is applied again
    status, report = sync(extapi_server, feed)
    # then nothing changes
    assert status == 0 and report["applied"] == {} and report["unchanged"] == 1000
    assert extract(extapi_server) == first

    # when a feed comes with leavers, movers, renamed people and bad rows
    changed = [dict(r) for r in rows[:990]]  # 990 to 999 left
    changed[5].update(position="POS1", organisation="ORG1", manager_id="E00001")  # mover
    changed[6].update(job_id="J-E00006-B", job_title="New job")  # a new job replaces the old
    changed[7].update(last_name="Renamed", city="Nelson", dept="People")  # an update
    changed[8].update(email="broken")  # bad row: left alone, and not a leaver
    changed[9].update(position="NO-SUCH")  # bad row found by the plan
    changed[10].update(first_name="Should not apply", manager_id="E99999")  # bad: unknown boss
    feed2 = write_feed(tmp_path / "people2.csv", changed)
    before = extract(extapi_server)
    # --dry-run shows the diff and changes nothing
    status, dry = sync(extapi_server, feed2, "--dry-run")
    assert status == 1 and dry["dry_run"] is True
    assert extract(extapi_server) == before
    assert dry["planned"]["suspend"] == 10
    status, report = sync(extapi_server, feed2)
    # then the report names the bad rows by line, and exits 1
    assert status == 1
    assert [(b["line"], b["key"]) for b in report["bad_rows"]] == [
        (10, "E00008"),
        (11, "E00009"),
        (12, "E00010"),
    ]
    assert report["failures"] == []
    # (the ten staff of person 6 follow their manager to the new job)
    assert report["applied"] == {
        "suspend": 10,
        "jobs": 12,
        "update": 1,
        "jobs_updated": 11,
        "jobs_created": 1,
        "jobs_removed": 1,
    }
    assert report["planned"] == dry["planned"]
    after = extract(extapi_server)
    now = by_idnumber(after)
    # leavers are suspended, not deleted; nobody else is
    assert [k for k, u in now.items() if u["suspended"]] == [f"E00{n}" for n in range(990, 1000)]
    assert not [u for u in after["users"] if not u["idnumber"] and u["suspended"]]
    # the mover's job points at the new manager, position and organisation
    moved = jobs_of(after, now["E00005"])[0]
    ids = {j["idnumber"]: j["id"] for j in after["jobs"]}
    assert moved["managerjaid"] == ids["J-E00001"]
    assert [j["idnumber"] for j in jobs_of(after, now["E00006"])] == ["J-E00006-B"]
    assert jobs_of(after, now["E00061"])[0]["managerjaid"] == ids["J-E00006-B"]
    assert now["E00007"]["lastname"] == "Renamed" and now["E00007"]["city"] == "Nelson"
    # bad rows changed nothing of their person
    assert now["E00010"] == before_user(before, "E00010")
    assert jobs_of(after, now["E00009"]) == jobs_of(before, now["E00009"])
    assert not now["E00008"]["suspended"]

    # and a third run of that feed changes nothing more
    status, report = sync(extapi_server, feed2)
    assert report["applied"] == {} and len(report["bad_rows"]) == 3
    assert extract(extapi_server) == after


def before_user(snapshot: dict[str, Any], idnumber: str) -> dict[str, Any]:
    return by_idnumber(snapshot)[idnumber]


def test_dry_run_on_a_fresh_server_lists_the_changes_and_makes_none(extapi_server, tmp_path):
    feed = write_feed(tmp_path / "people.csv", people(12))
    before = extract(extapi_server)
    status, report = sync(extapi_server, feed, "--dry-run")
    assert status == 0
    assert [a["kind"] for a in report["actions"]] == ["create"] * 12
    assert report["actions"][0]["changes"] == ["user", "job J-E00000: new"]
    assert report["applied"] == {} and report["planned"]["create"] == 12
    assert extract(extapi_server) == before
    assert not (tmp_path / "people.csv.sync-state").exists()


def test_an_interrupted_run_resumes_without_duplicates(extapi_server, tmp_path):
    feed = write_feed(tmp_path / "people.csv", people(30))
    # when the run stops after 8 people
    status, report = sync(extapi_server, feed, "--max-actions", "8", "--batch-size", "5")
    assert status == 1 and report["stopped"].startswith("stopped after 8")
    assert report["applied"]["create"] == 8
    journal = tmp_path / "people.csv.sync-state"
    assert len(journal.read_text().splitlines()) == 1 + 8
    # then the next run carries on where it stopped, says so, and removes the journal
    status, report = sync(extapi_server, feed)
    assert status == 0, report
    assert report["resumed_after"] == 8 and report["applied"]["create"] == 22
    assert not journal.exists()
    snapshot = extract(extapi_server)
    assert len(by_idnumber(snapshot)) == 30
    assert len([j for j in snapshot["jobs"] if j["idnumber"].startswith("J-E")]) == 30


def _client_pk(server: Sandbox) -> int:
    query = select(api_clients.c.id).where(api_clients.c.client_id == server.client_id)
    with server.runtime.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_spent_rate_limit_is_waited_out_and_the_run_completes(extapi_server, tmp_path):
    # given a client whose budget a burst spent almost a minute ago: full now, free in ~3 s
    store = extapi_server.runtime.windows
    assert isinstance(store, MemoryWindowStore)
    key = f"client:{_client_pk(extapi_server)}"
    store._windows[key] = _Window(10_000_000, 0, time.time() - 57)
    feed = write_feed(tmp_path / "people.csv", people(5))
    # when the sync runs
    started = time.monotonic()
    status, report = sync(extapi_server, feed)
    # then the first request was refused, waited out, and everything applied
    assert status == 0, report
    assert report["applied"]["create"] == 5
    assert time.monotonic() - started >= 2
    assert report["rate_limited"] >= 1


def test_usage_errors_exit_2_with_the_reason_on_stderr(extapi_server, tmp_path):
    feed = write_feed(tmp_path / "people.csv", people(2))
    runner = CliRunner()
    base = ["sync", str(feed), "--url", extapi_server.base_url]
    no_credentials = runner.invoke(cli, [*base, "--config", str(MAPPING)], env={})
    assert no_credentials.exit_code == 2 and "client-id" in no_credentials.stderr
    bad_map = tmp_path / "map.toml"
    bad_map.write_text('key = "email"\n')
    creds = ["--client-id", "x", "--client-secret", "y"]
    result = runner.invoke(cli, [*base, "--config", str(bad_map), *creds])
    assert result.exit_code == 2 and "key must be one of" in result.stderr
    missing = runner.invoke(
        cli, ["sync", str(tmp_path / "none.csv"), "--config", str(MAPPING), "--url", "x", *creds]
    )
    assert missing.exit_code == 2 and "Can not read the feed" in missing.stderr


def test_wrong_credentials_exit_1_before_anything_changes(extapi_server, tmp_path):
    feed = write_feed(tmp_path / "people.csv", people(2))
    result = CliRunner().invoke(
        cli,
        ["sync", str(feed), "--config", str(MAPPING), "--url", extapi_server.base_url],
        env={"EXTAPI_SYNC_CLIENT_ID": "nope", "EXTAPI_SYNC_CLIENT_SECRET": "nope"},
    )
    assert result.exit_code == 1 and "InvalidClientError" in result.stderr
    assert len(by_idnumber(extract(extapi_server))) == 0


def test_the_text_report_names_bad_rows_by_line(extapi_server, tmp_path):
    rows = people(3)
    rows[2]["email"] = "nope"
    feed = write_feed(tmp_path / "people.csv", rows)
    result = CliRunner().invoke(
        cli,
        ["sync", str(feed), "--config", str(MAPPING), "--url", extapi_server.base_url],
        env={
            "EXTAPI_SYNC_CLIENT_ID": extapi_server.client_id,
            "EXTAPI_SYNC_CLIENT_SECRET": extapi_server.client_secret,
        },
    )
    assert result.exit_code == 1
    assert "Applied: 2 create" in result.stdout
    assert "Bad row, line 4 (E00002): email 'nope' is not an email address" in result.stdout


def test_a_person_the_server_refuses_is_left_unchanged_and_reported(extapi_server, tmp_path):
    # given a feed whose second person has the email address of an existing account (the API
    # hides addresses, so only the server can tell)
    rows = people(3)
    rows[1]["email"] = "local.admin@example.com"
    feed = write_feed(tmp_path / "people.csv", rows)
    # when it is applied
    status, report = sync(extapi_server, feed)
    # then that person's document stopped at the user: no job was made for them
    assert status == 1
    (failure,) = report["failures"]
    assert failure["key"] == "E00001" and failure["line"] == 3
    assert failure["applied"] == [] and failure["not_applied"] == ["create_user", "create_job"]
    assert report["applied"] == {"create": 2, "jobs_created": 2}
    snapshot = extract(extapi_server)
    assert set(by_idnumber(snapshot)) == {"E00000", "E00002"}
    assert {j["idnumber"] for j in snapshot["jobs"]} == {"J-E00000", "J-E00002"}
