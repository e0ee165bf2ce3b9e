"""Fixtures for the request log tests: a client and its token."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from extapi.runtime import Runtime
from tests.factories import ApiClient, fetch_token, make_api_client


@pytest.fixture
def client(runtime: Runtime) -> ApiClient:
    return make_api_client(runtime)


@pytest.fixture
def token(http: TestClient, client: ApiClient) -> str:
    return fetch_token(http, client)
