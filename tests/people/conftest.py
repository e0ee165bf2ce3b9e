"""A system API client and a helper that runs GraphQL documents as it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import ApiClient, fetch_token, graphql, make_api_client


@pytest.fixture
def client(runtime) -> ApiClient:
    return make_api_client(runtime)


@pytest.fixture
def call(http, client) -> Callable[..., dict[str, Any]]:
    """``call(document, **variables)`` returns the decoded JSON answer."""
    token = fetch_token(http, client)

    def run(document: str, **variables: Any) -> dict[str, Any]:
        return dict(graphql(http, token, {"query": document, "variables": variables}).json())

    return run
