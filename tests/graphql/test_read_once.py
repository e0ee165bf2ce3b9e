"""Small bodies sent again and again are read once per worker (extapi.graphql.endpoint), and
what the rate limiter builds per client is kept: neither may change an answer."""

from __future__ import annotations

from typing import cast

from extapi.app import GRAPHQL_PATH, ExtapiApp
from extapi.auth.tokens import ApiCaller
from extapi.graphql.endpoint import INLINE_MAX_BODY, PARSED_BODIES_MAX, GraphQLEndpoint
from extapi.limits.policy import RateLimiter
from extapi.limits.window import MemoryWindowStore
from tests.factories import fetch_token, graphql, make_api_client

STATUS = {"query": "{ totara_webapi_status { status } }"}


def _endpoint(app: ExtapiApp) -> GraphQLEndpoint:
    return cast(GraphQLEndpoint, app.fast[GRAPHQL_PATH])


def _kept_queries(app: ExtapiApp) -> list[str]:
    return [op.query for operations, _ in _endpoint(app)._parsed.values() for op in operations]


def test_the_same_body_is_read_once_and_answered_the_same(runtime, app, http):
    # given a client and a body without variables
    token = fetch_token(http, make_api_client(runtime))
    # when it is sent three times
    answers = [graphql(http, token, STATUS).json() for _ in range(3)]
    # then it was kept once, and every answer is the first one
    assert _kept_queries(app) == [STATUS["query"]]
    assert answers == [{"data": {"totara_webapi_status": {"status": "ok"}}}] * 3


def test_bodies_with_variables_or_errors_or_large_are_never_kept(runtime, app, http):
    # given a client
    token = fetch_token(http, make_api_client(runtime))
    with_variables = {**STATUS, "variables": {"x": 1}}
    refused = {"query": 5}
    large = {"query": STATUS["query"] + " " * INLINE_MAX_BODY}
    # when it sends a body with variables, one with a parameter error and a large one
    for body in (with_variables, refused, large):
        graphql(http, token, body)
    # then none of them is kept (a request may change its variables; errors are per request)
    assert _kept_queries(app) == []


def test_many_distinct_bodies_never_grow_the_table_past_its_bound(runtime, app, http):
    # given a client sending more distinct small bodies than the table holds
    token = fetch_token(http, make_api_client(runtime))
    for n in range(PARSED_BODIES_MAX + 20):
        # when each body differs only by an alias
        answer = graphql(http, token, {"query": f"{{ a{n}: totara_webapi_status {{ status }} }}"})
        assert answer.json()["data"] == {f"a{n}": {"status": "ok"}}
    # then the table stays within its bound
    assert len(_endpoint(app)._parsed) <= PARSED_BODIES_MAX


def _caller(client_pk: int, limit: int) -> ApiCaller:
    return ApiCaller(client_pk, f"c{client_pk}", None, 2, None, "UTC", None, limit)


def test_budget_pairs_follow_the_client_and_both_limits(runtime):
    # given a limiter and the site's settings
    limiter = RateLimiter(MemoryWindowStore())
    site = runtime.known_settings()
    # when the same client asks twice, then with a lower limit of its own, then another client
    first = limiter.budgets(site, _caller(7, 1_000))
    again = limiter.budgets(site, _caller(7, 1_000))
    lowered = limiter.budgets(site, _caller(7, 500))
    other = limiter.budgets(site, _caller(8, 1_000))
    # then the pair is built once per client and limits, and each names its own figures
    assert again is first
    assert [(b.key, b.limit) for b in first] == [
        ("site", site.site_rate_limit),
        ("client:7", min(1_000, site.client_rate_limit)),
    ]
    assert lowered[1].limit == min(500, site.client_rate_limit)
    assert other[1].key == "client:8"
