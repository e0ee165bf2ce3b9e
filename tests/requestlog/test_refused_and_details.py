"""What the endpoint logs beyond the figures: request ids, masked variables, errors, the
budget in force; and requests refused for their client's account, tenant or status."""

from __future__ import annotations

import time

import orjson
import pytest
from sqlalchemy import select, update

from extapi.auth import clients
from extapi.db.tables import access_tokens, api_usage_minutes
from extapi.people import users as user_service
from extapi.people.admin_actions import suspend_tenant
from extapi.requestlog.details import MASK
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_tenant
from tests.requestlog.support import flushed_rows, last_used

STATUS = {"query": "query Status { totara_webapi_status { status } }"}
WITH_VARIABLES = {
    # Variables the document does not declare are accepted and ignored.
    "query": "query Status { totara_webapi_status { status } }",
    "variables": {"password": "hunter2", "who": "me", "nested": {"api_token": "t"}},
}


def test_the_request_id_variables_and_errors_are_stored(runtime, http, client, token):
    # given a client at the Developer error level
    with runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", "2")
    # when it sends a request with its own id and secret-looking variables
    graphql(http, token, WITH_VARIABLES, headers={"X-Request-Id": "trace-123"})
    # and a request that fails
    graphql(http, token, {"query": "{ no_such_field }"})
    ok, failed = flushed_rows(runtime, client.id)
    # then the first keeps its id and its variables with the secrets masked
    assert ok["request_id"] == "trace-123"
    assert orjson.loads(ok["variables"]) == {
        "password": MASK,
        "who": "me",
        "nested": {"api_token": MASK},
    }
    assert ok["errors"] is None
    # and the failure keeps a request id of its own and its error message
    assert failed["request_id"] and failed["request_id"] != "trace-123"
    assert failed["variables"] is None
    errors = orjson.loads(failed["errors"])
    assert "no_such_field" in errors[0]["message"]


def test_the_status_query_stores_no_details(runtime, http, client, token):
    graphql(http, token, STATUS)
    (row,) = flushed_rows(runtime, client.id)
    assert (row["variables"], row["errors"]) == (None, None)


def test_each_minute_keeps_the_budget_in_force(runtime, http, client, token):
    # given a client allowed 5,000 points a minute
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(rate_limit=5000)
        )
    # when it makes a request and the log is flushed
    graphql(http, token, STATUS)
    runtime.request_log.flush()
    # then its minute holds that budget
    with runtime.engine.connect() as conn:
        budgets = conn.execute(
            select(api_usage_minutes.c.budget).where(api_usage_minutes.c.client_id == client.id)
        ).scalars()
        assert list(budgets) == [5000]


def _refused_rows(runtime, client_pk):
    return [(r["outcome"], r["operations"]) for r in flushed_rows(runtime, client_pk)]


def _deleted_account_client(runtime, http):
    """A client with a token whose service account was deleted after it was issued."""
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        user_service.soft_delete(conn, client.user_id)
    return client, token


def test_a_deleted_service_account_is_logged_against_the_client(runtime, http):
    # given a client whose service account has been deleted
    client, token = _deleted_account_client(runtime, http)
    before = int(time.time())
    # when it calls the API with variables
    response = graphql(http, token, WITH_VARIABLES)
    # then it is refused, and the refusal is logged against it with what it asked for
    assert "API user is invalid" in response.text
    rows = flushed_rows(runtime, client.id)
    assert [(r["outcome"], r["operations"], r["complexity"]) for r in rows] == [
        ("refused", "Status", 0)
    ]
    assert orjson.loads(rows[0]["variables"])["password"] == MASK
    assert "API user is invalid" in rows[0]["errors"]
    # and its last use moves, so the page no longer says "Never"
    assert before <= (last_used(runtime, client.id) or 0) <= int(time.time())


def test_a_suspended_service_account_is_logged_as_refused(runtime, http, client, token):
    # given a client whose service account has been suspended
    with runtime.engine.begin() as conn:
        user_service.set_suspended(conn, client.user_id, True)
    # when it calls the API
    graphql(http, token, STATUS)
    # then the refusal is logged against the client
    assert _refused_rows(runtime, client.id) == [("refused", "Status")]


def test_a_suspended_tenant_is_logged_as_refused(runtime, http):
    # given a tenant client whose tenant is suspended (which disables the client)
    tenant = make_tenant(runtime)
    client = make_api_client(runtime, tenant_id=tenant)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        suspend_tenant(conn, tenant, True)
    # when it calls the API
    graphql(http, token, {"query": "{ totara_webapi_status { status } }"})
    # then the refusal is logged against the client
    assert _refused_rows(runtime, client.id) == [("refused", "(anonymous)")]


def test_a_disabled_client_is_logged_as_refused(runtime, http, client, token):
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, False)
    graphql(http, token, [STATUS, STATUS])
    assert _refused_rows(runtime, client.id) == [("refused", "Status, Status")]


def test_an_unreadable_refused_request_is_still_logged(runtime, http):
    client, token = _deleted_account_client(runtime, http)
    http.post(
        "/api/graphql.php", content=b"{not json", headers={"Authorization": f"Bearer {token}"}
    )
    assert _refused_rows(runtime, client.id) == [("refused", "(invalid request)")]


@pytest.mark.parametrize("token_kind", ["expired", "unknown"])
def test_expired_and_unknown_tokens_stay_unlogged(runtime, http, token_kind):
    # given a client with a deleted account whose token is expired (or a token nobody issued)
    client, token = _deleted_account_client(runtime, http)
    if token_kind == "expired":
        with runtime.engine.begin() as conn:
            conn.execute(update(access_tokens).values(expires=int(time.time()) - 1))
            clients.set_client_status(conn, client.client_id, True)  # moves the revision
    else:
        token = "not-a-token"
    # when it calls the API
    graphql(http, token, STATUS)
    # then nothing is logged and the client stays unused
    assert flushed_rows(runtime) == []
    assert last_used(runtime, client.id) is None
