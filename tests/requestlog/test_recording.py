"""Each authenticated GraphQL request leaves one row in the request log."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.config import Config
from extapi.runtime import Runtime, open_runtime
from extapi.settings.site import set_setting
from tests.factories import ApiClient, fetch_token, graphql, make_api_client
from tests.requestlog.support import flushed_rows, last_used

STATUS = {"query": "query Status { totara_webapi_status { status timestamp } }"}
ANONYMOUS = {"query": "{ totara_webapi_status { status } }"}


def _perfdebug(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, "perfdebug", "1")


def _complexity(body: dict) -> int:
    return int(body["extensions"]["complexity_data"]["query_complexity"])


def test_a_request_is_recorded_with_its_fields(runtime, http, client, token):
    # given a client whose responses report their complexity
    _perfdebug(runtime)
    before = int(time.time())
    # when it runs a named query and the log is flushed
    body = graphql(http, token, STATUS).json()
    rows = flushed_rows(runtime, client.id)
    # then one row holds the operation, its cost, the status and the outcome
    assert len(rows) == 1
    row = rows[0]
    assert row["operations"] == "Status"
    assert row["complexity"] == _complexity(body) == 7
    assert (row["status"], row["outcome"]) == (200, "success")
    assert before <= row["time"] <= int(time.time())
    assert 0 < row["duration_ms"] < 10_000


def test_a_batch_is_one_row_naming_each_operation(runtime, http, client, token):
    # given a batch of a named, an anonymous and a chosen operation
    _perfdebug(runtime)
    chosen = {
        "query": "query A { totara_webapi_status { status } } "
        "query B { totara_webapi_status { status } }",
        "operationName": "B",
    }
    # when it is sent
    body = graphql(http, token, [STATUS, ANONYMOUS, chosen]).json()
    rows = flushed_rows(runtime, client.id)
    # then one row names them in order and holds the batch's shared complexity
    assert len(rows) == 1
    assert rows[0]["operations"] == "Status, (anonymous), B"
    assert rows[0]["complexity"] == _complexity(body[0])
    assert rows[0]["outcome"] == "success"


def test_a_long_batch_label_is_cut_to_the_column(runtime, http, client, token):
    # given a batch of 40 operations with long names
    name = "q" + "x" * 20
    batch = [{"query": f"query {name} {{ totara_webapi_status {{ status }} }}"}] * 40
    # when it is sent and logged
    assert graphql(http, token, batch).status_code == 200
    rows = flushed_rows(runtime, client.id)
    # then the label fits its 255 characters
    assert len(rows[0]["operations"]) == 255
    assert rows[0]["operations"].startswith(f"{name}, {name}")


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ no_such_field }"},
        {"query": "{ totara_webapi_status { status } "},
        [ANONYMOUS, {"query": "{ no_such_field }"}],
    ],
    ids=["validation", "syntax", "batch with one failure"],
)
def test_a_response_with_errors_is_an_error(runtime, http, client, token, body):
    # when a request's response carries errors
    graphql(http, token, body)
    rows = flushed_rows(runtime, client.id)
    # then it is logged as an error
    assert [r["outcome"] for r in rows] == ["error"]


def test_a_request_shape_error_after_authentication_is_an_error(runtime, http, client, token):
    # when an authenticated request has no query
    response = graphql(http, token, {"variables": {}})
    rows = flushed_rows(runtime, client.id)
    # then it is logged with no operations and as an error
    assert response.status_code == 200
    assert [(r["operations"], r["outcome"], r["complexity"]) for r in rows] == [
        ("(invalid request)", "error", 0)
    ]


def test_a_refused_request_is_rate_limited(runtime, http, client, token):
    # given a client allowed one point a minute
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(rate_limit=1)
        )
    # when it sends a query costing more
    response = graphql(http, token, STATUS)
    rows = flushed_rows(runtime, client.id)
    # then the 429 is logged with the cost that did not fit
    assert response.status_code == 429
    assert [(r["status"], r["outcome"], r["complexity"]) for r in rows] == [
        (429, "rate_limited", 7)
    ]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_an_unauthenticated_request_is_not_logged(runtime, http, client, authorization):
    # when a request comes without a valid token
    headers = {"Authorization": authorization} if authorization else None
    graphql(http, None, STATUS, headers=headers)
    # then nothing is logged, for any client
    assert flushed_rows(runtime) == []


def test_each_client_gets_its_own_rows_and_last_use(runtime, http, client, token):
    # given a second client that has not been used
    other = make_api_client(runtime, name="Other")
    fetch_token(http, other)
    # when the first client makes two requests
    before = int(time.time())
    graphql(http, token, STATUS)
    graphql(http, token, STATUS)
    runtime.request_log.flush()
    # then only the first has rows and a last use
    assert len(flushed_rows(runtime, client.id)) == 2
    assert flushed_rows(runtime, other.id) == []
    assert before <= (last_used(runtime, client.id) or 0) <= int(time.time())
    assert last_used(runtime, other.id) is None


def test_nothing_is_recorded_with_the_log_off(database_url):
    # given a server with EXTAPI_REQUEST_LOG=off
    config = Config(database_url=database_url, secret_key="k", request_log=False)
    runtime = open_runtime(config)
    try:
        client: ApiClient = make_api_client(runtime)
        with TestClient(ExtapiApp(runtime)) as http:
            token = fetch_token(http, client)
            # when the client makes a request
            assert graphql(http, token, STATUS).status_code == 200
            # then nothing is buffered or stored, and its last use stays unknown
            assert runtime.request_log.pending() == 0
        assert flushed_rows(runtime) == []
        assert last_used(runtime, client.id) is None
    finally:
        runtime.close()
