"""/readyz: ready when the database answers, its schema is the code's newest and (when Redis
holds the rate-limit windows) Redis answers; otherwise 503 naming the failing check."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.config import Config
from extapi.db.engine import make_engine
from extapi.db.migrate import head_revision
from extapi.ops.readiness import Readiness
from extapi.runtime import open_runtime
from tests.conftest import REDIS_URL

SECRET = "sekrit-password"


def _report(readiness: Readiness) -> tuple[bool, dict]:
    """Run the checks on an event loop of their own (in a thread: the test's own thread may
    already run one, as browser tests leave)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, readiness.report()).result()


def test_ready_when_the_database_answers_and_is_migrated(http):
    # given a freshly migrated database and no Redis
    # when readiness is asked
    response = http.get("/readyz")
    # then every check passes and Redis is not among them
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "migrations"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {"ok": True, "revision": head_revision()}
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
def recorded_revision(runtime) -> Iterator[Callable[[str | None], None]]:
    """Change the revision the test database records; the newest is put back afterwards
    (the PostgreSQL test database lives for the whole session)."""

    def record(revision: str | None) -> None:
        with runtime.engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
            if revision is not None:
                conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})

    yield record
    record(head_revision())


def test_not_ready_when_the_schema_is_behind_the_code(recorded_revision, http):
    # given a database whose recorded revision is older than the code's newest
    recorded_revision("0001")
    # when readiness is asked
    response = http.get("/readyz")
    # then it is 503 and names the migrations check, with both revisions
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["migrations"] == {
        "ok": False,
        "revision": "0001",
        "expected": head_revision(),
    }
    # and liveness is unaffected
    assert http.get("/healthz").status_code == 200


def test_not_ready_when_no_revision_is_recorded(recorded_revision, http):
    recorded_revision(None)
    body = http.get("/readyz").json()
    assert body["checks"]["migrations"]["ok"] is False
    assert body["checks"]["migrations"]["revision"] is None


@pytest.fixture
def dead_redis_http(database_url) -> Iterator[TestClient]:
    config = Config(
        database_url=database_url,
        secret_key="test-secret-key",
        rate_limit_backend="redis",
        redis_url=f"redis://:{SECRET}@127.0.0.1:1/0",
        redis_prefix=f"extapi:test:{uuid.uuid4().hex}:",
    )
    runtime = open_runtime(config)
    try:
        with TestClient(ExtapiApp(runtime)) as client:
            yield client
    finally:
        runtime.close()


def test_not_ready_when_redis_does_not_answer(dead_redis_http):
    # given rate-limit windows in a Redis that is not there (a closed port)
    # when readiness is asked
    response = dead_redis_http.get("/readyz")
    # then it is 503, names Redis, and shows neither the URL nor its password
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert SECRET not in response.text
    assert "127.0.0.1:1" not in response.text


@pytest.mark.skipif(not REDIS_URL, reason="needs EXTAPI_TEST_REDIS_URL")
def test_ready_with_a_reachable_redis(database_url):
    config = Config(
        database_url=database_url,
        rate_limit_backend="redis",
        redis_url=REDIS_URL,
        redis_prefix=f"extapi:test:{uuid.uuid4().hex}:",
    )
    runtime = open_runtime(config)
    try:
        with TestClient(ExtapiApp(runtime)) as client:
            response = client.get("/readyz")
    finally:
        runtime.close()
    assert response.status_code == 200
    assert response.json()["checks"]["redis"]["ok"] is True


def test_not_ready_when_the_database_cannot_be_reached():
    # given a database server that is not there (a closed port), with a password in its URL
    engine = make_engine(f"postgresql://postgres:{SECRET}@127.0.0.1:1/nothing")
    readiness = Readiness(Config(database_url="postgresql://unused"), engine)
    try:
        # when the checks run
        ready, body = _report(readiness)
    finally:
        readiness.close()
        engine.dispose()
    # then the database and the migrations both fail, naming no secret
    assert ready is False
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["migrations"]["ok"] is False
    assert SECRET not in repr(body)


def test_a_check_that_hangs_is_reported_after_the_timeout(sqlite_template, tmp_path):
    # given a database check that does not come back
    engine = make_engine(f"sqlite:///{sqlite_template}")
    release = threading.Event()
    readiness = Readiness(Config(database_url="sqlite://"), engine, timeout=0.05)
    readiness.check_database = lambda: release.wait() and {}  # type: ignore[method-assign]
    try:
        # when readiness is asked twice while it hangs
        first = _report(readiness)
        second = _report(readiness)
    finally:
        release.set()
        readiness.close()
        engine.dispose()
    # then both answers say the database did not answer in time
    for ready, body in (first, second):
        assert ready is False
        assert body["checks"]["database"] == {"ok": False, "error": "no answer within 0.05 s"}
        assert body["checks"]["migrations"]["ok"] is False


def test_readiness_only_answers_get(http):
    assert http.post("/readyz").status_code == 405
