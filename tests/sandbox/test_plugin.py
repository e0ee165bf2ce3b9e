"""The pytest plugin, run by pytest inside pytest (``pytester``): fixtures, reset between
tests, the seed by ini option and by marker, and the timing line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sandbox.conftest import PLUGIN

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def _in_process(modules_loaded: None) -> None:
    """Inner runs are in this process (see ``modules_loaded``): much faster than a process
    each, and the seed snapshots made by one run serve the next."""


HELPERS = """
import httpx

def usernames(server):
    answer = httpx.post(
        server.graphql_url,
        json={"query": "{ core_user_users { items { username } } }"},
        headers={"Authorization": f"Bearer {server.token()}"},
    ).json()
    return {user["username"] for user in answer["data"]["core_user_users"]["items"]}

def create(server, username):
    answer = httpx.post(
        server.graphql_url,
        json={
            "query": "mutation($i: core_user_create_user_input!) "
            "{ core_user_create_user(input: $i) { user { id } } }",
            "variables": {"i": {"username": username, "firstname": "F", "lastname": "L",
                                "email": f"{username}@example.com", "generate_password": True}},
        },
        headers={"Authorization": f"Bearer {server.token()}"},
    ).json()
    assert "errors" not in answer, answer
"""

CREATE_THEN_LOOK = """
from helpers import create, usernames

def test_one_creates_a_user(extapi_server):
    create(extapi_server, "zoe.first")
    assert "zoe.first" in usernames(extapi_server)

def test_two_looks_for_it(extapi_server):
    print("SEEN:", "zoe.first" in usernames(extapi_server))
"""

SMALL_SEED = """
[[users]]
username = "only.person"
firstname = "Only"
lastname = "Person"

[[clients]]
name = "Small"
"""


def _project(pytester: pytest.Pytester, tests: str) -> None:
    pytester.makepyfile(helpers=HELPERS, test_project=tests)


def test_a_user_created_in_one_test_is_gone_in_the_next(pytester: pytest.Pytester) -> None:
    # given a project whose first test creates a user through the API
    _project(pytester, CREATE_THEN_LOOK)
    # when both tests run with the default reset behaviour
    result = pytester.runpytest_inprocess(*PLUGIN, "-s")
    # then both pass, the second does not see the first's user, and the timing is reported
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*SEEN: False*", "extapi sandbox: started in * ms, 2 resets*"])


def test_reset_per_session_keeps_changes_between_tests(pytester: pytest.Pytester) -> None:
    # given the same project, configured to reset only once per session
    _project(pytester, CREATE_THEN_LOOK)
    pytester.makeini("[pytest]\nextapi_reset = session\n")
    # when both tests run
    result = pytester.runpytest_inprocess(*PLUGIN, "-s")
    # then the second test sees the user the first created
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*SEEN: True*"])


def test_the_seed_comes_from_the_ini_option_or_a_marker(pytester: pytest.Pytester) -> None:
    # given a small seed named in the ini file, and a test marked for the example seed
    pytester.makefile(".toml", small=SMALL_SEED)
    pytester.makeini("[pytest]\nextapi_seed = small.toml\n")
    example = pytester.path / "example.toml"
    from extapi.sandbox import EXAMPLE_SEED

    example.write_text(EXAMPLE_SEED.read_text())
    _project(
        pytester,
        """
from pathlib import Path

import pytest
from helpers import usernames

def test_ini_seed(extapi_server):
    assert list(extapi_server.clients) == ["Small"]
    assert usernames(extapi_server) == {"only.person", "small.service"}

@pytest.mark.extapi_seed("example.toml")
def test_marked_seed(extapi_server):
    assert list(extapi_server.clients) == ["HR sync"]
    assert "ava.nguyen" in usernames(extapi_server)

def test_back_to_the_ini_seed(extapi_server):
    assert "ava.nguyen" not in usernames(extapi_server)
""",
    )
    # when the tests run
    result = pytester.runpytest_inprocess(*PLUGIN)
    # then each test saw its own seed
    result.assert_outcomes(passed=3)


def test_a_bad_seed_fails_setup_naming_the_entry(pytester: pytest.Pytester) -> None:
    # given a seed whose user has an unknown key
    pytester.makefile(".toml", bad='[[users]]\nusername = "x"\nfirstname = "X"\n')
    pytester.makeini("[pytest]\nextapi_seed = bad.toml\n")
    pytester.makepyfile("def test_uses_it(extapi_server):\n    pass\n")
    # when a test asks for the server
    result = pytester.runpytest_inprocess(*PLUGIN)
    # then its setup errors with the entry and the problem
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*users[[]0[]] (x): the key 'lastname' is required.*"])


def test_an_unknown_reset_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    # given a misspelt reset mode
    pytester.makeini("[pytest]\nextapi_reset = sometimes\n")
    pytester.makepyfile("def test_uses_it(extapi_server):\n    pass\n")
    # when a test asks for the server
    result = pytester.runpytest_inprocess(*PLUGIN)
    # then the run names the option and its allowed values
    result.stdout.fnmatch_lines(["*extapi_reset must be 'test' or 'session', got 'sometimes'*"])
    assert result.ret != 0


def test_the_package_registers_the_plugin_for_pytest() -> None:
    # given the package metadata in pyproject.toml
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    # then pytest finds the plugin through its pytest11 entry point, named as the module so
    # that pytest_plugins naming it as well loads it once
    entry_points = pyproject["project"]["entry-points"]["pytest11"]
    assert entry_points == {"extapi.sandbox.plugin": "extapi.sandbox.plugin"}
    # and the example seed ships with the package
    assert "sandbox/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["extapi"]
