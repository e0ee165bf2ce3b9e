"""What each kind of API request asks of Redis, watched with MONITOR on a real server: a query
makes at most one script call, covering the site and client windows together, and usually
none (far from the limits that call reserves points the worker's next queries spend without
asking Redis); a mutation waits on one (its precheck; its charge travels with the next call or
on its own shortly after), and a request that fails authentication never reaches Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.config import Config
from extapi.limits.window import RedisWindowStore
from extapi.runtime import Runtime, open_runtime
from tests.factories import fetch_token, graphql, make_api_client, make_user

REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
STATUS = {"query": "{ totara_webapi_status { status } }"}
DELETE = 'mutation { core_user_delete_user(target_user: {username: "gone"}) { user_id } }'
DEADLINE_SECONDS = 60.0
# Script operation codes (extapi.limits.window): charge, charge if it fits, check.
CHARGE, CHARGE_IF_FITS, CHECK = "0", "1", "2"


class RedisCalls:
    """Every script call Redis runs on this test's keys, in the order Redis ran them."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.calls: list[list[str]] = []
        self._marks: set[str] = set()
        self._seen = threading.Condition()
        self._client = redis.Redis.from_url(url)
        self._monitor = self._client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()
        self._count = 0
        self.settle()

    def _follow(self) -> None:
        while True:
            command = str(self._monitor.next_command()["command"])
            with self._seen:
                if command.startswith("ECHO ") and self.prefix in command:
                    self._marks.add(command.split()[-1])
                    self._seen.notify_all()
                    if command.endswith(":stop"):
                        return
                elif command.startswith(("EVALSHA ", "EVAL ")) and self.prefix in command:
                    self.calls.append(command.split())

    def settle(self) -> list[list[str]]:
        """The calls run since the last settle: Redis feeds MONITOR in the order it runs
        commands, so once a marker sent now is seen, every earlier call has been too."""
        self._count += 1
        mark = f"{self.prefix}mark:{self._count}"
        self._client.echo(mark)
        deadline = time.monotonic() + DEADLINE_SECONDS
        with self._seen:
            while mark not in self._marks:
                assert time.monotonic() < deadline, "MONITOR never showed the marker"
                self._seen.wait(timeout=1)
            calls, self.calls = self.calls, []
        return calls

    def close(self) -> None:
        self._client.echo(f"{self.prefix}:stop")
        self._thread.join(timeout=DEADLINE_SECONDS)
        self._monitor.__exit__()
        self._client.close()


def _operation(call: list[str]) -> tuple[str, list[str]]:
    """A script call's operation code and its keys."""
    count = int(call[2])  # EVALSHA sha numkeys keys... now window points operation limits...
    return call[3 + count + 3], call[3 : 3 + count]


def _points(call: list[str]) -> int:
    return int(call[3 + int(call[2]) + 2])


def _reserving(call: list[str]) -> tuple[int, int]:
    """The points a query's call asks to reserve, and the unspent ones it gives back."""
    count = int(call[2])
    extra = call[3 + count + 4 + count :]  # after now, window, points, operation and the limits
    return int(extra[0]) if extra else 0, int(extra[1]) if len(extra) > 1 else 0


def _patient(runtime: Runtime, prefix: str) -> None:
    """Give the runtime a store whose reserves last until their window's last second, so that
    however slow the machine, none expires during the test."""
    runtime.windows.close()  # type: ignore[union-attr]
    runtime.windows = RedisWindowStore(REDIS_URL or "", prefix=prefix, reserve_seconds=60)


@pytest.fixture
def prefix() -> str:
    return f"extapi:test:{uuid.uuid4().hex}:"


@pytest.fixture
def redis_runtime(sqlite_template: Path, tmp_path: Path, prefix: str) -> Iterator[Runtime]:
    """A worker keeping its budgets in Redis (the database does not matter here)."""
    if not REDIS_URL:
        pytest.skip("Redis tests need EXTAPI_TEST_REDIS_URL (.ci/run sets it)")
    target = tmp_path / "extapi.db"
    target.write_bytes(sqlite_template.read_bytes())
    config = Config(
        database_url=f"sqlite:///{target}",
        secret_key="test",
        rate_limit_backend="redis",
        redis_url=REDIS_URL,
        redis_prefix=prefix,
    )
    runtime = open_runtime(config)
    yield runtime
    runtime.close()


@pytest.fixture
def calls(redis_runtime: Runtime, prefix: str) -> Iterator[RedisCalls]:
    watcher = RedisCalls(REDIS_URL or "", prefix)
    yield watcher
    watcher.close()


def _http(runtime: Runtime) -> TestClient:
    return TestClient(ExtapiApp(runtime))


def test_a_query_is_one_call_for_both_windows(redis_runtime, calls):
    # given a client with a token
    with _http(redis_runtime) as http:
        token = fetch_token(http, make_api_client(redis_runtime))
        calls.settle()
        # when it sends a status query
        assert graphql(http, token, STATUS).status_code == 200
        # then Redis ran one script call, charging the site and the client together
        [call] = calls.settle()
        operation, keys = _operation(call)
        assert operation == CHARGE_IF_FITS
        assert [k.removeprefix(calls.prefix).split(":")[0] for k in keys] == ["site", "client"]


def test_queries_far_from_the_limits_usually_make_no_call(redis_runtime, calls, prefix):
    # given a client with a token and the default budgets, far from their limits
    _patient(redis_runtime, prefix)
    with _http(redis_runtime) as http:
        token = fetch_token(http, make_api_client(redis_runtime))
        calls.settle()
        # when it sends twenty status queries
        for _ in range(20):
            assert graphql(http, token, STATUS).status_code == 200
        # then only the first reached Redis: it reserved 1,250 points (a 200th of the client's
        # 250,000) that the other nineteen spent in the worker
        [call] = calls.settle()
        assert _operation(call)[0] == CHARGE_IF_FITS
        assert _reserving(call) == (1_250, 0)


def test_a_query_asking_for_its_rates_is_charged_exactly(redis_runtime, calls, prefix):
    # given a client with a budget of 100,000 whose first status query (6 points) reserved
    # 500 more points for the worker
    _patient(redis_runtime, prefix)
    with _http(redis_runtime) as http:
        client = make_api_client(redis_runtime)
        with redis_runtime.engine.begin() as conn:
            change = clients.ClientSettingsChange(rate_limit=100_000)
            clients.update_client_settings(conn, client.client_id, change)
        token = fetch_token(http, client)
        assert graphql(http, token, STATUS).status_code == 200
        calls.settle()
        # when it asks for its remaining budget
        reply = graphql(http, token, STATUS, headers={"X-Extapi-RateLimit": "1"})
        # then that query made one call, which gave the 500 points back and reserved none
        [call] = calls.settle()
        assert _operation(call)[0] == CHARGE_IF_FITS
        assert _reserving(call) == (0, 500)
        # and the figure it reports is Redis's own: two queries of 6 points spent
        assert reply.headers["ratelimit"].startswith('"client";r=99988;t=')


def test_a_failed_authentication_never_reaches_redis(redis_runtime, calls):
    # given a valid token, and a client that is disabled after getting one
    with _http(redis_runtime) as http:
        token = fetch_token(http, make_api_client(redis_runtime))
        disabled = make_api_client(redis_runtime, name="Disabled")
        stale = fetch_token(http, disabled)
        with redis_runtime.engine.begin() as conn:
            clients.set_client_status(conn, disabled.client_id, enabled=False)
        calls.settle()
        # when requests come with no token, an unknown one, a disabled client's, a bad header
        refused = [
            http.post("/api/graphql.php", json=STATUS),
            graphql(http, "not-a-token", STATUS),
            graphql(http, stale, STATUS),
            http.post("/api/graphql.php", json=STATUS, headers={"Authorization": token}),
        ]
        # then each is refused and Redis saw none of them
        assert all("data" not in r.json() for r in refused)
        assert calls.settle() == []


def test_a_mutation_waits_on_its_precheck_only(redis_runtime, calls, prefix):
    # given a worker whose deferred charges wait for the next call (none is sent on its own)
    redis_runtime.windows.close()  # type: ignore[union-attr]
    redis_runtime.windows = RedisWindowStore(REDIS_URL or "", prefix=prefix, charge_delay=3600)
    make_user(redis_runtime, "gone")
    with _http(redis_runtime) as http:
        token = fetch_token(http, make_api_client(redis_runtime))
        calls.settle()
        # when a mutation is answered
        body = graphql(http, token, {"query": DELETE}).json()
        assert "data" in body
        # then the request had made one call: the check for room before it ran
        [precheck] = calls.settle()
        assert _operation(precheck)[0] == CHECK
        # and its cost is charged ahead of the next request's own call, in the same trip
        assert graphql(http, token, STATUS).status_code == 200
        charge, status = calls.settle()
        assert _operation(charge)[0] == CHARGE
        assert _points(charge) == 10
        assert _operation(status)[0] == CHARGE_IF_FITS


def test_a_mutations_charge_is_sent_on_its_own_when_no_request_follows(redis_runtime, calls):
    # given a client with a token
    make_user(redis_runtime, "gone")
    with _http(redis_runtime) as http:
        token = fetch_token(http, make_api_client(redis_runtime))
        calls.settle()
        # when a mutation is answered and nothing else happens
        assert "data" in graphql(http, token, {"query": DELETE}).json()
        # then its charge reaches Redis anyway
        seen: list[list[str]] = []
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(seen) < 2:
            assert time.monotonic() < deadline, seen
            seen += calls.settle()
            time.sleep(0.01)
        assert [_operation(c)[0] for c in seen] == [CHECK, CHARGE]


def test_a_mutations_headers_count_its_cost(redis_runtime, calls):
    # given a client with a budget of 100 that asks for its remaining budget
    make_user(redis_runtime, "gone")
    with _http(redis_runtime) as http:
        client = make_api_client(redis_runtime)
        with redis_runtime.engine.begin() as conn:
            change = clients.ClientSettingsChange(rate_limit=100)
            clients.update_client_settings(conn, client.client_id, change)
        token = fetch_token(http, client)
        # when a mutation costing 10 points is answered
        reply = graphql(http, token, {"query": DELETE}, headers={"X-Extapi-RateLimit": "1"})
        # then the budget it reports has them spent, though it did not wait for the charge
        assert reply.headers["ratelimit"].startswith('"client";r=90;t=')
