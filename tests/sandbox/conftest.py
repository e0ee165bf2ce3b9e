"""Shared by the plugin tests, which run pytest inside this pytest (``pytester``)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from extapi.sandbox import running

PLUGIN = ("-p", "extapi.sandbox.plugin", "-p", "no:cacheprovider")


@pytest.fixture(scope="module")
def modules_loaded(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One sandbox round trip in this process before any inner run.

    An inner run in this process forgets the modules it imported first when it ends; had it
    been the first to load the HTTP stack (httpcore ...), this session would load a second
    copy whose errors httpx no longer recognises. Loading everything here first (the server,
    and httpx as the inner tests use it) avoids that.
    """
    with running(workdir=Path(tmp_path_factory.mktemp("warm"))) as sandbox:
        token = sandbox.token()
        httpx.post(sandbox.graphql_url, json={}, headers={"Authorization": f"Bearer {token}"})
