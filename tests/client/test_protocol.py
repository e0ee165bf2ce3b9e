"""The client's pure decisions: when to wait, what counts as a mutation, how errors classify."""

from __future__ import annotations

import random

import pytest

from extapi.client import InvalidTokenError, ResolverError, TokenExpiredError
from extapi.client.errors import classify_error
from extapi.client.protocol import Settings, is_mutation, rate_limit_wait
from extapi.client.tokens import Token, renewal_margin

SETTINGS = Settings("http://x", "id", "secret", max_retries=3, max_wait=10)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{ totara_webapi_status { status } }", False),
        ("query q { a }", False),
        ("mutation m { a }", True),
        ('query q { a(x: "mutation { b }") }', False),
        ("# mutation\nquery q { a }", False),
        ("query q { a } mutation m { b }", True),
    ],
)
def test_mutations_are_recognised(document, expected):
    assert is_mutation(document) is expected


def test_waits_follow_retry_after_with_a_cap_and_jitter():
    rng = random.Random(1)
    assert 3 <= rate_limit_wait(SETTINGS, 3, 1, rng) <= 3.3
    assert rate_limit_wait(SETTINGS, 11, 1, rng) is None  # longer than max_wait
    assert rate_limit_wait(SETTINGS, 3, 4, rng) is None  # retries used up
    backoff = [rate_limit_wait(SETTINGS, None, n, rng) for n in (1, 2, 3)]
    assert [int(w) for w in backoff] == [1, 2, 4]


def test_short_lifetimes_renew_at_80_percent():
    assert renewal_margin(5, 30) == 1
    assert renewal_margin(3600, 30) == 30
    assert Token("t", 100.0, 5).renew_at(30) == 104.0


def test_the_same_refusal_is_expired_or_invalid_by_the_clients_clock():
    refusal = {
        "message": "Internal server error",
        "debugMessage": "Missing, expired or invalid access token. Ensure ...",
        "extensions": {"category": "internal"},
    }
    assert isinstance(classify_error(refusal, token_expired=True), TokenExpiredError)
    invalid = classify_error(refusal, token_expired=False)
    assert type(invalid) is InvalidTokenError


def test_a_masked_error_without_a_reason_or_challenge_is_a_resolver_error():
    masked = {"message": "Internal server error", "extensions": {"category": "internal"}}
    assert type(classify_error(masked)) is ResolverError
