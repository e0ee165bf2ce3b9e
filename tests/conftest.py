"""Shared fixtures: a real database per test (SQLite always, PostgreSQL when
EXTAPI_TEST_DATABASE_URL is set), the ASGI app, and a live server process for end-to-end tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.config import Config, compiled_mode
from extapi.runtime import Runtime, open_runtime
from tests.support.databases import fresh_postgres_database, reset_postgres
from tests.support.server import LiveServer, start_server

# The sandbox fixtures (extapi_server) shipped in the package, also used by the conformance tests.
# Installed packages load it through the pytest11 entry point; naming it here loads it once.
pytest_plugins = ["extapi.sandbox.plugin"]

# Property tests check behaviour, not speed: on a busy shared machine neither a slow example
# nor slow input generation may fail them.
settings.register_profile(
    "extapi", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("extapi")

PG_URL = os.environ.get("EXTAPI_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
# EXTAPI_TEST_BACKENDS=sqlite narrows a run to SQLite (the second, compiled-only pass of make
# test: plans do not depend on the database).
BACKENDS = (os.environ.get("EXTAPI_TEST_BACKENDS") or "sqlite,postgresql").split(",")
# When documents run through a compiled plan (extapi.graphql.compiled): the production default
# unless a run asks for "always" or "off" (make test runs the GraphQL tests under both).
COMPILED = compiled_mode(os.environ.get("EXTAPI_TEST_COMPILED_EXECUTION"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating costs more than copying)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    runtime = open_runtime(Config(database_url=f"sqlite:///{path}"))
    runtime.close()
    return path


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL tests need EXTAPI_TEST_DATABASE_URL (.ci/run sets it)")
    with fresh_postgres_database(PG_URL) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "extapi.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    url = request.getfixturevalue("postgres_session_url")
    reset_postgres(url)
    yield url


@pytest.fixture
def config(database_url: str) -> Config:
    return Config(
        database_url=database_url, secret_key="test-secret-key", compiled_execution=COMPILED
    )


@pytest.fixture
def runtime(config: Config) -> Iterator[Runtime]:
    runtime = open_runtime(config)
    yield runtime
    runtime.close()


@pytest.fixture
def engine(runtime: Runtime) -> Engine:
    return runtime.engine


@pytest.fixture
def app(runtime: Runtime) -> ExtapiApp:
    return ExtapiApp(runtime)


@pytest.fixture
def http(app: ExtapiApp) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def live_server(config: Config, tmp_path: Path) -> Iterator[LiveServer]:
    """The real ``extapi serve`` process on a free port, on this test's database."""
    with start_server(config, tmp_path) as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under .ci/run (EXTAPI_REQUIRE_ALL=1) a skip means a missing install step: fail it."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        os.environ.get("EXTAPI_REQUIRE_ALL") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped under EXTAPI_REQUIRE_ALL=1: {report.longrepr}"
