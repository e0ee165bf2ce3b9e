"""The pytest plugin: ``extapi_sandbox`` (one server per session) and ``extapi_server``.

``extapi_server`` is the session's sandbox, put back to its seed before each test that asks
for it, so a user created in one test is gone in the next. Configure it with:

- ini ``extapi_seed``: the seed file, relative to the ini file's directory (default: the
  example seed shipped in the package);
- ini ``extapi_reset``: ``test`` (default: reset before each test using ``extapi_server``) or
  ``session`` (never reset; tests see each other's changes, unless the seed changes);
- marker ``@pytest.mark.extapi_seed("file.toml")``: this test's seed, relative to the test
  module's directory.

Pytest loads this plugin through the ``pytest11`` entry point of the installed package; a
project can also name it in ``pytest_plugins = ["extapi.sandbox.plugin"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from extapi.sandbox.instance import Sandbox, running
from extapi.sandbox.seed import EXAMPLE_SEED

RESET_MODES = ("test", "session")
_TIMINGS = pytest.StashKey[dict[str, list[float]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "extapi_seed",
        "Seed file for the extapi sandbox (default: the example shipped with extapi).",
        default="",
    )
    parser.addini(
        "extapi_reset",
        "When extapi_server is put back to its seed: 'test' (before each test) or 'session'.",
        default="test",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "extapi_seed(path): seed the extapi sandbox from this file for this test"
    )


def _ini_seed(config: pytest.Config) -> Path:
    raw = str(config.getini("extapi_seed") or "").strip()
    if not raw:
        return EXAMPLE_SEED
    base = config.inipath.parent if config.inipath else config.rootpath
    return (base / raw).resolve()


def _reset_mode(config: pytest.Config) -> str:
    mode = str(config.getini("extapi_reset") or "test").strip().lower()
    if mode not in RESET_MODES:
        raise pytest.UsageError(f"extapi_reset must be 'test' or 'session', got {mode!r}")
    return mode


@pytest.fixture(scope="session")
def extapi_sandbox(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """One sandbox server for the whole session, seeded from the ``extapi_seed`` ini file."""
    _reset_mode(pytestconfig)
    workdir = tmp_path_factory.mktemp("extapi-sandbox")
    with running(seed=_ini_seed(pytestconfig), workdir=workdir) as sandbox:
        pytestconfig.stash[_TIMINGS] = sandbox.timings
        yield sandbox


@pytest.fixture
def extapi_server(request: pytest.FixtureRequest, extapi_sandbox: Sandbox) -> Sandbox:
    """The session's sandbox, back in its seed's state: base_url, graphql_url, token_url,
    client_id, client_secret, clients by name, token() and reset()."""
    marker = request.node.get_closest_marker("extapi_seed")
    if marker is not None:
        if len(marker.args) != 1:
            raise pytest.UsageError("extapi_seed takes one argument: the seed file")
        seed = (Path(request.node.path).parent / str(marker.args[0])).resolve()
    else:
        seed = _ini_seed(request.config)
    if seed != extapi_sandbox.seed or _reset_mode(request.config) == "test":
        extapi_sandbox.reset(seed)
    return extapi_sandbox


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    timings = terminalreporter.config.stash.get(_TIMINGS, None)
    if not timings or not timings["start"]:
        return
    resets = timings["reset"]
    line = f"extapi sandbox: started in {timings['start'][0] * 1000:.0f} ms"
    if resets:
        mean = sum(resets) / len(resets) * 1000
        line += f", {len(resets)} resets, {mean:.1f} ms each on average"
    terminalreporter.write_line(line)
