"""Fixtures for the admin pages: a site administrator and a browser-like client signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.runtime import Runtime
from tests.web.support import make_admin, sign_in


@pytest.fixture
def admin_id(runtime: Runtime) -> int:
    return make_admin(runtime)


@pytest.fixture
def admin(app: ExtapiApp, admin_id: int) -> Iterator[TestClient]:
    """A client signed in as the site administrator ``admin``."""
    with TestClient(app, base_url="http://testserver") as client:
        sign_in(client)
        yield client


@pytest.fixture
def anonymous(app: ExtapiApp) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as client:
        yield client
