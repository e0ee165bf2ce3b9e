"""A 429 waited out for as long as the server says, then retried successfully; the budget and
complexity reported when asked for."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx
import pytest
import redis

from extapi.client import AsyncClient, Client
from extapi.config import Config
from extapi.settings.site import set_setting
from tests.client.conftest import set_rate_limit
from tests.support.aio import run_async
from tests.support.server import start_server

REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
LIMIT = 1000
# Seconds into the window at which the test leaves the client: the refused request fits once
# the window ends, so the server's Retry-After is about 60 - this.
ELAPSED = 56


@pytest.fixture
def redis_server(database_url, tmp_path):
    """The real server keeping its budgets in Redis, so that the test can set one up."""
    if not REDIS_URL:
        pytest.skip("needs EXTAPI_TEST_REDIS_URL (.ci/run sets it)")
    prefix = f"extapi:test:{uuid.uuid4().hex}:"
    config = Config(
        database_url=database_url,
        secret_key="test-secret-key",
        rate_limit_backend="redis",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    with start_server(config, tmp_path) as server:
        yield server, prefix


def _fill_budget(prefix: str, client_pk: int) -> None:
    """Leave the client's budget as a burst in the previous minute would: far over the limit
    now, and decaying to nothing when this window ends, ``60 - ELAPSED`` seconds from now."""
    store = redis.Redis.from_url(REDIS_URL or "")
    try:
        store.hset(
            f"{prefix}client:{client_pk}",
            mapping={"prev": 6_000_000, "current": 0, "reset": repr(time.time() - ELAPSED)},
        )
    finally:
        store.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_429_is_waited_out_and_retried(runtime, redis_server, api_client, flavour):
    server, prefix = redis_server
    set_rate_limit(runtime, api_client, LIMIT)
    statuses: list[int] = []
    waits: list[float] = []
    args = (server.url, api_client.client_id, api_client.secret)

    def record(response: httpx.Response) -> None:
        if response.request.url.path.endswith("graphql.php"):
            statuses.append(response.status_code)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    async def async_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    async def record_async(response: httpx.Response) -> None:
        record(response)

    if flavour == "sync":
        with (
            httpx.Client(event_hooks={"response": [record]}, timeout=30) as http,
            Client(*args, http=http, max_wait=10, sleep=sleep) as client,
        ):
            # given a client with a token whose budget is then used up
            client.token()
            _fill_budget(prefix, api_client.id)
            # when it asks for something
            answer = client.status()
    else:

        async def scenario() -> dict:
            hooks = {"response": [record_async]}
            async with (
                httpx.AsyncClient(event_hooks=hooks, timeout=30) as http,
                AsyncClient(*args, http=http, max_wait=10, sleep=async_sleep) as client,
            ):
                await client.token()
                _fill_budget(prefix, api_client.id)
                return await client.status()

        answer = run_async(scenario())
    # then it was refused once, waited as long as the server asked (plus a little), and the
    # retry succeeded
    assert statuses == [429, 200]
    assert answer["status"] == "ok"
    assert len(waits) == 1
    assert 60 - ELAPSED - 1 <= waits[0] <= (60 - ELAPSED + 1) * 1.1


def test_budget_and_complexity_are_reported_when_asked(runtime, live_server, api_client):
    # given a site that reports complexity, and a client that asks for its budget
    set_rate_limit(runtime, api_client, LIMIT)
    with runtime.engine.begin() as conn:
        set_setting(conn, "perfdebug", "1")
    args = (live_server.url, api_client.client_id, api_client.secret)
    with Client(*args, report_complexity=True) as client:
        first = client.execute("{ totara_webapi_status { status timestamp } }")
        second = client.execute("{ totara_webapi_status { status timestamp } }")
    # then each result says what it cost and what is left
    assert first.complexity == second.complexity == 7
    assert first.rate_limit is not None and second.rate_limit is not None
    assert first.rate_limit.limit == LIMIT
    assert first.rate_limit.remaining == LIMIT - 7
    assert second.rate_limit.remaining == LIMIT - 14


def test_nothing_is_reported_unless_asked(client):
    result = client.execute("{ totara_webapi_status { status } }")
    assert result.rate_limit is None
    assert result.complexity is None
