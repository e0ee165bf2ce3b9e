"""HTTP-level behaviour of /api/graphql.php: methods, headers, content types, sizes, Accept."""

from __future__ import annotations

import pytest

from extapi.graphql import endpoint
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


# --- GET, for clients that ask for application/graphql-response+json --------------------------
GRJ = "application/graphql-response+json"


def _get(http, token, params, accept=GRJ):
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    return http.get(GRAPHQL_PATH, params=params, headers=headers)


def test_get_runs_a_query_for_a_client_asking_for_the_graphql_response_type(http, token):
    # when urql-style GET sends a short query, asking for the newer media type first
    accept = f"{GRJ}, application/graphql+json, application/json, text/event-stream"
    response = _get(http, token, {"query": "{ totara_webapi_status { status } }"}, accept)
    # then it runs, answered in that media type
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRJ)
    assert response.json() == {"data": {"totara_webapi_status": {"status": "ok"}}}


def test_get_takes_variables_and_operation_name_as_json_text(http, token):
    query = (
        "query Other { __typename } "
        "query Status($f: core_date_format) { totara_webapi_status { timestamp(format: $f) } }"
    )
    params = {"query": query, "operationName": "Status", "variables": '{"f": "TIMESTAMP"}'}
    body = _get(http, token, params).json()
    assert body["data"]["totara_webapi_status"]["timestamp"].isdigit()


def test_get_refuses_a_mutation_with_405_and_changes_nothing(runtime, http, token):
    # given a user a mutation would delete
    from tests.factories import make_user

    make_user(runtime, "keepme")
    count = {"query": "{ core_user_users { total } }"}
    before = graphql(http, token, count).json()["data"]["core_user_users"]["total"]
    mutation = 'mutation { core_user_delete_user(target_user: {username: "keepme"}) { user_id } }'
    # when the mutation comes by GET
    response = _get(http, token, {"query": mutation})
    # then 405, Allow: POST, and the user is still there
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    message = "Invalid webapi request, mutations are only allowed with the POST method"
    assert response.json()["errors"] == [{"message": message}]
    after = graphql(http, token, count).json()["data"]["core_user_users"]["total"]
    assert after == before


def test_get_may_select_the_query_of_a_document_that_also_holds_a_mutation(http, token):
    query = (
        "query Q { totara_webapi_status { status } } "
        'mutation M { core_user_delete_user(target_user: {username: "x"}) { user_id } }'
    )
    response = _get(http, token, {"query": query, "operationName": "Q"})
    assert response.status_code == 200
    assert response.json()["data"] == {"totara_webapi_status": {"status": "ok"}}


def test_get_without_the_graphql_response_type_keeps_totaras_answer(http, token):
    # when a plain JSON client sends a GET with a query
    response = _get(http, token, {"query": "{ __typename }"}, accept="application/json")
    # then Totara's 400 "only POST" body, exactly
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": ONLY_POST}], "error": ONLY_POST}


def test_get_still_needs_a_token(http):
    response = http.get(GRAPHQL_PATH, params={"query": "{ __typename }"}, headers={"Accept": GRJ})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "query_string",
    [
        "",  # no parameters at all
        "query=",  # an empty query
        "query=%7B%20__typename&variables=%7Bbroken",  # a broken document and variables
        "query=%FF%FE",  # not UTF-8
        "variables=%7B%7D",  # variables without a query
        "query=%7B__typename%7D&variables=%5B1%5D",  # variables that are not an object
    ],
)
def test_malformed_get_parameters_get_a_client_error(http, token, query_string):
    response = http.get(
        f"{GRAPHQL_PATH}?{query_string}",
        headers={"Authorization": f"Bearer {token}", "Accept": GRJ},
    )
    # then a 4xx answer in the GraphQL envelope, never a server error
    assert 400 <= response.status_code < 500
    assert response.json()["errors"][0]["message"]


def test_accept_answers_stay_right_once_the_table_of_known_headers_is_full(
    http, token, monkeypatch
):
    # given the table of remembered Accept answers (a fresh one) filled with other headers
    monkeypatch.setattr(endpoint, "_accept_answers", {})
    for n in range(endpoint._ACCEPT_CACHE_SIZE):
        endpoint.wants_graphql_response(f"application/x-filler-{n}")
    full = len(endpoint._accept_answers)
    # when clients send headers not seen before, each twice
    prefers = "application/graphql-response+json, application/json;q=0.5"
    first = graphql(http, token, STATUS, headers={"Accept": prefers})
    again = graphql(http, token, STATUS, headers={"Accept": prefers})
    plain = graphql(http, token, STATUS, headers={"Accept": "application/json;q=0.9, */*;q=0.1"})
    # then each still gets the media type it asked for, and the table did not grow
    assert first.headers["content-type"].startswith("application/graphql-response+json")
    assert again.headers["content-type"].startswith("application/graphql-response+json")
    assert plain.headers["content-type"].startswith("application/json")
    assert len(endpoint._accept_answers) == full <= endpoint._ACCEPT_CACHE_SIZE
