"""Each exception class, raised by a real server: told apart by class, never by text."""

from __future__ import annotations

import pytest

from extapi.client import (
    ApiDisabledError,
    AsyncClient,
    AuthenticationError,
    Client,
    ComplexityError,
    InvalidClientError,
    InvalidTokenError,
    RateLimitedError,
    ResolverError,
    TransportError,
    UnknownFieldError,
    ValidationError,
)
from extapi.people import users as user_service
from extapi.settings.site import set_setting
from tests.client.conftest import set_rate_limit
from tests.support.aio import run_async
from tests.support.server import free_port

NEW_USER = {
    "username": "jdoe",
    "email": "jdoe@example.com",
    "firstname": "Jane",
    "lastname": "Doe",
    "password": "Secret-Passw0rd!",
}


def _set(runtime, name: str, value: str) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, name, value)


def test_an_operation_failure_is_a_resolver_error(client):
    # given a user
    client.create_user(**NEW_USER)
    # when another is created with the same username
    with pytest.raises(ResolverError) as raised:
        client.create_user(**{**NEW_USER, "email": "other@example.com"})
    # then the class says what happened; the masked message and real reason are kept
    error = raised.value
    assert error.message == "Internal server error"
    assert error.category == "internal"
    assert error.debug_message.startswith("Username already exists")
    assert error.path == ["core_user_create_user"]
    assert not isinstance(error, AuthenticationError)


def test_an_unknown_field_is_a_validation_error(client):
    with pytest.raises(ValidationError) as raised:
        client.execute("{ core_user_users { items { nosuchfield } } }")
    assert raised.value.category == "graphql"
    assert "nosuchfield" in raised.value.message


def test_a_typo_in_helper_fields_fails_before_any_request(live_server, api_client):
    with Client(live_server.url, api_client.client_id, api_client.secret) as client:
        with pytest.raises(UnknownFieldError, match="usrname"):
            client.users(fields=["id", "usrname"])
        assert client.tokens_obtained == 0


def test_too_complex_a_query_is_a_complexity_error(runtime, client):
    # given a site whose maximum complexity is below what the status query costs (5 + 2)
    _set(runtime, "max_query_complexity", "6")
    with pytest.raises(ComplexityError) as raised:
        client.status()
    assert raised.value.category == "query_complexity"


def test_a_disabled_api_is_an_api_disabled_error(runtime, client):
    # given a client holding a token, when the API is switched off
    client.status()
    _set(runtime, "api_enabled", "0")
    # then the GraphQL endpoint's answer is an ApiDisabledError
    with pytest.raises(ApiDisabledError) as raised:
        client.status()
    assert raised.value.status == 400


def test_a_disabled_api_refuses_tokens_with_api_disabled_error(runtime, live_server, api_client):
    _set(runtime, "api_enabled", "0")
    client = Client(live_server.url, api_client.client_id, api_client.secret)
    with client, pytest.raises(ApiDisabledError) as raised:
        client.status()
    assert raised.value.category == "access_denied"


def test_an_invalid_service_account_is_an_authentication_error(runtime, client, api_client):
    # given a working client whose service account is then suspended
    client.status()
    with runtime.engine.begin() as conn:
        user_service.set_suspended(conn, api_client.user_id, True)
    # then requests raise AuthenticationError, not a token error (renewing cannot help)
    with pytest.raises(AuthenticationError) as raised:
        client.status()
    assert type(raised.value) is AuthenticationError
    assert raised.value.debug_message == "API user is invalid."
    assert client.tokens_obtained == 1


@pytest.mark.parametrize("level", ["none", "normal"])
def test_a_disabled_client_is_told_apart_at_every_error_level(runtime, client, api_client, level):
    # given a client with a token, at a site level that may hide every reason
    client.status()
    _set(runtime, "response_debug", level)
    with runtime.engine.begin() as conn:
        from extapi.auth import clients

        clients.set_client_status(conn, api_client.client_id, False)
    # when it makes a request, the token is refused, and renewing is refused too
    with pytest.raises(InvalidClientError):
        client.status()


@pytest.mark.parametrize("level", ["none", "normal"])
def test_a_revoked_token_is_invalid_at_every_error_level(runtime, live_server, api_client, level):
    # given a client that does not renew, at a site level that may hide every reason
    _set(runtime, "response_debug", level)
    args = (live_server.url, api_client.client_id, api_client.secret)
    with Client(*args, auto_renew=False) as client:
        client.status()
        with runtime.engine.begin() as conn:
            from extapi.auth.revocation import revoke_token

            revoke_token(conn, runtime.hasher, api_client.id, client.token().value)
        # then the refusal is an InvalidTokenError, from the challenge header alone at None
        with pytest.raises(InvalidTokenError) as raised:
            client.status()
    expected = None if level == "none" else raised.value.debug_message
    assert raised.value.debug_message == expected


def test_a_spent_budget_is_a_rate_limited_error_with_retry_after(runtime, live_server, api_client):
    # given a client allowed 10 points a minute; the status query costs 7
    set_rate_limit(runtime, api_client, 10)
    args = (live_server.url, api_client.client_id, api_client.secret)
    with Client(*args, max_wait=5) as client:
        client.status()
        # when the next request would overrun it, and the server asks for a longer wait
        # than the client accepts
        with pytest.raises(RateLimitedError) as raised:
            client.status()
    # then it gives up at once, saying how long the server asked it to wait
    assert raised.value.status == 429
    assert raised.value.retry_after is not None and raised.value.retry_after > 5


def test_no_server_is_a_transport_error():
    client = Client(f"http://127.0.0.1:{free_port()}", "a" * 16, "b" * 24, max_retries=0)
    with client, pytest.raises(TransportError):
        client.status()


def test_async_client_raises_the_same_classes(runtime, client, live_server, api_client):
    client.create_user(**NEW_USER)

    async def scenario() -> list[type[Exception]]:
        raised: list[type[Exception]] = []
        async with AsyncClient(live_server.url, api_client.client_id, api_client.secret) as c:
            for call in (
                c.create_user(**NEW_USER),
                c.execute("{ core_user_users { items { nosuchfield } } }"),
            ):
                try:
                    await call
                except Exception as exc:  # noqa: BLE001
                    raised.append(type(exc))
        async with AsyncClient(live_server.url, api_client.client_id, "x" * 24) as bad:
            try:
                await bad.status()
            except Exception as exc:  # noqa: BLE001
                raised.append(type(exc))
        return raised

    assert run_async(scenario()) == [ResolverError, ValidationError, InvalidClientError]
