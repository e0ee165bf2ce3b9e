"""Prometheus metrics at /metrics: who may read them, that the exposition parses, and that
the counters move with the API's traffic."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.config import Config
from extapi.ops.scrapers import scraper_allowed
from extapi.runtime import Runtime, open_runtime
from extapi.settings.site import set_setting
from tests.factories import TOKEN_PATH, fetch_token, graphql, make_api_client
from tests.ops.conftest import LOCAL_PEER, LOOPBACK, parse_metrics, sample

STATUS = {"query": "{ totara_webapi_status { status timestamp } }"}
FAMILIES = {
    "extapi_requests",
    "extapi_request_duration_seconds",
    "extapi_complexity_points",
    "extapi_rate_limited",
    "extapi_token_grants",
    "extapi_rate_limit_store_errors",
    "extapi_document_cache_entries",
    "extapi_document_cache_hits",
    "extapi_document_cache_misses",
}


def _requests(samples, operation: str, outcome: str = "success", endpoint: str = "graphql"):
    return sample(
        samples, "extapi_requests_total", endpoint=endpoint, operation=operation, outcome=outcome
    )


def _client_limit(runtime: Runtime, client, limit: int) -> None:
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(rate_limit=limit)
        )


# --- access -----------------------------------------------------------------------------------
def test_metrics_are_absent_by_default(http):
    # given the default configuration (EXTAPI_METRICS=off)
    # when anyone asks for /metrics
    response = http.get("/metrics")
    absent = http.get("/no-such-page")
    # then it is answered as an address that does not exist
    assert response.status_code == 404
    assert response.headers["content-type"] == absent.headers["content-type"]


def test_an_allowed_scraper_gets_the_text_format(ops_http):
    response = ops_http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    from prometheus_client.parser import text_string_to_metric_families

    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert names >= FAMILIES


@pytest.mark.parametrize("peer", [("192.0.2.7", 4000), ("testclient", 50000), ("::2", 1)])
def test_other_addresses_are_refused(ops_runtime, peer):
    with TestClient(ExtapiApp(ops_runtime), client=peer) as other:
        # when a peer outside the allowed networks asks, even claiming to be local
        response = other.get(
            "/metrics", headers={"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1"}
        )
    # then it is refused and sees no figures
    assert response.status_code == 403
    assert "extapi_" not in response.text


def test_only_get_is_answered(ops_http):
    assert ops_http.post("/metrics", content=b"x").status_code == 405


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # an IPv4 client of a dual-stack listener
        ("10.0.0.1", False),
        ("::2", False),
        ("fe80::1%eth0", False),
        ("", False),
        ("not-an-address", False),
        ("127.0.0.1\n", False),
    ],
)
def test_the_peer_address_is_matched_against_the_networks(peer, allowed):
    assert scraper_allowed({"client": (peer, 1)}, LOOPBACK) is allowed


def test_a_request_without_a_peer_is_refused():
    assert scraper_allowed({}, LOOPBACK) is False
    assert scraper_allowed({"client": None}, LOOPBACK) is False


def test_ipv6_networks_can_be_allowed():
    networks = (ipaddress.ip_network("2001:db8::/32"),)
    assert scraper_allowed({"client": ("2001:db8::42", 1)}, networks) is True
    assert scraper_allowed({"client": ("2001:db9::42", 1)}, networks) is False
    assert scraper_allowed({"client": ("192.0.2.1", 1)}, networks) is False


# --- counters ---------------------------------------------------------------------------------
def test_a_status_query_moves_requests_latency_points_and_the_document_cache(
    ops_runtime, ops_http, scrape
):
    # given a client with a token, and the figures before
    token = fetch_token(ops_http, make_api_client(ops_runtime))
    before = scrape()
    # when it runs the status query twice
    assert graphql(ops_http, token, STATUS).status_code == 200
    assert graphql(ops_http, token, STATUS).status_code == 200
    after = scrape()
    # then both requests are counted under the root field, with their latency and cost
    assert _requests(after, "totara_webapi_status") - _requests(before, "totara_webapi_status") == 2
    count = "extapi_request_duration_seconds_count"
    assert sample(after, count, endpoint="graphql") - sample(before, count, endpoint="graphql") == 2
    points = "extapi_complexity_points_total"
    assert sample(after, points) - sample(before, points) == 14
    # and the document was checked once and then found in the cache
    misses, hits = "extapi_document_cache_misses_total", "extapi_document_cache_hits_total"
    assert sample(after, misses) - sample(before, misses) == 1
    assert sample(after, hits) - sample(before, hits) == 1
    assert sample(after, "extapi_document_cache_entries") == 1


def test_token_grants_and_failures_are_counted_by_outcome(ops_runtime, ops_http, scrape):
    client = make_api_client(ops_runtime)
    before = scrape()
    # when one grant succeeds and three fail in different ways
    fetch_token(ops_http, client)
    wrong = {"grant_type": "client_credentials", "client_id": client.client_id}
    assert ops_http.post(TOKEN_PATH, data={**wrong, "client_secret": "nope"}).status_code == 401
    assert ops_http.post(TOKEN_PATH, data={"grant_type": "password"}).status_code == 400
    assert ops_http.get(TOKEN_PATH).status_code == 405
    after = scrape()

    # then each outcome has its own series
    def moved(outcome: str) -> float:
        name = "extapi_token_grants_total"
        return sample(after, name, outcome=outcome) - sample(before, name, outcome=outcome)

    assert moved("granted") == 1
    assert moved("invalid_client") == 1
    assert moved("unsupported_grant_type") == 1
    assert moved("invalid_request") == 1
    token_requests = sum(
        value - before.get(key, 0.0)
        for key, value in after.items()
        if key[0] == "extapi_requests_total" and ("endpoint", "token") in key[1]
    )
    assert token_requests == 4


def test_a_429_is_counted_by_the_budget_that_refused_it(ops_runtime, ops_http, scrape):
    # given a client allowed 10 points a minute (the status query costs 7)
    client = make_api_client(ops_runtime)
    _client_limit(ops_runtime, client, 10)
    token = fetch_token(ops_http, client)
    before = scrape()
    # when its second query does not fit
    assert graphql(ops_http, token, STATUS).status_code == 200
    assert graphql(ops_http, token, STATUS).status_code == 429
    after = scrape()
    # then the refusal is counted against the client budget, as a rate-limited request
    limited = "extapi_rate_limited_total"
    assert sample(after, limited, scope="client") - sample(before, limited, scope="client") == 1
    assert sample(after, limited, scope="site") == sample(before, limited, scope="site")
    rate_limited = _requests(after, "totara_webapi_status", "rate_limited")
    assert rate_limited - _requests(before, "totara_webapi_status", "rate_limited") == 1
    # and the refused query's points were not charged
    points = "extapi_complexity_points_total"
    assert sample(after, points) - sample(before, points) == 7


def test_the_site_budget_is_its_own_scope(ops_runtime, ops_http, scrape):
    with ops_runtime.engine.begin() as conn:
        set_setting(conn, "site_rate_limit", "5")
    token = fetch_token(ops_http, make_api_client(ops_runtime))
    before = scrape()
    assert graphql(ops_http, token, STATUS).status_code == 429
    after = scrape()
    limited = "extapi_rate_limited_total"
    assert sample(after, limited, scope="site") - sample(before, limited, scope="site") == 1


@pytest.fixture
def unreachable_redis_http(database_url) -> Iterator[TestClient]:
    config = Config(
        database_url=database_url,
        secret_key="test-secret-key",
        metrics=LOOPBACK,
        rate_limit_backend="redis",
        redis_url="redis://127.0.0.1:1/0",
        redis_prefix=f"extapi:test:{uuid.uuid4().hex}:",
    )
    runtime = open_runtime(config)
    try:
        with TestClient(ExtapiApp(runtime), client=LOCAL_PEER) as client:
            yield client
    finally:
        runtime.close()


def test_rate_limit_store_errors_are_counted(unreachable_redis_http):
    # given a shared rate-limit store that cannot be reached
    http = unreachable_redis_http
    token = fetch_token(http, make_api_client(http.app.runtime))
    # when a query is served anyway (the limiter fails open)
    assert graphql(http, token, STATUS).status_code == 200
    # then the store's failure is counted
    samples = parse_metrics(http.get("/metrics").text)
    assert sample(samples, "extapi_rate_limit_store_errors_total") >= 1


def test_unauthenticated_and_invalid_requests_have_bounded_labels(ops_runtime, ops_http, scrape):
    token = fetch_token(ops_http, make_api_client(ops_runtime))
    before = scrape()
    # when requests name operations freely, fail validation, or carry no token
    for name in ("Evil1", "Evil2", "x" * 200):
        body = {"query": f"query {name} {{ totara_webapi_status {{ status }} }}"}
        assert graphql(ops_http, token, {**body, "operationName": name}).status_code == 200
    for field in ("nosuch_one", "nosuch_two"):
        assert "errors" in graphql(ops_http, token, {"query": f"{{ {field} }}"}).json()
    assert "errors" in graphql(ops_http, None, STATUS).json()
    assert "errors" in graphql(ops_http, token, {"query": "{ unclosed"}).json()
    assert graphql(ops_http, token, [STATUS, STATUS]).status_code == 200
    assert graphql(ops_http, token, [STATUS, {"query": "{ __typename }"}]).status_code == 200
    after = scrape()
    # then the operation label is a root field or one of a few fixed words, never a client's name
    assert _requests(after, "totara_webapi_status") - _requests(before, "totara_webapi_status") == 4
    assert _requests(after, "invalid", "error") - _requests(before, "invalid", "error") == 3
    assert _requests(after, "none", "error") - _requests(before, "none", "error") == 1
    assert _requests(after, "multiple") - _requests(before, "multiple") == 1
    operations = {
        dict(labels)["operation"]
        for (name, labels), _ in after.items()
        if name == "extapi_requests_total"
    }
    assert operations <= {"totara_webapi_status", "multiple", "invalid", "none"}


def test_root_fields_behind_fragments_and_aliases_are_found(ops_runtime, ops_http, scrape):
    token = fetch_token(ops_http, make_api_client(ops_runtime))
    before = scrape()
    query = (
        "query Q { ...F } fragment F on Query { s: totara_webapi_status { status } "
        "... on Query { totara_webapi_status { timestamp } } }"
    )
    assert "data" in graphql(ops_http, token, {"query": query}).json()
    after = scrape()
    assert _requests(after, "totara_webapi_status") - _requests(before, "totara_webapi_status") == 1


def test_scrapes_and_pages_are_counted_under_their_own_endpoints(ops_http, scrape):
    before = scrape()
    ops_http.get("/healthz")
    ops_http.get("/login")
    after = scrape()
    assert (
        _requests(after, "none", endpoint="health") - _requests(before, "none", endpoint="health")
        == 1
    )
    assert (
        _requests(after, "none", endpoint="pages") - _requests(before, "none", endpoint="pages")
        == 1
    )
    assert _requests(after, "none", endpoint="metrics") >= 1
