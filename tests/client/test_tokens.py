"""Tokens: obtained once, renewed before expiry (also for a 5 s lifetime), and renewed once
when the server refuses one."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from sqlalchemy import update

from extapi.auth.revocation import revoke_token
from extapi.client import (
    AsyncClient,
    Client,
    InvalidClientError,
    InvalidTokenError,
    TokenExpiredError,
)
from extapi.db import revision
from extapi.db.tables import access_tokens
from tests.client.conftest import FakeClock, set_token_lifetime
from tests.support.aio import run_async

STATUS = "{ totara_webapi_status { status } }"


def _server_accepts(live_server, token: str) -> bool:
    response = httpx.post(
        live_server.graphql_url,
        json={"query": STATUS},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return "data" in response.json()


def _expire_on_server(runtime, api_client) -> None:
    """Make the server treat the client's tokens as expired now (as time passing would)."""
    with runtime.engine.begin() as conn:
        conn.execute(
            update(access_tokens)
            .where(access_tokens.c.client_id == api_client.id)
            .values(expires=int(time.time()) - 1)
        )
        revision.bump(conn)


@pytest.mark.parametrize("auth_method", ["basic", "post"])
def test_one_token_serves_many_requests(live_server, api_client, auth_method):
    with Client(
        live_server.url, api_client.client_id, api_client.secret, auth_method=auth_method
    ) as client:
        # when three requests are made
        answers = [client.status()["status"] for _ in range(3)]
    # then all succeed on one token
    assert answers == ["ok", "ok", "ok"]
    assert client.tokens_obtained == 1


def test_a_5_second_token_is_renewed_before_it_expires(runtime, live_server, api_client):
    # given tokens that live 5 s, and a client whose clock the test moves
    set_token_lifetime(runtime, api_client, 5)
    clock = FakeClock()
    with Client(live_server.url, api_client.client_id, api_client.secret, clock=clock) as client:
        client.status()
        first = client.token()
        assert first.lifetime == 5
        # when 3.9 s have passed, the token is still used
        clock.advance(3.9)
        client.status()
        assert client.token().value == first.value
        # and when 4.1 s have passed (renewal at 80 % of a short lifetime)
        clock.advance(0.2)
        client.status()
    # then a new token was obtained before sending, and the server accepted it
    assert client.tokens_obtained == 2
    assert client.token().value != first.value
    assert _server_accepts(live_server, client.token().value)


def test_renewal_across_a_real_5_second_expiry(runtime, live_server, api_client):
    # given tokens that live 5 s, a renewing client and one that never renews
    set_token_lifetime(runtime, api_client, 5)
    args = (live_server.url, api_client.client_id, api_client.secret)
    with Client(*args) as renewing, Client(*args, auto_renew=False) as fixed:
        renewing.status()
        fixed.status()
        first = renewing.token().value
        # when requests keep coming until the first token, and the other client's (issued
        # a moment later, so perhaps in the next second), have expired on the server
        deadline = time.monotonic() + 30
        answers = []
        pause = threading.Event()
        while _server_accepts(live_server, first) or _server_accepts(
            live_server, fixed.token().value
        ):
            assert time.monotonic() < deadline, "the 5 s token never expired"
            answers.append(renewing.status()["status"])
            pause.wait(0.25)
        answers.append(renewing.status()["status"])
        # then every request succeeded, on renewed tokens
        assert set(answers) == {"ok"}
        assert renewing.tokens_obtained >= 2
        # and the client that may not renew is told its token expired
        with pytest.raises(TokenExpiredError) as raised:
            fixed.status()
    assert "expired" in raised.value.reason


def test_a_refused_token_is_renewed_once_and_the_request_retried(runtime, live_server, client):
    # given a working client whose token is then revoked on the server
    client.status()
    revoked = client.token().value
    with runtime.engine.begin() as conn:
        assert revoke_token(conn, runtime.hasher, client_pk(runtime, client), revoked)
    # when it makes a request
    assert client.status()["status"] == "ok"
    # then it renewed once and retried
    assert client.tokens_obtained == 2
    assert client.token().value != revoked


def client_pk(runtime, client) -> int:
    from sqlalchemy import select

    from extapi.db.tables import api_clients

    with runtime.engine.connect() as conn:
        found = conn.execute(
            select(api_clients.c.id).where(api_clients.c.client_id == client.settings.client_id)
        ).scalar_one()
    return int(found)


def test_expired_and_revoked_tokens_raise_different_classes(runtime, live_server, api_client):
    # given two clients that do not renew, one of which knows its token's lifetime is over
    clock = FakeClock()
    args = (live_server.url, api_client.client_id, api_client.secret)
    with Client(*args, auto_renew=False, clock=clock) as late, Client(*args, auto_renew=False) as c:
        late.status()
        c.status()
        # when the server expires both tokens (as an hour passing would) and the first client's
        # clock has passed the lifetime it was told
        _expire_on_server(runtime, api_client)
        clock.advance(late.token().lifetime)
        # then the one that knows is told "expired", the other "invalid"
        with pytest.raises(TokenExpiredError) as expired:
            late.status()
        with pytest.raises(InvalidTokenError) as invalid:
            c.status()
    assert not isinstance(invalid.value, TokenExpiredError)
    assert expired.value.category == invalid.value.category == "internal"
    assert expired.value.debug_message.startswith("Missing, expired or invalid access token")


def test_wrong_secret_is_an_invalid_client(live_server, api_client):
    client = Client(live_server.url, api_client.client_id, "wrong" * 6)
    with client, pytest.raises(InvalidClientError) as raised:
        client.status()
    assert raised.value.category == "invalid_client"
    assert raised.value.status == 401


def test_one_renewal_for_many_threads(runtime, live_server, api_client):
    # given a client shared by eight threads
    with Client(live_server.url, api_client.client_id, api_client.secret) as client:
        results: list[str] = []
        lock = threading.Lock()

        def work() -> None:
            answer = client.status()["status"]
            with lock:
                results.append(answer)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # then one token served them all
    assert results == ["ok"] * 8
    assert client.tokens_obtained == 1


def test_async_client_renews_a_5_second_token_once_for_many_tasks(runtime, live_server, api_client):
    set_token_lifetime(runtime, api_client, 5)
    clock = FakeClock()

    async def scenario() -> tuple[list[str], int]:
        async with AsyncClient(
            live_server.url, api_client.client_id, api_client.secret, clock=clock
        ) as client:
            await client.status()
            clock.advance(4.1)
            answers = await asyncio.gather(*(client.status() for _ in range(8)))
            return [a["status"] for a in answers], client.tokens_obtained

    answers, obtained = run_async(scenario())
    assert answers == ["ok"] * 8
    assert obtained == 2
