"""Complexity, rate limits and abuse limits at the GraphQL endpoint, on both window backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.config import Config
from extapi.runtime import Runtime, open_runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client, make_user

REDIS_URL = os.environ.get("EXTAPI_TEST_REDIS_URL")
STATUS = {"query": "{ totara_webapi_status { status timestamp } }"}
TOO_MANY = {"errors": [{"message": "Too many requests"}], "error": "Too many requests"}


@pytest.fixture(params=["memory", "redis"])
def lim_runtime(request: pytest.FixtureRequest, database_url: str) -> Iterator[Runtime]:
    if request.param == "redis" and not REDIS_URL:
        pytest.skip("Redis tests need EXTAPI_TEST_REDIS_URL (.ci/run sets it)")
    config = Config(
        database_url=database_url,
        secret_key="test",
        rate_limit_backend=request.param,
        redis_url=REDIS_URL if request.param == "redis" else None,
        redis_prefix=f"extapi:test:{uuid.uuid4().hex}:",
    )
    runtime = open_runtime(config)
    yield runtime
    runtime.close()


@pytest.fixture
def lim_http(lim_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(ExtapiApp(lim_runtime)) as client:
        yield client


@pytest.fixture
def client(lim_runtime):
    return make_api_client(lim_runtime)


@pytest.fixture
def token(lim_http, client) -> str:
    return fetch_token(lim_http, client)


def _set(runtime: Runtime, **settings: str) -> None:
    with runtime.engine.begin() as conn:
        for name, value in settings.items():
            set_setting(conn, name, value)


def _client_limit(runtime: Runtime, client, limit: int) -> None:
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(rate_limit=limit)
        )


# --- complexity -------------------------------------------------------------------------------
def test_status_query_costs_seven(lim_runtime, lim_http, token):
    _set(lim_runtime, perfdebug="1")
    body = graphql(lim_http, token, STATUS).json()
    assert body["extensions"]["complexity_data"] == {"query_complexity": 7}
    assert list(body) == ["data", "extensions"]


def test_user_page_costs_five_plus_three_per_user(lim_runtime, lim_http, token):
    for _ in range(9):
        make_user(lim_runtime)
    _set(lim_runtime, perfdebug="1")
    query = "{ core_user_users(query:{pagination:{limit:10}}) { items { id firstname lastname } } }"
    assert graphql(lim_http, token, {"query": query}).json()["extensions"]["complexity_data"] == {
        "query_complexity": 35
    }
    fewer = (
        "{ core_user_users(query:{pagination:{limit:4}}) "
        "{ items { id firstname lastname } total next_cursor } }"
    )
    assert graphql(lim_http, token, {"query": fewer}).json()["extensions"]["complexity_data"] == {
        "query_complexity": 17
    }


def test_batch_shares_one_counter(lim_runtime, lim_http, token):
    _set(lim_runtime, perfdebug="1")
    body = graphql(lim_http, token, [STATUS, STATUS]).json()
    assert [b["extensions"]["complexity_data"]["query_complexity"] for b in body] == [14, 14]


def test_no_extensions_without_perfdebug(lim_http, token):
    assert "extensions" not in graphql(lim_http, token, STATUS).json()


def test_max_complexity_message_is_client_safe(lim_runtime, lim_http, token):
    _set(lim_runtime, max_query_complexity="6", response_debug="none")
    body = graphql(lim_http, token, STATUS).json()
    error = body["errors"][0]
    assert error["message"] == "Query complexity exceeded maximum allowed complexity of 6."
    assert error["extensions"] == {"category": "query_complexity"}
    assert body["data"] == {"totara_webapi_status": {"status": "ok", "timestamp": None}}


def test_mutation_root_costs_ten(lim_runtime, lim_http, token):
    make_user(lim_runtime, "gone")
    _set(lim_runtime, perfdebug="1")
    mutation = 'mutation { core_user_delete_user(target_user: {username: "gone"}) { user_id } }'
    body = graphql(lim_http, token, {"query": mutation}).json()
    assert body["extensions"]["complexity_data"] == {"query_complexity": 10}


# --- rate limits ------------------------------------------------------------------------------
def test_client_budget_gives_429_with_headers(lim_runtime, lim_http, client, token):
    # given a client allowed 20 points a minute (the status query costs 7)
    _client_limit(lim_runtime, client, 20)
    assert "data" in graphql(lim_http, token, STATUS).json()
    assert "data" in graphql(lim_http, token, STATUS).json()
    # when the third would take it to 21
    response = graphql(lim_http, token, STATUS)
    # then Totara's 429, plus Retry-After and the IETF fields
    assert response.status_code == 429
    assert response.json() == TOO_MANY
    assert response.headers["ratelimit-policy"].startswith('"client";q=20;w=60')
    assert response.headers["ratelimit"].startswith('"client";r=6;t=')
    # and Retry-After is when the refused 7 points fit, not one point (which would be at once):
    # the 14 spent count in full at the window's rotation, so only once two windows have
    # passed since it began (less the part of a second already gone)
    retry_after = int(response.headers["retry-after"])
    assert 60 < retry_after <= 120
    # and RateLimit's reset is that same wait
    assert response.headers["ratelimit"] == f'"client";r=6;t={retry_after}'


def test_an_exhausted_budget_refuses_before_any_work(lim_runtime, lim_http, client, token):
    _client_limit(lim_runtime, client, 7)
    assert "data" in graphql(lim_http, token, STATUS).json()
    refused = graphql(lim_http, token, {"query": "{ __typename }"})
    assert refused.status_code == 429


def test_site_budget_applies_to_all_clients(lim_runtime, lim_http, token):
    _set(lim_runtime, site_rate_limit="10")
    assert "data" in graphql(lim_http, token, STATUS).json()
    other = fetch_token(lim_http, make_api_client(lim_runtime, name="other"))
    assert graphql(lim_http, other, STATUS).status_code == 429


def test_site_client_limit_caps_a_clients_own_limit(lim_runtime, lim_http, client, token):
    _client_limit(lim_runtime, client, 1000)
    _set(lim_runtime, client_rate_limit="10")
    assert graphql(lim_http, token, STATUS).status_code == 200
    assert graphql(lim_http, token, STATUS).status_code == 429


def test_two_clients_do_not_share_a_budget(lim_runtime, lim_http, client, token):
    _client_limit(lim_runtime, client, 10)
    other_client = make_api_client(lim_runtime, name="other")
    _client_limit(lim_runtime, other_client, 10)
    other = fetch_token(lim_http, other_client)
    assert graphql(lim_http, token, STATUS).status_code == 200
    assert graphql(lim_http, token, STATUS).status_code == 429
    assert graphql(lim_http, other, STATUS).status_code == 200


def test_a_lower_limit_applies_without_restart(lim_runtime, lim_http, client, token):
    assert graphql(lim_http, token, STATUS).status_code == 200
    _client_limit(lim_runtime, client, 8)
    assert graphql(lim_http, token, STATUS).status_code == 429


def test_mutations_are_always_charged_and_answered(lim_runtime, lim_http, client, token):
    make_user(lim_runtime, "gone")
    _client_limit(lim_runtime, client, 8)
    mutation = 'mutation { core_user_delete_user(target_user: {username: "gone"}) { user_id } }'
    body = graphql(lim_http, token, {"query": mutation}).json()
    assert "data" in body  # 10 points over a budget of 8, but the change was made
    assert graphql(lim_http, token, STATUS).status_code == 429


def test_budget_report_on_request(lim_runtime, lim_http, client, token):
    _client_limit(lim_runtime, client, 100)
    plain = graphql(lim_http, token, STATUS)
    assert "ratelimit" not in plain.headers
    reported = graphql(lim_http, token, STATUS, headers={"X-Extapi-RateLimit": "1"})
    assert reported.headers["ratelimit"].startswith('"client";r=86;t=')
    assert '"site";q=500000;w=60' in reported.headers["ratelimit-policy"]


def test_an_unreachable_store_claims_no_remaining_budget(database_url):
    # given a Redis store that cannot be reached (the server fails open)
    config = Config(
        database_url=database_url,
        secret_key="test",
        rate_limit_backend="redis",
        redis_url="redis://127.0.0.1:1/0",
    )
    runtime = open_runtime(config)
    try:
        with TestClient(ExtapiApp(runtime)) as http:
            token = fetch_token(http, make_api_client(runtime))
            # when a client asks for its budget
            reported = graphql(http, token, STATUS, headers={"X-Extapi-RateLimit": "1"})
            health = http.get("/healthz").json()
        # then the request is served and the policy stated, but no remaining figure invented
        assert reported.status_code == 200
        assert '"client";q=250000;w=60' in reported.headers["ratelimit-policy"]
        assert "ratelimit" not in reported.headers
        # and the health check says budgets are not being enforced
        assert health["rate_limit_enforced"] is False
        assert health["rate_limit_store_failures"] >= 1
    finally:
        runtime.close()


# --- abuse ------------------------------------------------------------------------------------
def _error(lim_http, token, query: str) -> str:
    return str(graphql(lim_http, token, {"query": query}).json()["errors"][0]["message"])


def test_hostile_documents_are_rejected_before_execution(lim_runtime, lim_http, token):
    _set(lim_runtime, perfdebug="1")
    aliases = "{ " + " ".join(f"a{i}: totara_webapi_status {{ status }}" for i in range(51)) + " }"
    assert _error(lim_http, token, aliases) == "Too many aliases: 51 exceeds the limit of 50."
    repeated = "{ totara_webapi_status { " + "status " * 11 + "} }"
    assert _error(lim_http, token, repeated) == (
        'Field "status" is repeated 11 times; the limit is 10.'
    )
    directives = (
        "{ totara_webapi_status @skip(if: false)" + " @include(if: true)" * 5 + " { status } }"
    )
    assert _error(lim_http, token, directives) == (
        "Too many directives on one node: 6 exceeds the limit of 5."
    )
    fragments = "{ totara_webapi_status { ...f0 } } " + " ".join(
        f"fragment f{i} on totara_webapi_status {{ status }}" for i in range(51)
    )
    assert _error(lim_http, token, fragments) == "Too many fragments: 51 exceeds the limit of 50."
    cycle = (
        "{ totara_webapi_status { ...a } } fragment a on totara_webapi_status { ...b } "
        "fragment b on totara_webapi_status { ...a }"
    )
    assert "within itself" in _error(lim_http, token, cycle)
    # none of these cost a point: nothing was executed
    assert graphql(lim_http, token, STATUS).json()["extensions"]["complexity_data"] == {
        "query_complexity": 7
    }


def test_hostile_batch_is_refused_whole(lim_http, token):
    body = graphql(lim_http, token, [STATUS] * 51).json()
    assert body["errors"][0]["debugMessage"].startswith(
        "Invalid request, a batch may hold at most 50 operations"
    )


def test_execution_time_budget(lim_runtime, token, lim_http):
    lim_runtime.config = Config(**{**lim_runtime.config.__dict__, "max_execution_seconds": 0.0})
    app = ExtapiApp(lim_runtime)
    with TestClient(app) as http:
        body = graphql(http, token, STATUS).json()
    assert body["errors"][0]["message"] == "Execution time budget of 0 seconds exceeded."
    assert body["errors"][0]["extensions"] == {"category": "execution_time"}
