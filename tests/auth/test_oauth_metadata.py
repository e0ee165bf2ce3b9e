"""RFC 8414 authorization server metadata at ``/.well-known/oauth-authorization-server``."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest

from extapi.settings.site import set_setting
from tests.factories import make_api_client

METADATA = "/.well-known/oauth-authorization-server"
BASE = "http://testserver"


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_metadata_names_every_endpoint_and_what_it_accepts(http):
    # when a client reads the metadata document
    response = http.get(METADATA)
    # then it is JSON (RFC 8414 3.2), cacheable for a short time, with every member extapi supports
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "public, max-age=300"
    methods = ["client_secret_basic", "client_secret_post"]
    assert response.json() == {
        "issuer": BASE,
        "token_endpoint": f"{BASE}/totara/oauth2/token.php",
        "token_endpoint_auth_methods_supported": methods,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "service_documentation": f"{BASE}/totara/api/documentation/",
        "revocation_endpoint": f"{BASE}/totara/oauth2/revoke.php",
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint": f"{BASE}/totara/oauth2/introspect.php",
        "introspection_endpoint_auth_methods_supported": methods,
    }


def test_issuer_is_the_prefix_the_document_was_fetched_from(http):
    # RFC 8414 3.3: the issuer plus the well-known path is the address the client used
    body = http.get(f"http://api.example.org:8443{METADATA}").json()
    assert body["issuer"] == "http://api.example.org:8443"
    assert body["issuer"] + METADATA == f"http://api.example.org:8443{METADATA}"
    assert "?" not in body["issuer"] and "#" not in body["issuer"]


def test_public_url_setting_wins_over_the_host_header(runtime, http):
    # given a configured public address
    runtime.config = replace(runtime.config, public_url="https://lms.example.org")
    # when the document is read through another host name
    body = http.get(METADATA, headers={"Host": "internal:8080"}).json()
    # then every address is the public one
    assert body["issuer"] == "https://lms.example.org"
    assert body["token_endpoint"] == "https://lms.example.org/totara/oauth2/token.php"


def test_malformed_host_header_is_not_reflected(http):
    body = http.get(METADATA, headers={"Host": "evil.example<script>"}).json()
    assert body["issuer"] == "http://localhost"


def test_head_is_answered_like_get(http):
    response = http.head(METADATA)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_refused_with_allow_header(http, method):
    response = http.request(method, METADATA)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert response.json()["error"] == "invalid_request"


def test_api_disabled_answers_as_the_token_endpoint(runtime, http):
    # given the API feature is off
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    # when the metadata and the token endpoint are asked
    metadata = http.get(METADATA)
    token = http.post("/totara/oauth2/token.php", data={"grant_type": "client_credentials"})
    # then both give the same access_denied answer, never cached
    assert metadata.status_code == token.status_code == 403
    assert metadata.json() == token.json()
    assert metadata.json()["hint"] == "'totara_api' feature is not enabled."
    assert metadata.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_advertised_token_endpoint_accepts_each_advertised_method(runtime, http, method):
    # given a client and the metadata
    client = make_api_client(runtime)
    meta = http.get(METADATA).json()
    assert method in meta["token_endpoint_auth_methods_supported"]
    # when it asks for a token at the advertised address with the advertised method
    form = {"grant_type": meta["grant_types_supported"][0]}
    headers = {}
    if method == "client_secret_basic":
        headers["Authorization"] = _basic(client.client_id, client.secret)
    else:
        form.update(client_id=client.client_id, client_secret=client.secret)
    response = http.post(meta["token_endpoint"], data=form, headers=headers)
    # then a token is issued
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
