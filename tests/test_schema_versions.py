"""The released schema contract: the committed snapshot, the changelog and the check.

The first test is the one CI relies on: it fails when the schema the server builds differs
from the committed snapshot, naming any breaking change the changelog does not list.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from extapi.cli import cli
from extapi.graphql.schema import build_schema
from extapi.schema_versions import (
    CHANGELOG_PATH,
    SNAPSHOT_PATH,
    compare,
    listed_breaking_changes,
    printed,
)

CURRENT = printed(build_schema())
REMOVED = "totara_webapi_status.legacy_flag was removed."
ADDED_VALUE = "SUSPENDED was added to enum type core_user_users_status_filter."

OLD_SDL = """
type Query { core_thing: core_thing }
type core_thing { keep: String gone: String }
enum core_kind { A }
"""
NEW_SDL = """
type Query { core_thing: core_thing }
type core_thing { keep: String }
enum core_kind { A B }
"""
GONE = "core_thing.gone was removed."


def _changelog(*breaking: str) -> str:
    items = "\n".join(f"- `{change}` Use something else." for change in breaking)
    return f"# Schema changelog\n\n## Unreleased\n\n### Breaking changes\n\n{items}\n"


# --- the committed files ----------------------------------------------------------------------
def test_the_current_schema_is_the_committed_snapshot():
    report = compare(
        SNAPSHOT_PATH.read_text(encoding="utf-8"),
        CURRENT,
        CHANGELOG_PATH.read_text(encoding="utf-8"),
    )
    assert report.unlisted == (), (
        f"Breaking schema changes missing from extapi/schema/CHANGELOG.md: {list(report.unlisted)}"
    )
    assert report.up_to_date, "The schema changed: run `extapi schema dump` and commit the file."


def test_the_snapshot_carries_no_trailing_white_space():
    assert not [line for line in SNAPSHOT_PATH.read_text().splitlines() if line != line.rstrip()]


# --- the checker ------------------------------------------------------------------------------
def test_a_removed_field_fails_until_the_changelog_lists_it():
    # given a snapshot with a field the current schema no longer has, and no changelog entry
    report = compare(OLD_SDL, NEW_SDL, _changelog())
    # then the removal is an unlisted breaking change
    assert report.unlisted == (GONE,)
    assert not report.ok
    # when the changelog lists it
    listed = compare(OLD_SDL, NEW_SDL, _changelog(GONE))
    # then it is no longer a failure; only the snapshot is left to dump
    assert listed.unlisted == ()
    assert listed.listed == (GONE,)
    assert not listed.up_to_date


def test_dangerous_changes_are_warnings_not_failures():
    report = compare(OLD_SDL, NEW_SDL, _changelog(GONE))
    assert report.dangerous == ("B was added to enum type core_kind.",)
    assert report.unlisted == ()


def test_identical_texts_are_up_to_date_even_without_trailing_spaces():
    report = compare("type Query {\n  a: String  \n}\n", "type Query {\n  a: String\n}", "")
    assert report.ok


@pytest.mark.parametrize(
    ("changelog", "why"),
    [
        (f"## 1.0\n\n### Added\n\n- `{GONE}`\n", "listed under another heading"),
        (f"## 1.0\n\n### Breaking changes\n\nWe removed `{GONE}`\n", "not a list item"),
        (f"### Breaking changes\n\n```\n- `{GONE}`\n```\n", "inside a fenced block"),
        ("### Breaking changes\n\n- `thing.gone was removed.`\n", "a shorter name"),
        ("### Breaking changes\n\n- core_thing.gone was removed.\n", "not in a code span"),
        (f"### Breaking changes\n\n- `{GONE[:-1]}`\n", "not the exact text"),
    ],
)
def test_only_exact_code_spans_in_breaking_items_count(changelog, why):
    assert compare(OLD_SDL, NEW_SDL, changelog).unlisted == (GONE,), why


def test_listing_accepts_any_version_heading_level_and_star_items():
    changelog = f"# Log\n\n## 2.0 (2027-01-01)\n\n## Breaking Changes ##\n\n* `{GONE}` Gone.\n"
    assert listed_breaking_changes(changelog) == {GONE}


def test_the_committed_changelog_follows_its_own_format():
    text = CHANGELOG_PATH.read_text(encoding="utf-8")
    assert text.startswith("# Schema changelog\n")
    assert "### Breaking changes" in text
    # its worked example sits in a fenced block, so it lists nothing
    assert listed_breaking_changes(text) == frozenset()


def test_a_snapshot_that_is_not_sdl_is_reported():
    from extapi.errors import ConfigError

    with pytest.raises(ConfigError, match="snapshot is not a valid GraphQL schema"):
        compare("type Query {", NEW_SDL, "")


# --- the commands -----------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A temporary snapshot holding a field the current schema lacks, and an empty changelog."""
    marker = "type totara_webapi_status {\n"
    assert marker in CURRENT
    snapshot = tmp_path / "extapi.graphqls"
    snapshot.write_text(CURRENT.replace(marker, marker + "  legacy_flag: Boolean\n\n"))
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(_changelog())
    return snapshot, changelog


def _run(*args: str):
    return CliRunner().invoke(cli, ["schema", *args], catch_exceptions=False)


def _paths(files: tuple[Path, Path]) -> list[str]:
    return ["--snapshot", str(files[0]), "--changelog", str(files[1])]


def test_check_fails_on_an_unlisted_removal_then_passes_once_listed_and_dumped(files):
    snapshot, changelog = files
    # when the check runs against a snapshot with a field since removed
    failed = _run("check", *_paths(files))
    # then it fails and names the change
    assert failed.exit_code == 1
    assert f"`{REMOVED}`" in failed.output
    assert "### Breaking changes" in failed.output
    # and dump refuses to hide it
    refused = _run("dump", *_paths(files))
    assert refused.exit_code == 1
    assert "Snapshot not written." in refused.output
    assert "legacy_flag" in snapshot.read_text()
    # when the changelog lists it
    changelog.write_text(_changelog(REMOVED))
    listed = _run("check", *_paths(files))
    # then only the stale snapshot is left, and the message says how to mend it
    assert listed.exit_code == 1
    assert "out of date" in listed.output
    assert "extapi schema dump" in listed.output
    # and once dumped, the check passes
    dumped = _run("dump", *_paths(files))
    assert dumped.exit_code == 0, dumped.output
    assert snapshot.read_text() == CURRENT
    assert _run("check", *_paths(files)).exit_code == 0


def test_check_reports_dangerous_changes_as_warnings(files):
    snapshot, _changelog_path = files
    value = '\n\n  """Suspended users only."""\n  SUSPENDED\n'
    assert value in CURRENT
    snapshot.write_text(CURRENT.replace(value, "\n"))
    result = _run("check", *_paths(files))
    assert "Warning: dangerous changes" in result.output
    assert ADDED_VALUE in result.output
    assert "Breaking changes not listed" not in result.output
    # the stale snapshot still fails the check, telling the developer to dump
    assert result.exit_code == 1
    assert "extapi schema dump" in result.output


def test_check_as_json(files):
    result = _run("check", "--json", *_paths(files))
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "up_to_date": False,
        "unlisted_breaking_changes": [REMOVED],
        "listed_breaking_changes": [],
        "dangerous_changes": [],
    }


def test_dump_creates_a_missing_snapshot(tmp_path: Path):
    snapshot = tmp_path / "new.graphqls"
    result = _run("dump", "--snapshot", str(snapshot), "--changelog", str(tmp_path / "none.md"))
    assert result.exit_code == 0, result.output
    assert snapshot.read_text() == CURRENT


def test_the_committed_files_pass_the_command():
    result = _run("check")
    assert result.exit_code == 0, result.output
    assert "matches the snapshot" in result.output


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["check", "--bogus"], 2, "No such option"),
        (["check", "--snapshot"], 2, "requires an argument"),
        (["check", "--snapshot", "/nonexistent/x.graphqls"], 1, "Cannot read the schema snapshot"),
        (["dump", "--snapshot", "/nonexistent/dir/x.graphqls"], 1, "Cannot write"),
    ],
)
def test_usage_errors_and_missing_files(args, code, text):
    result = CliRunner().invoke(cli, ["schema", *args])
    assert result.exit_code == code
    assert text in result.output


def test_check_rejects_a_snapshot_that_is_not_sdl(files):
    snapshot, _ = files
    snapshot.write_text("type Query {")
    result = CliRunner().invoke(cli, ["schema", "check", *_paths(files)])
    assert result.exit_code == 1
    assert "not a valid GraphQL schema" in result.output
