"""End to end: the real server process, changed by the CLI in another process, obeys at once."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.factories import make_api_client
from tests.support.server import start_server

STATUS = {"query": "{ totara_webapi_status { status } }", "variables": "{}"}
OK = {"data": {"totara_webapi_status": {"status": "ok"}}}


def _cli(server, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "extapi", *args], env=server.env, check=True, capture_output=True
    )


def _ask_many(server, token: str, times: int = 12) -> list[dict]:
    """Separate connections, so that requests spread over the worker processes."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return [
        httpx.post(server.graphql_url, json=STATUS, headers=headers).json() for _ in range(times)
    ]


@pytest.fixture
def server(config, runtime, tmp_path):
    with start_server(config, tmp_path, workers=2) as live:
        yield live


def test_disabling_a_client_from_the_cli_blocks_its_tokens_in_every_worker(runtime, server):
    # given a client whose token works in both workers
    client = make_api_client(runtime)
    token = server.token(client.client_id, client.secret)
    assert all(body == OK for body in _ask_many(server, token))
    # when another process disables the client
    _cli(server, "client", "disable", client.client_id)
    # then the very next requests, in every worker, are refused: the token reads as revoked
    for body in _ask_many(server, token):
        assert body["errors"][0]["debugMessage"].startswith(
            "Missing, expired or invalid access token."
        )
    # and enabling it again restores access at once
    _cli(server, "client", "enable", client.client_id)
    assert all(body == OK for body in _ask_many(server, token))


def test_a_new_error_level_applies_to_the_next_error(runtime, server):
    # given errors shown at Normal
    client = make_api_client(runtime)
    token = server.token(client.client_id, client.secret)
    bad = {"query": "{ totara_webapi_status { status } }", "operationName": "bad-name"}
    headers = {"Authorization": f"Bearer {token}"}
    assert (
        "debugMessage"
        in httpx.post(server.graphql_url, json=bad, headers=headers).json()["errors"][0]
    )
    # when the site level is set to None from the CLI
    _cli(server, "settings", "set", "response_debug", "none")
    # then the next errors carry no reason, in every worker
    for _ in range(8):
        error = httpx.post(server.graphql_url, json=bad, headers=headers).json()["errors"][0]
        assert error == {"message": "Internal server error", "extensions": {"category": "internal"}}


def test_suspending_the_service_account_applies_at_once(runtime, server):
    client = make_api_client(runtime)
    token = server.token(client.client_id, client.secret)
    with runtime.engine.connect() as conn:
        username = conn.exec_driver_sql(
            f"SELECT username FROM users WHERE id = {client.user_id}"
        ).scalar_one()
    _cli(server, "user", "suspend", username)
    for body in _ask_many(server, token, times=6):
        assert body["errors"][0]["debugMessage"] == "API user is invalid."
