"""The background flusher the app's lifespan runs in every worker."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.db.engine import make_engine
from extapi.requestlog.flusher import request_log_lifespan
from extapi.runtime import Runtime
from tests.factories import fetch_token, graphql, make_api_client
from tests.requestlog.support import stored_rows

STATUS = {"query": "{ totara_webapi_status { status } }"}


def _wait_for_rows(runtime: Runtime, count: int, seconds: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        rows = stored_rows(runtime)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def test_the_running_app_writes_requests_within_seconds(runtime):
    # given the app running with its lifespan
    client = make_api_client(runtime)
    with TestClient(ExtapiApp(runtime)) as http:
        token = fetch_token(http, client)
        # when a request is made and nobody flushes by hand
        graphql(http, token, STATUS)
        # then the flusher writes it within a few seconds
        rows = _wait_for_rows(runtime, 1)
        assert [r["client_id"] for r in rows] == [client.id]


def test_shutdown_writes_what_is_left(runtime):
    # given the app running, and a request buffered just before shutdown
    client = make_api_client(runtime)
    with TestClient(ExtapiApp(runtime)):
        runtime.request_log.record(client.id, "late", 1, 200, "success", 1.0, int(time.time()))
    # when the app has shut down, the row is stored
    assert runtime.request_log.pending() == 0
    assert [r["operations"] for r in stored_rows(runtime)] == ["late"]


def test_the_flusher_keeps_going_after_a_failure(runtime, tmp_path):
    # given a lifespan flushing every 50 ms whose first flushes fail
    client = make_api_client(runtime)
    log = runtime.request_log
    real_engine = log.engine
    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    log.engine = broken

    async def scenario() -> None:
        async with request_log_lifespan(runtime, interval=0.05):
            log.record(client.id, "kept", 1, 200, "success", 1.0, int(time.time()))
            await asyncio.sleep(0.2)
            assert log.pending() == 1  # failed, kept
            log.engine = real_engine
            # (polled with a generous deadline: a busy machine only makes this slower)
            deadline = time.monotonic() + 60
            while log.pending() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

    # (in a thread of its own: another test may have left an event loop running in this one)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result()
    # then the row is written once the database is back
    assert [r["operations"] for r in stored_rows(runtime)] == ["kept"]
    broken.dispose()
