"""``extapi hierarchy framework|type add|list`` (PRODUCT.md command-line contract)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from extapi.cli import cli
from extapi.runtime import Runtime


@pytest.fixture
def run(database_url: str, runtime: Runtime) -> Callable[..., Result]:
    """Run ``extapi ARGS`` against the test database; returns the click Result."""
    runner = CliRunner()
    env = {"EXTAPI_DATABASE_URL": database_url, "EXTAPI_SECRET_KEY": "test-secret-key"}

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def _json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.mark.parametrize("what", ["framework", "type"])
@pytest.mark.parametrize("kind", ["position", "organisation"])
def test_add_and_list(run: Callable[..., Result], what: str, kind: str) -> None:
    # given one added with --json and one without
    args = ("hierarchy", what, "add", "--kind", kind)
    first = _json(run(*args, "--idnumber", "B1", "--fullname", "Beta", "--json"))
    plain = run(*args, "--idnumber", "A1", "--fullname", "Alpha")
    # then the first printed its id and the second a sentence
    assert first["id"] and first["idnumber"] == "B1"
    assert f"{kind.capitalize()} {what} A1 added" in plain.stdout
    # and both are listed by fullname for their kind only
    listed = _json(run("hierarchy", what, "list", "--kind", kind, "--json"))
    assert [r["idnumber"] for r in listed] == ["A1", "B1"]
    other = "organisation" if kind == "position" else "position"
    assert run("hierarchy", what, "list", "--kind", other).stdout.strip() == f"No {other} {what}s."
    assert "Alpha" in run("hierarchy", what, "list", "--kind", kind).stdout


@pytest.mark.parametrize("what", ["framework", "type"])
@pytest.mark.parametrize(("kind", "article"), [("position", "A"), ("organisation", "An")])
def test_duplicate_idnumber_is_refused(
    run: Callable[..., Result], what: str, kind: str, article: str
) -> None:
    args = ("hierarchy", what, "add", "--kind", kind, "--idnumber", "X", "--fullname", "One")
    run(*args)
    failed = run(*args, ok=False)
    assert failed.exit_code == 1
    assert f"{article} {kind} {what} with idnumber 'X' already exists." in failed.output


def test_unknown_kind_is_refused(run: Callable[..., Result]) -> None:
    failed = run("hierarchy", "framework", "list", "--kind", "competency", ok=False)
    assert failed.exit_code == 2
