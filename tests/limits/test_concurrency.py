"""Many concurrent clients against `extapi serve --workers 2` on PostgreSQL and Redis: a budget
is never overrun, and two clients never share one."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from extapi.auth import clients
from extapi.config import Config
from extapi.runtime import open_runtime
from tests.factories import make_api_client
from tests.support.databases import reset_postgres
from tests.support.server import start_server

REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
STATUS = {"query": "{ totara_webapi_status { status } }"}  # 5 + 1 = 6 points
COST = 6
LIMITS = {"a": 300, "b": 120}
# The threads stop once both budgets have refused a few requests. The cap keeps the whole run
# inside one window minute (so no points expire while it runs), however slow the machine is.
MAX_SECONDS = 45.0
REFUSALS_TO_SEE = 3
THREADS = 12


def _exhausted(counts: Counter[str]) -> bool:
    return all(counts[f"{name}:429"] >= REFUSALS_TO_SEE for name in LIMITS)


def _hammer(url: str, tokens: dict[str, str], counts: Counter[str], lock: threading.Lock) -> None:
    # A new connection per request, so that the kernel spreads them over both workers.
    deadline = time.monotonic() + MAX_SECONDS
    turn = 0
    while time.monotonic() < deadline and not _exhausted(counts):
        name = "b" if turn % 3 == 0 else "a"
        turn += 1
        headers = {"Authorization": f"Bearer {tokens[name]}", "Connection": "close"}
        response = httpx.post(url, json=STATUS, headers=headers, timeout=60)
        with lock:
            counts[f"{name}:{response.status_code}"] += 1


def test_budgets_hold_under_concurrency(postgres_session_url: str, tmp_path: Path) -> None:
    if not REDIS_URL:
        pytest.skip("needs EXTAPI_TEST_REDIS_URL and PostgreSQL (.ci/run sets both)")
    # given two clients with small budgets, on PostgreSQL and a shared Redis window
    reset_postgres(postgres_session_url)
    config = Config(
        database_url=postgres_session_url,
        secret_key="test",
        rate_limit_backend="redis",
        redis_url=REDIS_URL,
        redis_prefix=f"extapi:test:{uuid.uuid4().hex}:",
    )
    runtime = open_runtime(config)
    made = {name: make_api_client(runtime, name=f"client {name}") for name in LIMITS}
    with runtime.engine.begin() as conn:
        for name, client in made.items():
            change = clients.ClientSettingsChange(rate_limit=LIMITS[name])
            clients.update_client_settings(conn, client.client_id, change)
    runtime.close()
    with start_server(config, tmp_path, workers=2) as server:
        tokens = {name: server.token(c.client_id, c.secret) for name, c in made.items()}
        counts: Counter[str] = Counter()
        lock = threading.Lock()
        # when many threads hammer both budgets at once
        threads = [
            threading.Thread(target=_hammer, args=(server.graphql_url, tokens, counts, lock))
            for _ in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # then each client got at most its budget (never more than one request over), and used it
    for name, limit in LIMITS.items():
        admitted = counts[f"{name}:200"] * COST
        assert admitted <= limit + COST, (name, counts)
        assert admitted >= limit - COST, (name, counts)
        assert counts[f"{name}:429"] > 0, (name, counts)
    assert set(key.split(":")[1] for key in counts) <= {"200", "429"}
