"""RFC 7662 token introspection at ``POST /totara/oauth2/introspect.php``."""

from __future__ import annotations

import base64
import time

import pytest
from sqlalchemy import update

from extapi.auth import clients
from extapi.db.tables import access_tokens
from extapi.people.users import set_suspended
from extapi.settings.site import set_setting
from tests.factories import TOKEN_PATH, fetch_token, make_api_client

INTROSPECT = "/totara/oauth2/introspect.php"
REVOKE = "/totara/oauth2/revoke.php"
INACTIVE = {"active": False}


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _creds(client) -> dict[str, str]:
    return {"client_id": client.client_id, "client_secret": client.secret}


def _introspect(http, client, token: str, **extra: str):
    return http.post(INTROSPECT, data={"token": token, **_creds(client), **extra})


def test_own_active_token_is_described(runtime, http):
    # given a client with a fresh token
    client = make_api_client(runtime)
    before = int(time.time())
    token = fetch_token(http, client)
    # when it introspects the token
    response = _introspect(http, client, token)
    # then RFC 7662 2.2: active, with the members in the RFC's order, never cached
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["active", "client_id", "token_type", "exp", "iat", "sub", "iss"]
    assert body["active"] is True
    assert body["client_id"] == client.client_id
    assert body["token_type"] == "Bearer"
    assert before <= body["iat"] <= int(time.time())
    assert body["exp"] - body["iat"] == 86400
    # the client itself is the subject of a client-credentials token (RFC 9068 2.2)
    assert body["sub"] == client.client_id
    assert body["iss"] == "http://testserver"


def test_scope_is_given_when_the_token_has_one(runtime, http):
    client = make_api_client(runtime)
    granted = http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials", "scope": "xapi:write", **_creds(client)},
    ).json()["access_token"]
    body = _introspect(http, client, granted).json()
    assert list(body)[:2] == ["active", "scope"]
    assert body["scope"] == "xapi:write"


def test_http_basic_authentication_is_accepted(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    response = http.post(
        INTROSPECT,
        data={"token": token, "token_type_hint": "refresh_token"},
        headers={"Authorization": _basic(client.client_id, client.secret)},
    )
    assert response.status_code == 200
    assert response.json()["active"] is True


def test_another_clients_live_token_is_inactive(runtime, http):
    # given two clients, each with a live token
    owner, other = make_api_client(runtime), make_api_client(runtime)
    token = fetch_token(http, owner)
    # when the other client introspects the owner's token
    response = _introspect(http, other, token)
    # then it reads as inactive, with nothing else disclosed
    assert response.status_code == 200
    assert response.json() == INACTIVE
    assert _introspect(http, owner, token).json()["active"] is True


def test_unknown_token_is_inactive(runtime, http):
    client = make_api_client(runtime)
    assert _introspect(http, client, "no-such-token").json() == INACTIVE


def test_revoked_token_is_inactive(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    assert _introspect(http, client, token).json()["active"] is True
    http.post(REVOKE, data={"token": token, **_creds(client)})
    assert _introspect(http, client, token).json() == INACTIVE


def test_expired_token_is_inactive(runtime, http):
    # given a token whose expiry second has come (expired from that second on)
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        conn.execute(update(access_tokens).values(expires=int(time.time())))
    # then
    assert _introspect(http, client, token).json() == INACTIVE


def test_token_of_a_suspended_service_account_is_inactive(runtime, http):
    # given a token the GraphQL endpoint refuses because its service account is suspended
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        set_suspended(conn, client.user_id, True)
    # then introspection agrees with the GraphQL endpoint
    assert _introspect(http, client, token).json() == INACTIVE


def test_disabled_client_fails_client_authentication(runtime, http):
    # a disabled client cannot authenticate, here as at the token endpoint
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, False)
    response = _introspect(http, client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_client", "no_credentials", "basic"])
def test_failed_client_authentication_is_invalid_client(runtime, http, case):
    # RFC 7662 2.3: invalid client credentials get 401 as RFC 6749 5.2 describes
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    form: dict[str, str] = {"token": token}
    headers: dict[str, str] = {}
    if case == "wrong_secret":
        form.update(client_id=client.client_id, client_secret="wrong" * 5)
    elif case == "unknown_client":
        form.update(client_id="nosuchclient0000", client_secret=client.secret)
    elif case == "basic":
        headers["Authorization"] = _basic(client.client_id, "wrong" * 5)
    response = http.post(INTROSPECT, data=form, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.headers["cache-control"] == "no-store"


def test_two_authentication_methods_at_once_are_refused(runtime, http):
    client = make_api_client(runtime)
    response = http.post(
        INTROSPECT,
        data={"token": "x", **_creds(client)},
        headers={"Authorization": _basic(client.client_id, client.secret)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_missing_token_is_invalid_request(runtime, http):
    client = make_api_client(runtime)
    response = http.post(INTROSPECT, data=_creds(client))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["hint"] == "Check the `token` parameter"


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_other_methods_are_refused_with_allow_header(http, method):
    response = http.request(method, INTROSPECT)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_api_disabled_gives_access_denied(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    response = _introspect(http, client, token)
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
