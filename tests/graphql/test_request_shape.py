"""Request bodies: Totara's shape rules, variables in all their forms, batches, bad input."""

from __future__ import annotations

import pytest

from tests.factories import GRAPHQL_PATH, fetch_token, graphql, make_api_client, masked_error

STATUS = "{ totara_webapi_status { status } }"
OK = {"data": {"totara_webapi_status": {"status": "ok"}}}


@pytest.fixture
def token(runtime, http) -> str:
    return fetch_token(http, make_api_client(runtime))


def _post_raw(http, token: str, body: bytes):
    return http.post(
        GRAPHQL_PATH,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("body", [b"", b"[]", b"{}", b'"text"', b"42", b"null", b"0", b'""'])
def test_empty_bodies_and_json_that_is_no_request(http, token, body):
    response = _post_raw(http, token, body)
    assert response.status_code == 200
    assert response.json() == masked_error("Invalid request, request cannot be empty")


@pytest.mark.parametrize("body", [b"   ", b"not json", b"{", b"\xff\xfe{}"])
def test_unreadable_bodies_get_400(http, token, body):
    response = _post_raw(http, token, body)
    assert response.status_code == 400
    assert response.json() == masked_error("Invalid request, request cannot be empty")


def test_deeply_nested_json_is_refused_cleanly(http, token):
    body = b'{"query":"{ __typename }","variables":' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = _post_raw(http, token, body)
    assert response.status_code == 400
    assert response.json() == masked_error("Invalid request, request cannot be empty")


@pytest.mark.parametrize("key", ["queryId", "id", "documentid"])
def test_persisted_queries_are_refused(http, token, key):
    response = graphql(http, token, {"query": STATUS, key: "abc"})
    assert response.json() == masked_error(
        "Invalid request, we do not support standard persistent queries"
    )


@pytest.mark.parametrize("body", [{"variables": {}}, {"query": ""}, {"query": None}])
def test_missing_query(http, token, body):
    assert graphql(http, token, body).json() == masked_error("Query parameter is missing")


def test_non_string_query_is_a_client_safe_request_error(http, token):
    body = graphql(http, token, {"query": {"obj": "ect"}}).json()
    assert body["errors"][0] == {
        "message": 'GraphQL Request parameter "query" must be string, but got {"obj":"ect"}',
        "extensions": {"category": "request"},
    }


@pytest.mark.parametrize("name", ["status_check", "StatusCheck", "_private", "IntrospectionQuery"])
def test_any_graphql_name_is_a_valid_operation_name(http, token, name):
    query = f"query {name} {{ totara_webapi_status {{ status }} }}"
    assert graphql(http, token, {"query": query, "operationName": name}).json() == OK


@pytest.mark.parametrize(
    "name", ["bad-name", "1abc", "has space", "name\n", 5, True, {"a": 1}, ["x"]]
)
def test_invalid_operation_names(http, token, name):
    response = graphql(http, token, {"query": STATUS, "operationName": name})
    assert response.json() == masked_error("Invalid request, validation of operationName failed")


def test_null_operation_name_is_ignored(http, token):
    assert graphql(http, token, {"query": STATUS, "operationName": None}).json() == OK


def test_empty_operation_name_is_passed_on_as_a_name(http, token):
    # "" is a real name for the executor, which finds no operation called so
    body = graphql(http, token, {"query": STATUS, "operationName": ""}).json()
    assert body["errors"][0]["message"].startswith("Unknown operation named ")
    assert "data" not in body


def test_operation_name_picks_the_operation(http, token):
    query = "query one { totara_webapi_status { status } } query two { __typename }"
    body = graphql(http, token, {"query": query, "operationName": "two"}).json()
    assert body == {"data": {"__typename": "Query"}}


def test_operation_name_not_in_the_document_is_a_request_error(http, token):
    body = graphql(http, token, {"query": STATUS, "operationName": "other"}).json()
    assert body["errors"] == [
        {"message": "Failed to determine operation type", "extensions": {"category": "request"}}
    ]
    assert "data" not in body


@pytest.mark.parametrize("variables", [{}, "{}", "", [], None, '{"x": 1}', "[]"])
def test_variables_in_every_accepted_form(http, token, variables):
    body = {"query": STATUS, "variables": variables}
    assert graphql(http, token, body).json() == OK


def test_absent_variables(http, token):
    assert graphql(http, token, {"query": STATUS}).json() == OK


@pytest.mark.parametrize(
    ("variables", "shown"), [("string", '"string"'), (5, "5"), (True, "true"), ('"x"', '""x""')]
)
def test_variables_that_are_not_objects(http, token, variables, shown):
    body = graphql(http, token, {"query": STATUS, "variables": variables}).json()
    assert body["errors"][0] == {
        "message": (
            'GraphQL Request parameter "variables" must be object or JSON string parsed to '
            f"object, but got {shown}"
        ),
        "extensions": {"category": "request"},
    }


def test_variables_reach_the_operation(probe_http, runtime):
    token = fetch_token(probe_http, make_api_client(runtime))
    query = "query q($id: core_id) { probe_echo(id: $id) }"
    body = graphql(probe_http, token, {"query": query, "variables": '{"id": "42"}'}).json()
    assert body == {"data": {"probe_echo": "[('id', 42)]"}}


def test_undeclared_variables_are_ignored(http, token):
    body = {"query": STATUS, "variables": {"limit": 50, "cursor": "abc"}}
    assert graphql(http, token, body).json() == OK


@pytest.mark.parametrize("extensions", [{}, "{}", None, {"persistedQuery": None}])
def test_extensions_are_accepted_and_unused(http, token, extensions):
    assert graphql(http, token, {"query": STATUS, "extensions": extensions}).json() == OK


def test_batch_answers_each_operation_in_order(http, token):
    batch = [
        {"query": STATUS},
        {"query": "{ __typename }"},
        {"query": "{ nope }"},
    ]
    body = graphql(http, token, batch).json()
    assert body[0] == OK
    assert body[1] == {"data": {"__typename": "Query"}}
    assert body[2]["errors"][0]["message"] == 'Cannot query field "nope" on type "Query".'


def test_a_bad_element_fails_the_whole_batch(http, token):
    batch = [{"query": STATUS}, {"queryId": "x", "query": STATUS}]
    body = graphql(http, token, batch).json()
    assert body == masked_error("Invalid request, we do not support standard persistent queries")


def test_non_object_element_fails_the_whole_batch(http, token):
    body = graphql(http, token, [{"query": STATUS}, 5]).json()
    assert body == masked_error("Query parameter is missing")


def test_huge_batches_are_refused(http, token):
    body = graphql(http, token, [{"query": STATUS}] * 51).json()
    assert body == masked_error(
        "Invalid request, a batch may hold at most 50 operations but this one holds 51"
    )


def test_a_batch_at_the_limit_is_served(http, token):
    body = graphql(http, token, [{"query": STATUS}] * 50).json()
    assert body == [OK] * 50


def test_too_many_tokens_in_a_document_is_a_syntax_error(http, token):
    query = "{ " + "__typename " * 10_001 + "}"
    body = graphql(http, token, {"query": query}).json()
    assert body["errors"][0]["message"] == (
        "Syntax Error: Document contains more than 10000 tokens. Parsing aborted."
    )
