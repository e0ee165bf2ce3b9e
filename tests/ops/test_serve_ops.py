"""The real ``extapi serve``: JSON lines on stderr, and metrics summed over several workers."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from extapi.config import Config
from tests.factories import make_api_client
from tests.ops.conftest import parse_metrics, sample
from tests.support.server import start_server

STATUS = {"query": "{ totara_webapi_status { status } }"}


@pytest.fixture
def sqlite_config(sqlite_template, tmp_path) -> Config:
    """One backend is enough for the process-level checks."""
    target = tmp_path / "serve.db"
    target.write_bytes(sqlite_template.read_bytes())
    return Config(database_url=f"sqlite:///{target}", secret_key="test-secret-key")


def _client(config: Config):
    from extapi.runtime import open_runtime

    runtime = open_runtime(config)
    try:
        return make_api_client(runtime)
    finally:
        runtime.close()


def _log_lines(log_path) -> list[str]:
    return [line for line in log_path.read_text().splitlines() if line.strip()]


def _wait_for_access_lines(log_path, count: int) -> list[dict]:
    """The server writes each line as it answers; allow it a moment on a busy machine."""
    deadline = time.monotonic() + 30
    while True:
        lines = [json.loads(line) for line in _log_lines(log_path)]
        access = [line for line in lines if line.get("logger") == "extapi.access"]
        if len(access) >= count or time.monotonic() > deadline:
            return access
        time.sleep(0.05)


def test_serve_writes_json_lines_with_request_ids(sqlite_config, tmp_path):
    # given a client, and the server started with the default log format
    client = _client(sqlite_config)
    with start_server(sqlite_config, tmp_path) as server:
        log_path = next(tmp_path.glob("server-*.log"))
        # when it is asked for a token and a status query, with an id of the caller's
        token = server.token(client.client_id, client.secret)
        answer = httpx.post(
            server.graphql_url,
            json=STATUS,
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "live-1"},
            timeout=60,
        )
        assert answer.headers["x-request-id"] == "live-1"
        access = _wait_for_access_lines(log_path, 3)
    # then every line of its log is a JSON object (uvicorn's own lines included)
    lines = [json.loads(line) for line in _log_lines(log_path)]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    # and each request is logged once, by extapi (uvicorn's access log is off)
    graphql_lines = [line for line in access if line["path"] == "/api/graphql.php"]
    assert len(graphql_lines) == 1
    assert graphql_lines[0]["request_id"] == "live-1"
    assert graphql_lines[0]["client_id"] == client.client_id
    assert [line["path"] for line in access].count("/totara/oauth2/token.php") == 1


def test_metrics_of_all_workers_are_summed_and_their_files_removed(sqlite_config, tmp_path):
    # given two workers whose scrapes loopback may read, and a private temporary folder
    client = _client(sqlite_config)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {"EXTAPI_METRICS": "127.0.0.1", "TMPDIR": str(scratch)}
    with start_server(sqlite_config, tmp_path, workers=2, extra_env=env) as server:
        token = server.token(client.client_id, client.secret)
        headers = {"Authorization": f"Bearer {token}"}
        # when status queries arrive on fresh connections until both workers have served one
        # (each worker checks the document once, so two misses mean two workers)
        sent = 0
        samples = {}
        while sent < 400:
            for _ in range(10):
                reply = httpx.post(server.graphql_url, json=STATUS, headers=headers, timeout=60)
                assert reply.status_code == 200
                sent += 1
            samples = parse_metrics(httpx.get(f"{server.url}/metrics", timeout=60).text)
            if sample(samples, "extapi_document_cache_misses_total") >= 2:
                break
        assert sample(samples, "extapi_document_cache_misses_total") == 2
        # then any one worker's scrape counts every request of both
        served = sample(
            samples,
            "extapi_requests_total",
            endpoint="graphql",
            operation="totara_webapi_status",
            outcome="success",
        )
        assert served == sent
        assert sample(samples, "extapi_token_grants_total", outcome="granted") == 1
        assert sample(samples, "extapi_document_cache_entries") == 2
        assert any(scratch.iterdir())  # the workers' files live in the private folder
    # and the folder is removed when the server stops
    assert list(scratch.iterdir()) == []
