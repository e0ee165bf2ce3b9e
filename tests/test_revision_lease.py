"""The revision lease (extapi.db.lease): no database read on the hot path while it holds, a
change committed anywhere seen within the lease, and strict reads while the listener is gone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.config import Config, load_config
from extapi.db import revision
from extapi.db.engine import normalise_url
from extapi.db.lease import RevisionLease
from extapi.errors import ConfigError
from extapi.runtime import Runtime, open_runtime
from tests.factories import fetch_token, graphql, make_api_client
from tests.support.databases import reset_postgres

STATUS = {"query": "{ totara_webapi_status { status } }"}
# Generous, for the checks that must not see a read however slow the machine is.
LONG_LEASE_MS = 10_000
DEADLINE_SECONDS = 60.0


def _config(url: str, lease_ms: int) -> Config:
    return Config(database_url=url, secret_key="test", revision_lease_ms=lease_ms)


@contextmanager
def _runtime(url: str, lease_ms: int) -> Iterator[Runtime]:
    runtime = open_runtime(_config(url, lease_ms))
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture
def pg_url(postgres_session_url: str) -> str:
    reset_postgres(postgres_session_url)
    return postgres_session_url


def _engine_elsewhere(url: str) -> Iterator[Engine]:
    engine = create_engine(normalise_url(url))
    yield engine
    engine.dispose()


@pytest.fixture
def elsewhere(pg_url: str) -> Iterator[Engine]:
    """Another process's view of the database: an engine of its own."""
    yield from _engine_elsewhere(pg_url)


@pytest.fixture
def other_process(database_url: str) -> Iterator[Engine]:
    """Another process's view of the database under test (an SQLite file or PostgreSQL)."""
    yield from _engine_elsewhere(database_url)


def _lease(runtime: Runtime) -> RevisionLease:
    lease = runtime.reader.lease
    assert lease is not None
    return lease


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


def _listening(lease: RevisionLease) -> None:
    lease.fresh()  # starts the listener on first use
    if lease.sqlite:
        _wait_for(lambda: lease.fresh() is not None, "the listener has confirmed a revision")
    else:
        _wait_for(lambda: lease.backend_pid is not None, "the listener is connected")


def _bump(engine: Engine) -> tuple[int, float]:
    """Move the revision as another process would; the new number and the monotonic time the
    commit had returned."""
    with engine.begin() as conn:
        revision.bump(conn)
        moved = revision.current(conn)
        # Another process's pool would not tell this one's leases when the connection is back.
        conn.info.pop(revision.BUMPED)
    return moved, time.monotonic()


def _watch(runtime: Runtime, seconds: float) -> list[tuple[float, int]]:
    """What the hot path answers, with the time each ask started, for ``seconds``."""
    seen = []
    until = time.monotonic() + seconds
    while (started := time.monotonic()) < until:
        seen.append((started, runtime.reader.revision()))
        time.sleep(0.001)
    return seen


def test_a_cached_token_costs_no_database_read_while_the_lease_holds(database_url):
    # given a worker whose listener holds a long lease, and a token it has seen
    with _runtime(database_url, LONG_LEASE_MS) as runtime:
        with TestClient(ExtapiApp(runtime)) as http:
            token = fetch_token(http, make_api_client(runtime))
            assert graphql(http, token, STATUS).status_code == 200
            _listening(_lease(runtime))
            reads = runtime.reader.reads
            # when the token is used again and again
            answers = [graphql(http, token, STATUS) for _ in range(20)]
        # then every request was served without one query on the request path
        assert [a.json()["data"]["totara_webapi_status"]["status"] for a in answers] == ["ok"] * 20
        assert runtime.reader.reads == reads


def test_a_change_committed_elsewhere_is_seen_within_the_lease(database_url, other_process):
    # given a worker with the default lease, its listener running (on SQLite it only polls)
    lease_ms = Config.revision_lease_ms
    with _runtime(database_url, lease_ms) as runtime:
        _listening(_lease(runtime))
        before = runtime.reader.revision()
        for _ in range(5):
            # when another process commits a change
            moved, committed = _bump(other_process)
            assert moved > before
            seen = _watch(runtime, 3 * lease_ms / 1000)
            # then no answer asked for from the lease's end on is older than the change
            late = [value for started, value in seen if started >= committed + lease_ms / 1000]
            assert late and all(value == moved for value in late), seen
            # and the answer never goes back once moved
            values = [value for _, value in seen]
            assert values == sorted(values)
            before = moved


def test_a_change_made_in_this_process_applies_to_the_next_request(database_url):
    # given a worker trusting its listener for a long time
    with _runtime(database_url, LONG_LEASE_MS) as runtime:
        _listening(_lease(runtime))
        before = runtime.reader.revision()
        # when this process commits a change
        with runtime.engine.begin() as conn:
            revision.bump(conn)
        # then the very next answer has it, without waiting for the listener
        assert runtime.reader.revision() == before + 1


def _allow_connections(url: str, allowed: bool) -> None:
    name = make_url(url).database
    admin = create_engine(
        make_url(normalise_url(url)).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {allowed}'))
    admin.dispose()


def _terminate(engine: Engine, pid: int) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_lost_listener_falls_back_to_strict_reads_and_reconnects(pg_url, elsewhere):
    lease_ms = Config.revision_lease_ms
    with _runtime(pg_url, lease_ms) as runtime:
        # given a worker whose listener runs, and whose own reads have their connection
        lease = _lease(runtime)
        _listening(lease)
        first_pid = lease.backend_pid
        assert first_pid is not None
        lease.void()
        runtime.reader.revision()
        with elsewhere.connect() as conn:  # the test's connection, opened while it may be
            conn.execute(text("SELECT 1"))
        # when no new connection may be made and the listener's is terminated
        _allow_connections(pg_url, False)
        try:
            _terminate(elsewhere, first_pid)
            _wait_for(lambda: lease.backend_pid is None, "the listener noticed")
            reads = runtime.reader.reads
            # and a change is committed meanwhile
            moved, committed = _bump(elsewhere)
            seen = _watch(runtime, 3 * lease_ms / 1000)
            # then requests read the revision themselves and never answer an old one
            late = [value for started, value in seen if started >= committed + lease_ms / 1000]
            assert late and all(value == moved for value in late), seen
            assert runtime.reader.reads > reads
            assert lease.backend_pid is None  # it could not come back yet
        finally:
            _allow_connections(pg_url, True)
        # and once connections are allowed again the listener is back, on a new connection
        _wait_for(lambda: lease.backend_pid not in (None, first_pid), "the listener is back")
        moved, _ = _bump(elsewhere)
        _wait_for(lambda: lease.fresh() == moved, "the listener confirms the new revision")


def test_an_idle_listener_stops_and_the_next_request_starts_it(pg_url, elsewhere):
    # given a lease whose listener stops after 0.2 s without being asked
    lease = RevisionLease(elsewhere, 0.075, idle_seconds=0.2)
    try:
        _listening(lease)
        # when nobody asks for the revision
        _wait_for(lambda: not lease.listening, "the idle listener stopped")
        # then asking again, once its last confirmation has run out, starts it again
        _wait_for(
            lambda: lease.fresh() is not None and lease.listening, "the listener confirms again"
        )
    finally:
        lease.close()


def test_memory_sqlite_and_a_zero_lease_read_the_revision_on_every_request(database_url):
    # given a runtime on either database file, and one with the lease turned off
    with _runtime(database_url, Config.revision_lease_ms) as runtime:
        has_lease = runtime.reader.lease is not None
    with _runtime("sqlite://", Config.revision_lease_ms) as runtime:
        in_memory_has_lease = runtime.reader.lease is not None
    with _runtime(database_url, 0) as runtime:
        # then an SQLite file and PostgreSQL have a lease unless it is set to 0, and an
        # in-memory SQLite database (no other process can change it) has none
        assert has_lease
        assert not in_memory_has_lease
        assert runtime.reader.lease is None
        # and each ask is one read
        reads = runtime.reader.reads
        runtime.reader.revision()
        assert runtime.reader.reads == reads + 1


def test_the_lease_is_configured_in_milliseconds():
    assert load_config({}).revision_lease_ms == 75
    assert load_config({"EXTAPI_REVISION_LEASE_MS": "0"}).revision_lease_ms == 0
    assert load_config({"EXTAPI_REVISION_LEASE_MS": "250"}).revision_lease_ms == 250
    with pytest.raises(ConfigError, match="EXTAPI_REVISION_LEASE_MS must be at least 0"):
        load_config({"EXTAPI_REVISION_LEASE_MS": "-1"})
