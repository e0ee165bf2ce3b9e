"""Fixtures for the client library: a live ``extapi serve`` and an API client registered on it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from extapi.auth import clients
from extapi.client import Client
from extapi.runtime import Runtime
from tests.factories import ApiClient, make_api_client
from tests.support.server import LiveServer


class FakeClock:
    """A monotonic clock the test moves forward by hand, starting at the real one."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def api_client(runtime: Runtime) -> ApiClient:
    return make_api_client(runtime)


@pytest.fixture
def client(live_server: LiveServer, api_client: ApiClient) -> Iterator[Client]:
    with Client(live_server.url, api_client.client_id, api_client.secret, max_wait=5) as c:
        yield c


def set_token_lifetime(runtime: Runtime, api_client: ApiClient, seconds: int) -> None:
    with runtime.engine.begin() as conn:
        change = clients.ClientSettingsChange(token_expiry=seconds)
        clients.update_client_settings(conn, api_client.client_id, change)


def set_rate_limit(runtime: Runtime, api_client: ApiClient, points: int) -> None:
    with runtime.engine.begin() as conn:
        change = clients.ClientSettingsChange(rate_limit=points)
        clients.update_client_settings(conn, api_client.client_id, change)
