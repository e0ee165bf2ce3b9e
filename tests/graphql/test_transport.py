"""HTTP-level behaviour of /api/graphql.php: methods, headers, content types, sizes, Accept."""

from __future__ import annotations

import pytest

from extapi.settings.site import set_setting
from tests.factories import GRAPHQL_PATH, fetch_token, graphql, make_api_client

STATUS = {"query": "query { totara_webapi_status { status } }", "variables": "{}"}
ONLY_POST = "Invalid webapi request, only POST method is allowed"


@pytest.fixture
def token(runtime, http) -> str:
    return fetch_token(http, make_api_client(runtime))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_only_post_is_allowed(http, token, method):
    # when any other method is used, even with a valid token
    response = http.request(method, GRAPHQL_PATH, headers={"Authorization": f"Bearer {token}"})
    # then Totara's 400 body comes back
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": ONLY_POST}], "error": ONLY_POST}


def test_method_check_comes_before_the_feature_check(runtime, http):
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    assert http.get(GRAPHQL_PATH).json()["error"] == ONLY_POST


def test_api_disabled_gives_totaras_400(runtime, http, token):
    # given the API feature is switched off
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    # when a valid request arrives
    response = graphql(http, token, STATUS)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "Feature api is not available."}],
        "error": "Feature api is not available.",
    }


def test_response_headers_match_totara(http, token):
    response = graphql(http, token, STATUS)
    headers = response.headers
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == (
        "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"
    )
    assert headers["pragma"] == "no-cache"
    assert headers["expires"] == "Mon, 20 Aug 1969 09:23:00 GMT"
    assert headers["accept-ranges"] == "none"
    assert headers["last-modified"].endswith(" GMT")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", None]
)
def test_json_or_missing_content_type_is_accepted(http, token, content_type):
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    body = b'{"query":"{ totara_webapi_status { status } }"}'
    response = http.post(GRAPHQL_PATH, content=body, headers=headers)
    assert response.json() == {"data": {"totara_webapi_status": {"status": "ok"}}}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_other_content_types_are_read_as_json_too(http, token, content_type):
    # Totara never looks at the Content-Type (rule T1)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    response = http.post(GRAPHQL_PATH, content=b'{"query":"{ __typename }"}', headers=headers)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


def test_oversized_body_gets_413(http, token):
    body = b'{"query":"' + b" " * (1024 * 1024 + 10) + b'{ __typename }"}'
    response = http.post(
        GRAPHQL_PATH,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "exceeds the limit of 1048576 bytes" in response.json()["error"]


def test_graphql_response_json_is_honoured(http, token):
    # when the client prefers the GraphQL-over-HTTP media type
    response = graphql(http, token, STATUS, headers={"Accept": "application/graphql-response+json"})
    # then it gets it
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/json, application/graphql-response+json;q=0.9", "application/json"),
        ("application/graphql-response+json, application/json;q=0.9", "application/graphql"),
        ("text/html", "application/json"),
    ],
)
def test_accept_negotiation(http, token, accept, expected):
    response = graphql(http, token, STATUS, headers={"Accept": accept})
    assert response.headers["content-type"].startswith(expected)


def test_graphql_response_json_uses_400_for_invalid_documents(http, token):
    accept = {"Accept": "application/graphql-response+json"}
    parse_error = graphql(http, token, {"query": "{"}, headers=accept)
    invalid = graphql(http, token, {"query": "{ nope }"}, headers=accept)
    for response in (parse_error, invalid):
        assert response.status_code == 400
        assert "data" not in response.json()


def test_plain_json_keeps_200_for_invalid_documents(http, token):
    assert graphql(http, token, {"query": "{"}).status_code == 200
    assert graphql(http, token, {"query": "{ nope }"}).status_code == 200


def test_graphql_response_json_uses_401_for_authentication_failures(http):
    response = graphql(http, None, STATUS, headers={"Accept": "application/graphql-response+json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_unicode_and_slashes_are_not_escaped(probe_http, runtime):
    token = fetch_token(probe_http, make_api_client(runtime))
    query = '{ probe_echo(text: "Zoë/Ōtautahi") }'
    response = graphql(probe_http, token, {"query": query})
    assert "Zoë/Ōtautahi".encode() in response.content


def test_request_text_is_never_reflected_into_headers(http, token):
    # given request values carrying CR/LF and a fake header
    body = {"query": "{ __typename }", "operationName": "x\r\nSet-Cookie: pwned=1"}
    response = http.post(
        GRAPHQL_PATH,
        json=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json\r\nX-Injected: 1".replace("\r\n", " "),
        },
    )
    # then the answer is an ordinary request error and no header came from the request
    assert response.json()["errors"][0]["debugMessage"] == (
        "Invalid request, validation of operationName failed"
    )
    assert "set-cookie" not in response.headers
    assert "x-injected" not in response.headers
