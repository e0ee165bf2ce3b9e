"""X-Request-Id: every response carries one; a well-formed incoming id is kept, anything else
is replaced by a fresh random id."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.ops.request_id import MAX_LENGTH, request_id
from tests.factories import TOKEN_PATH, fetch_token, graphql, make_api_client

FRESH = re.compile(r"^[0-9a-f]{32}$")
STATUS = {"query": "{ totara_webapi_status { status } }"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/"),
        ("GET", "/login"),
        ("GET", "/no/such/page"),
        ("GET", "/api/graphql.php"),
        ("POST", "/api/graphql.php"),
        ("GET", TOKEN_PATH),
        ("POST", TOKEN_PATH),
        ("GET", "/.well-known/oauth-authorization-server"),
        ("GET", "/static/no-such-file.css"),
    ],
)
def test_every_response_carries_a_fresh_request_id(http, method, path):
    # given a request without an id of its own
    # when it is answered, whatever the answer
    first = http.request(method, path)
    second = http.request(method, path)
    # then each answer names a fresh random id
    assert FRESH.match(first.headers["x-request-id"])
    assert FRESH.match(second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_the_metrics_page_carries_one_too(ops_http):
    assert FRESH.match(ops_http.get("/metrics").headers["x-request-id"])


@pytest.mark.parametrize("given", ["a", "abc-123", "Root-1-5e1b4151:AbC_9.x", "x" * MAX_LENGTH])
def test_a_well_formed_incoming_id_is_kept(http, given):
    response = http.get("/healthz", headers={"X-Request-Id": given})
    assert response.headers["x-request-id"] == given


def test_the_api_and_token_endpoints_keep_the_callers_id(runtime, http):
    # given a client with a token
    token = fetch_token(http, make_api_client(runtime))
    # when it calls the API with its own id
    answer = graphql(http, token, STATUS, headers={"X-Request-Id": "trace-42"})
    # then the answer names that id
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "trace-42"
    refused = http.post(
        TOKEN_PATH, data={"grant_type": "client_credentials"}, headers={"X-Request-Id": "trace-43"}
    )
    assert refused.status_code == 401
    assert refused.headers["x-request-id"] == "trace-43"


@pytest.mark.parametrize(
    "hostile",
    [
        b"",
        b"x" * (MAX_LENGTH + 1),
        b"has space",
        b"<script>alert(1)</script>",
        b"a;b",
        b'quo"te',
        b"caf\xc3\xa9",
        b"\xff\xfe",
        b"tab\there",
    ],
)
def test_a_malformed_or_hostile_id_is_replaced(http, hostile):
    response = http.get("/healthz", headers={"X-Request-Id": hostile})
    assert FRESH.match(response.headers["x-request-id"])


@pytest.mark.parametrize(
    "value", [b"ok\r\nSet-Cookie: a=b", b"nul\x00byte", b"new\nline", b"a" * 100_000]
)
def test_an_id_that_could_split_a_header_is_never_echoed(value):
    # given raw header bytes no HTTP client would send (the server may pass them on)
    scope = {"headers": [(b"x-request-id", value)]}
    # when the id is taken from the request
    chosen = request_id(scope)
    # then it is a fresh one
    assert FRESH.match(chosen.decode())


def test_the_first_of_several_ids_is_the_one_considered():
    scope = {"headers": [(b"x-request-id", b"first"), (b"x-request-id", b"second")]}
    assert request_id(scope) == b"first"


def test_a_crash_is_answered_500_with_the_id(runtime, monkeypatch):
    # given an API endpoint that fails unexpectedly
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(GraphQLEndpoint, "_handle", broken)
    with TestClient(ExtapiApp(runtime), raise_server_exceptions=False) as client:
        # when a request reaches it
        response = client.post("/api/graphql.php", json=STATUS, headers={"X-Request-Id": "r-1"})
    # then the 500 still names the request, without the error's text
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "r-1"
    assert "boom" not in response.text
