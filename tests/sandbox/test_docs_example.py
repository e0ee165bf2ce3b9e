"""The README's worked example (docs/examples/hr_sync) runs, and the README shows it as is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import extapi
from tests.sandbox.conftest import PLUGIN

pytest_plugins = ["pytester"]

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "hr_sync"
README = Path(__file__).resolve().parents[2] / "README.md"
SOURCE = Path(extapi.__file__).resolve().parents[1]
FILES = ("hr_sync.py", "test_hr_sync.py")


def test_the_hr_sync_example_passes_against_the_sandbox(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the example's script and tests in a project of their own
    for name in FILES:
        (pytester.path / name).write_text((EXAMPLE / name).read_text())
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(pytester.path), str(SOURCE)]))
    # when its tests run with the plugin, in a new process as in a project of one's own
    result = pytester.runpytest_subprocess(*PLUGIN)
    # then every one passes, and the sandbox's start and reset times are reported
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["extapi sandbox: started in * ms, 3 resets, * ms each*"])


@pytest.mark.parametrize("name", FILES)
def test_the_readme_shows_the_example_files_unchanged(name: str) -> None:
    # given the README's "Testing your integration" section
    # then it quotes each example file whole, so the text can not drift from what is tested
    assert (EXAMPLE / name).read_text() in README.read_text()
