"""The invalidation bound, end to end: a client disabled while its requests stream through
``extapi serve --workers 2`` (on PostgreSQL, or on an SQLite file, whose listeners only poll)
has no request admitted once the revision lease has run out after the commit, in either
worker."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from extapi.auth import clients
from extapi.auth.tokens import INVALID_TOKEN
from extapi.config import Config
from extapi.runtime import open_runtime
from tests.factories import make_api_client
from tests.ops.conftest import parse_metrics, sample
from tests.support.server import start_server

STATUS = {"query": "{ totara_webapi_status { status } }"}
THREADS = 4
BOUND_SECONDS = Config.revision_lease_ms / 1000
# How long requests stream before and after the change: long enough for many of them even on
# a busy machine; the assertions never depend on how fast they are answered.
BEFORE_SECONDS = 1.0
AFTER_SECONDS = 2.0
MIN_LATE_REQUESTS = 20
DEADLINE_SECONDS = 120.0


@dataclass(frozen=True)
class Sent:
    started: float  # monotonic, taken before the request was written
    finished: float
    admitted: bool
    refused: bool
    body: str = ""


def _classify(response: httpx.Response) -> tuple[bool, bool]:
    body = response.json()
    admitted = body.get("data") == {"totara_webapi_status": {"status": "ok"}}
    errors = body.get("errors") or [{}]
    # Totara hides the reason unless the site's error level shows it.
    refused = "data" not in body and INVALID_TOKEN in (
        errors[0].get("message"),
        errors[0].get("debugMessage"),
    )
    return admitted, refused


def _stream(url: str, token: str, stop: threading.Event, out: list[Sent]) -> None:
    # A new connection per request, so that the kernel spreads them over both workers.
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    while not stop.is_set():
        started = time.monotonic()
        response = httpx.post(url, json=STATUS, headers=headers, timeout=60)
        finished = time.monotonic()
        admitted, refused = _classify(response)
        out.append(Sent(started, finished, admitted, refused, response.text[:300]))


def _both_workers_serve(server_url: str, graphql_url: str, token: str) -> None:
    """Send status queries until each worker has checked the document (one cache miss per
    worker), so both hold the token and the document before the change."""
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        for _ in range(10):
            response = httpx.post(graphql_url, json=STATUS, headers=headers, timeout=60)
            assert _classify(response) == (True, False), response.text
        metrics = parse_metrics(httpx.get(f"{server_url}/metrics", timeout=60).text)
        if sample(metrics, "extapi_document_cache_misses_total") >= 2:
            return
        assert time.monotonic() < deadline, "the second worker never served a request"


def test_a_disabled_client_is_refused_everywhere_within_the_bound(
    database_url: str, tmp_path: Path
) -> None:
    # given a client, and a server of two workers on either database that both know its token
    config = Config(database_url=database_url, secret_key="test")
    runtime = open_runtime(config)
    try:
        client = make_api_client(runtime)
        env = {
            "EXTAPI_METRICS": "127.0.0.1",
            "EXTAPI_REVISION_LEASE_MS": str(Config.revision_lease_ms),
        }
        with start_server(config, tmp_path, workers=2, extra_env=env) as server:
            token = server.token(client.client_id, client.secret)
            _both_workers_serve(server.url, server.graphql_url, token)
            # and requests streaming from several threads
            stop = threading.Event()
            logs: list[list[Sent]] = [[] for _ in range(THREADS)]
            threads = [
                threading.Thread(target=_stream, args=(server.graphql_url, token, stop, log))
                for log in logs
            ]
            for thread in threads:
                thread.start()
            try:
                time.sleep(BEFORE_SECONDS)
                # when the client is disabled by another process's transaction
                began = time.monotonic()
                with runtime.engine.begin() as conn:
                    clients.set_client_status(conn, client.client_id, enabled=False)
                committed = time.monotonic()
                deadline = committed + DEADLINE_SECONDS
                while True:
                    time.sleep(0.05)
                    sent = [s for log in logs for s in list(log)]
                    late = [s for s in sent if s.started >= committed + BOUND_SECONDS]
                    waited = time.monotonic() - committed
                    if waited >= AFTER_SECONDS and len(late) >= MIN_LATE_REQUESTS:
                        break
                    assert time.monotonic() < deadline, "too few requests after the change"
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
    finally:
        runtime.close()
    sent = [s for log in logs for s in log]
    # then every request sent once the bound had passed after the commit was refused
    late = [s for s in sent if s.started >= committed + BOUND_SECONDS]
    assert all(s.refused for s in late), [s for s in late if not s.refused]
    # and every request answered before the change began was admitted
    early = [s for s in sent if s.finished < began]
    assert early and all(s.admitted for s in early)
    # and nothing else was ever answered
    assert all(s.admitted or s.refused for s in sent)
