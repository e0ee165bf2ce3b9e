"""openid-client, configured by RFC 8414 discovery alone, against the live server.

The library (pinned in ``package.json`` next to this file, installed by ``make node-deps``)
reads ``/.well-known/oauth-authorization-server``, obtains a client-credentials token, calls
the GraphQL endpoint with it, introspects it, revokes it and introspects it again, using only
the addresses and methods the metadata names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from extapi.sandbox import Sandbox

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "oauth_discovery.mjs"
PACKAGE = HERE / "node_modules" / "openid-client"
TIMEOUT = 120
# The server is the extapi_server sandbox, seeded from seed.toml next to this file.
pytestmark = pytest.mark.extapi_seed("seed.toml")
STATUS_OK = {"data": {"totara_webapi_status": {"status": "ok"}}}


@pytest.fixture
def node() -> str:
    """The node binary, or a skip when openid-client cannot run here."""
    binary = shutil.which("node")
    if binary is None:
        pytest.skip("node is not installed: the openid-client discovery test needs Node.js")
    if not PACKAGE.is_dir():
        pytest.skip(
            f"{PACKAGE} is missing: run `make node-deps` (npm ci --prefix tests/conformance)"
        )
    return binary


def _discover(node: str, server: Sandbox, method: str) -> Any:
    completed = subprocess.run(
        [node, str(SCRIPT), server.base_url, server.client_id, server.client_secret, method],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert completed.returncode == 0, (
        f"oauth_discovery.mjs exited {completed.returncode}:\n{completed.stderr}"
        f"\n{completed.stdout}"
    )
    return json.loads(completed.stdout)


@pytest.mark.parametrize("method", ["post", "basic"])
def test_openid_client_discovers_the_server_and_gets_a_token(
    node: str, extapi_server: Sandbox, method: str
) -> None:
    # given the sandbox server and its seeded client, and no server metadata given to the library
    # when openid-client discovers the server and runs the whole token life cycle
    result = _discover(node, extapi_server, method)
    # then discovery found the issuer the server was addressed as
    assert result["issuer"] == extapi_server.base_url
    # and the client-credentials token works on the GraphQL endpoint
    assert result["token_type"].lower() == "bearer"
    assert result["expires_in"] == 86400
    assert result["status_before"] == STATUS_OK
    # and introspection and revocation were found and accepted the client authentication
    before = result["introspection_before"]
    assert before["active"] is True
    assert before["client_id"] == extapi_server.client_id
    assert result["introspection_after"] == {"active": False}
    # and the revoked token is refused at once, with RFC 6750's challenge (Totara's 200 status)
    assert result["status_after"] == {
        "status": 200,
        "challenges": [
            {"scheme": "bearer", "parameters": {"realm": "extapi", "error": "invalid_token"}}
        ],
    }
