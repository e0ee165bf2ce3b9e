"""Rules T1-T6, D3 and A1 of totara-17.3-observed.md: transport, request shape, envelope,
perfdebug and disabled clients, with the worked examples of the rules document."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select, update

from extapi.auth import clients
from extapi.db.tables import access_tokens, users
from extapi.settings.site import set_setting
from tests.factories import (
    GRAPHQL_PATH,
    fetch_token,
    graphql,
    make_api_client,
    make_user,
    masked_error,
)

STATUS = "{ totara_webapi_status { status } }"
OK = {"data": {"totara_webapi_status": {"status": "ok"}}}
EMPTY = "Invalid request, request cannot be empty"
NO_QUERY = "Query parameter is missing"
PERSISTED = "Invalid request, we do not support standard persistent queries"
MISSING_HEADER = (
    "The request did not contain the required Authorization header. Ensure you set the header "
    "in your request and that it is not being stripped by your server or proxy configuration."
)
INVALID_TOKEN = (
    "Missing, expired or invalid access token. Ensure the Authorization header is set to a "
    "valid Bearer token."
)
NOT_AN_OBJECT = (
    'GraphQL Request parameter "variables" must be object or JSON string parsed to object, but got '
)
CORE_KEYS = [
    "cache",
    "db",
    "filters",
    "includecount",
    "logwrites",
    "memory",
    "posix_times",
    "realtime",
    "server_load",
    "session",
    "strings",
]


@pytest.fixture
def token(runtime, http) -> str:
    return fetch_token(http, make_api_client(runtime))


def _post(http, token: str | None, body: bytes, content_type: str | None = None):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return http.post(GRAPHQL_PATH, content=body, headers=headers)


def _request_error(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"category": "request"}}


def _settings(runtime, **values: str) -> None:
    with runtime.engine.begin() as conn:
        for name, value in values.items():
            set_setting(conn, name, value)


# --- T1 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        None,
        "application/json; charset=utf-8",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
def test_t1_content_type_is_ignored_and_the_body_read_as_json(http, token, content_type):
    # when a JSON body arrives under any Content-Type, or none
    response = _post(http, token, b'{"query":"' + STATUS.encode() + b'"}', content_type)
    # then it runs as usual
    assert response.status_code == 200
    assert response.json() == OK


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"query=%7B+totara_webapi_status+%7B+status+%7D+%7D", "application/x-www-form-urlencoded"),
        (b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ a }\r\n--x--', None),
        (b"not json", "application/json"),
        (b"   ", "application/json"),
    ],
)
def test_t1_undecodable_body_gets_the_empty_request_envelope_with_400(
    http, token, body, content_type
):
    # when the body is not JSON (extapi's deliberate difference: 400 instead of Totara's 200)
    response = _post(http, token, body, content_type)
    # then the envelope and text are Totara's
    assert response.status_code == 400
    assert response.json() == masked_error(EMPTY)


def test_t1_empty_body_keeps_200(http, token):
    response = _post(http, token, b"", "application/json")
    assert response.status_code == 200
    assert response.json() == masked_error(EMPTY)


def test_t1_authentication_error_wins_over_a_malformed_body(http, token):
    # when a form body arrives without any Authorization header
    response = _post(http, None, b"query=x", "application/x-www-form-urlencoded")
    # then authentication is reported, not the body
    assert response.status_code == 200
    assert response.json() == masked_error(MISSING_HEADER)
    # and a bad token also wins over the body
    response = _post(http, "nosuchtoken", b"not json", "text/plain")
    assert response.json() == masked_error(INVALID_TOKEN)


def test_t1_feature_check_comes_before_authentication_and_body(runtime, http):
    _settings(runtime, api_enabled="0")
    response = _post(http, None, b"not json", "text/plain")
    assert response.status_code == 400
    assert response.json()["error"] == "Feature api is not available."


# --- T2 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [{"id": "abc"}, {"variables": {}}, {"QUERY": STATUS}, {"Query": STATUS, "x": 1}],
)
def test_t2_object_without_query_or_operation_name_is_a_batch_of_its_values(http, token, body):
    # then its values are checked as batch elements: none of them is an operation
    assert graphql(http, token, body).json() == masked_error(NO_QUERY)


def test_t2_object_of_operations_runs_as_a_batch(http, token):
    body = graphql(http, token, {"a": {"query": STATUS}, "b": {"query": "{ __typename }"}})
    assert body.json() == [OK, {"data": {"__typename": "Query"}}]


def test_t2_empty_object_is_an_empty_request(http, token):
    assert graphql(http, token, {}).json() == masked_error(EMPTY)


def test_t2_operation_name_alone_makes_a_single_operation(http, token):
    assert graphql(http, token, {"operationName": "x"}).json() == masked_error(NO_QUERY)


# --- T3 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["queryId", "id", "documentid"])
@pytest.mark.parametrize("value", [None, "", "0", 0, False, [], {}])
def test_t3_php_empty_persisted_keys_are_ignored_by_totara(http, token, key, value):
    # when a persisted-query key holds a PHP-empty value next to the query
    body = graphql(http, token, {"query": STATUS, key: value}).json()
    # then Totara's check lets it through (graphql-php may still refuse a non-string)
    assert body.get("errors", [{}])[0].get("debugMessage") != PERSISTED


@pytest.mark.parametrize("key", ["queryId", "id", "documentid"])
@pytest.mark.parametrize("value", ["abc", 1, True, [1], {"a": 1}, "false"])
def test_t3_truthy_persisted_keys_are_refused(http, token, key, value):
    body = graphql(http, token, {"query": STATUS, key: value}).json()
    assert body == masked_error(PERSISTED)


@pytest.mark.parametrize("value", [None, "", "0"])
def test_t3_null_empty_or_zero_string_ids_run_the_query(http, token, value):
    assert graphql(http, token, {"query": STATUS, "id": value}).json() == OK


@pytest.mark.parametrize(("value", "shown"), [(0, "0"), (False, "false"), ([], "[]"), ({}, "[]")])
def test_t3_non_string_php_empty_ids_are_graphql_php_request_errors(http, token, value, shown):
    body = graphql(http, token, {"query": STATUS, "id": value}).json()
    message = f'GraphQL Request parameter "queryId" must be string, but got {shown}'
    assert body == {"errors": [_request_error(message)], "error": message}


@pytest.mark.parametrize(("key", "value"), [("queryid", "abc"), ("ID", "x"), ("DocumentId", "d")])
def test_t3_differently_cased_keys_conflict_with_the_query(http, token, key, value):
    body = graphql(http, token, {"query": STATUS, key: value}).json()
    message = 'GraphQL Request parameters "query" and "queryId" are mutually exclusive'
    assert body == {"errors": [_request_error(message)], "error": message}


def test_t3_non_string_operation_name_is_reported_as_operation(http, token):
    body = graphql(http, token, {"query": STATUS, "operationName": 0}).json()
    message = 'GraphQL Request parameter "operation" must be string, but got 0'
    assert body["errors"] == [_request_error(message)]


# --- T4 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "element", [1, "abc", None, [], {}, [{"query": STATUS}], {"variables": {}}, {"query": ""}]
)
def test_t4_batch_element_that_is_not_an_operation_fails_the_request(http, token, element):
    body = graphql(http, token, [{"query": STATUS}, element]).json()
    assert body == {
        "errors": [
            {
                "debugMessage": NO_QUERY,
                "message": "Internal server error",
                "extensions": {"category": "internal", "debugMessage": NO_QUERY},
            }
        ],
        "error": "Internal server error",
    }


def test_t4_every_element_is_checked_before_any_runs(runtime, http, token):
    # given a user that a mutation in the batch would delete
    make_user(runtime, "t4victim")
    mutation = 'mutation { core_user_delete_user(target_user: {username: "t4victim"}) { user_id } }'
    # when a later element of the batch is not an operation
    body = graphql(http, token, [{"query": mutation}, 1]).json()
    # then the whole request fails and the mutation never ran
    assert body == masked_error(NO_QUERY)
    with runtime.engine.connect() as conn:
        deleted = conn.execute(select(users.c.deleted).where(users.c.username == "t4victim"))
        assert deleted.scalar_one() is False


# --- T5 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variables", "shown"),
    [
        ("[1]", '"[1]"'),
        ([1, 2], "[1,2]"),
        ("string", '"string"'),
        ('"x"', '""x""'),
        ("5", '"5"'),
        ("a/é\\", '"a/é\\"'),
        (["a/é"], '["a\\/\\u00e9"]'),
        ({"0": "zero"}, '["zero"]'),
        (5, "5"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
    ],
)
def test_t5_variables_error_prints_the_value_as_the_client_sent_it(http, token, variables, shown):
    body = graphql(http, token, {"query": STATUS, "variables": variables}).json()
    assert body["errors"] == [_request_error(NOT_AN_OBJECT + shown)]


@pytest.mark.parametrize("variables", [[], "[]", "null", "", None, {}, "{}", [None, 1]])
def test_t5_empty_or_object_variables_are_accepted(http, token, variables):
    assert graphql(http, token, {"query": STATUS, "variables": variables}).json() == OK


def test_t5_parameter_errors_stay_on_their_own_batch_element(http, token):
    body = graphql(http, token, [{"query": STATUS}, {"query": STATUS, "variables": 5}]).json()
    assert body == [OK, {"errors": [_request_error(NOT_AN_OBJECT + "5")]}]


# --- T6 ---------------------------------------------------------------------------------------
def test_t6_legacy_error_holds_every_message_of_a_single_response(http, token):
    body = graphql(http, token, {"query": 5, "variables": 7}).json()
    first = 'GraphQL Request parameter "query" must be string, but got 5'
    second = NOT_AN_OBJECT + "7"
    assert body == {
        "errors": [_request_error(first), _request_error(second)],
        "error": f"{first}\n{second}",
    }


def test_t6_batch_elements_never_carry_the_legacy_error(http, token):
    body = graphql(http, token, [{"query": STATUS}, {"query": "{"}]).json()
    assert body[0] == OK
    assert "errors" in body[1]
    assert "error" not in body[1]


def test_t6_a_request_that_fails_as_a_whole_has_the_legacy_error(http, token):
    body = graphql(http, token, [{"query": STATUS}, {"queryId": "x", "query": STATUS}]).json()
    assert body["error"] == "Internal server error"


# --- D3 ---------------------------------------------------------------------------------------
def _assert_performance_data(extensions: dict[str, Any], complexity: int) -> dict[str, Any]:
    assert list(extensions) == ["complexity_data", "performance_data"]
    assert extensions["complexity_data"] == {"query_complexity": complexity}
    data = extensions["performance_data"]
    assert list(data) == ["core"]
    core = data["core"]
    assert list(core) == CORE_KEYS
    assert list(core["db"]) == ["reads", "writes", "time"]
    assert list(core["memory"]) == ["total", "growth", "peak"]
    assert core["memory"]["total"] > 0 and core["memory"]["peak"] > 0
    assert list(core["posix_times"]) == ["ticks", "utime", "stime", "cutime", "cstime"]
    assert isinstance(core["realtime"], float) and core["realtime"] > 0
    assert core["server_load"] is None or isinstance(core["server_load"], str)
    assert core["session"] is None
    assert core["strings"]["data"] == {"langcountgetstring": 0}
    assert list(core["filters"]) == ["data", "names"]
    assert core["includecount"] > 0
    return core


def test_d3_perfdebug_adds_performance_data_next_to_complexity_data(runtime, http, token):
    _settings(runtime, perfdebug="1")
    body = graphql(http, token, {"query": STATUS}).json()
    assert list(body) == ["data", "extensions"]
    core = _assert_performance_data(body["extensions"], 6)
    # the token (and at least the site revision) was read; the status query writes nothing
    assert core["db"]["reads"] >= 1
    assert core["db"]["writes"] == 0


def test_d3_sql_writes_are_counted(runtime, http, token):
    make_user(runtime, "d3victim")
    _settings(runtime, perfdebug="1")
    mutation = 'mutation { core_user_delete_user(target_user: {username: "d3victim"}) { user_id } }'
    extensions = graphql(http, token, {"query": mutation}).json()["extensions"]
    core = extensions["performance_data"]["core"]
    assert core["db"]["writes"] >= 1
    assert core["db"]["reads"] >= 2


def test_d3_every_batch_element_carries_the_same_measurements(runtime, http, token):
    _settings(runtime, perfdebug="1")
    body = graphql(http, token, [{"query": STATUS}, {"query": "{ __typename }"}]).json()
    assert body[0]["extensions"] == body[1]["extensions"]
    _assert_performance_data(body[0]["extensions"], 6)


@pytest.mark.parametrize("body", [b"", b"{}", b"not json", b'{"query": 5}'])
def test_d3_request_shape_errors_carry_performance_data(runtime, http, token, body):
    _settings(runtime, perfdebug="1")
    answer = _post(http, token, body, "application/json").json()
    _assert_performance_data(answer["extensions"], 0)
    assert list(answer) == ["errors", "extensions", "error"]


@pytest.mark.parametrize("bearer", [None, "nosuchtoken"])
def test_d3_authentication_errors_carry_performance_data(runtime, http, bearer):
    _settings(runtime, perfdebug="1")
    answer = graphql(http, bearer, {"query": STATUS}).json()
    _assert_performance_data(answer["extensions"], 0)


def test_d3_refusals_before_the_handler_carry_none(runtime, http, token):
    _settings(runtime, perfdebug="1")
    assert "extensions" not in http.get(GRAPHQL_PATH).json()
    _settings(runtime, api_enabled="0")
    assert "extensions" not in graphql(http, token, {"query": STATUS}).json()


def test_d3_no_extensions_while_perfdebug_is_off(http, token):
    assert "extensions" not in graphql(http, token, {"query": STATUS}).json()
    assert "extensions" not in graphql(http, token, {}).json()


# --- A1 ---------------------------------------------------------------------------------------
def test_a1_disabled_clients_token_reads_as_invalid_and_works_again_once_enabled(runtime, http):
    # given a client with a token that has been used (so the worker has cached it)
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    assert graphql(http, token, {"query": STATUS}).json() == OK
    # when the client is disabled
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, False)
    # then its token reads as missing, expired or invalid
    assert graphql(http, token, {"query": STATUS}).json() == masked_error(INVALID_TOKEN)
    # and once it is enabled again the same token works
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, True)
    assert graphql(http, token, {"query": STATUS}).json() == OK


def test_a1_token_is_expired_from_its_expiry_second_on(runtime, http):
    # given a token whose expiry time is now (Totara's JWT check: expired when now >= exp)
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        conn.execute(update(access_tokens).values(expires=int(time.time())))
    # then it reads as expired
    assert graphql(http, token, {"query": STATUS}).json() == masked_error(INVALID_TOKEN)
