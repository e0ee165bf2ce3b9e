"""The README's worked example (docs/examples/hr_sync) runs, and the README shows it as is."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "hr_sync"
README = Path(__file__).resolve().parents[2] / "README.md"
FILES = ("hr_sync.py", "test_hr_sync.py")


def test_the_hr_sync_example_passes_against_the_sandbox(pytester: pytest.Pytester) -> None:
    # given the example's script and tests in a project of their own
    for name in FILES:
        (pytester.path / name).write_text((EXAMPLE / name).read_text())
    pytester.syspathinsert()
    # when its tests run with the plugin
    result = pytester.runpytest_inprocess("-p", "extapi.sandbox.plugin", "-p", "no:cacheprovider")
    # then every one passes
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("name", FILES)
def test_the_readme_shows_the_example_files_unchanged(name: str) -> None:
    # given the README's "Testing your integration" section
    # then it quotes each example file whole, so the text can not drift from what is tested
    assert (EXAMPLE / name).read_text() in README.read_text()
