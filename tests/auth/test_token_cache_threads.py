"""The worker's token cache and its revision reader, shared by the event loop and the worker
threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from extapi.auth.clients import set_client_status
from extapi.auth.secrets import new_access_token
from extapi.auth.tokens import TokenGate, authenticate, issue_token
from extapi.db import revision
from extapi.errors import AuthenticationError
from extapi.runtime import Runtime
from tests.factories import make_api_client

THREADS = 6


def _in_threads(work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in THREADS threads at once; the exceptions they raised."""
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # reported by the caller, from the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def _issue(runtime: Runtime, client_pk: int, count: int) -> list[str]:
    with runtime.engine.begin() as conn:
        return [
            issue_token(conn, runtime.hasher, client_pk, 3600).access_token for _ in range(count)
        ]


def test_threads_checking_tokens_at_once_each_get_their_own_row(runtime):
    # given many valid tokens and a cache smaller than their number
    client = make_api_client(runtime)
    tokens = _issue(runtime, client.id, 30)
    gate = TokenGate(runtime.reader, runtime.hasher, size=8)

    # when several threads check them all, over and over, at the same time
    def check(offset: int) -> None:
        for n in range(120):
            token = tokens[(offset + n) % len(tokens)]
            found = gate.check(token)
            assert found.row is not None and found.row["client_pk"] == client.id
        assert gate.check(new_access_token()).row is None

    failures = _in_threads(check)
    # then every check found the right row, and nothing failed on the shared cache
    assert failures == []
    assert sum(gate.knows(t) for t in tokens) <= 8


def test_a_token_cached_before_its_client_was_disabled_is_refused_in_every_thread(runtime):
    # given a token cached by a check
    client = make_api_client(runtime)
    [token] = _issue(runtime, client.id, 1)
    gate = runtime.tokens
    assert gate.check(token).cached is False
    assert gate.check(token).cached is True
    # when its client is disabled (the site revision moves)
    with runtime.engine.begin() as conn:
        set_client_status(conn, client.client_id, False)
    refusals: list[bool] = []

    def check(_i: int) -> None:
        found = gate.check(token)
        refusals.append(found.row is None or not found.row["status"])

    failures = _in_threads(check)
    # then no thread is served the cached row: each sees the client disabled
    assert failures == []
    assert refusals == [True] * THREADS


def test_threads_share_the_revision_reader(runtime):
    # given the site revision moved a few times
    for _ in range(3):
        with runtime.engine.begin() as conn:
            revision.bump(conn)
    expected = runtime.reader.revision()
    seen: list[int] = []

    # when several threads read it through the one connection at once
    def read(_i: int) -> None:
        for _ in range(100):
            seen.append(runtime.reader.revision())

    failures = _in_threads(read)
    # then every read gave the revision, and the connection is still fine
    assert failures == []
    assert set(seen) == {expected}
    assert runtime.reader.revision() == expected


def test_a_cached_token_still_authenticates_after_concurrent_checks(runtime):
    # given a token checked by several threads at once
    client = make_api_client(runtime)
    [token] = _issue(runtime, client.id, 1)
    failures = _in_threads(lambda _i: runtime.tokens.check(token))
    # when it is checked again
    found = runtime.tokens.check(token)
    # then it comes from the cache and authenticates as its client
    assert failures == []
    assert found.cached is True
    assert authenticate(found, True, 0).client_pk == client.id


def test_a_cached_lookup_keeps_its_caller_but_still_checks_expiry(runtime):
    # given a token seen once, so later requests get the cached lookup and its caller
    client = make_api_client(runtime)
    (token,) = _issue(runtime, client.id, 1)
    gate = runtime.tokens
    gate.check(token)
    found = gate.check(token)
    assert found.cached is True
    expires = found.row["expires"]
    first = authenticate(found, True, expires - 10)
    # when it is used again before and at its expiry second
    again = authenticate(gate.check(token), True, expires - 1)
    # then the caller worked out once is reused, and the expiry is still checked every time
    assert again is first
    with pytest.raises(AuthenticationError):
        authenticate(gate.check(token), True, expires)
    # and without the header the cached caller does not help either
    with pytest.raises(AuthenticationError):
        authenticate(gate.check(token), False, expires - 1)
