"""RFC 7009 token revocation at ``POST /totara/oauth2/revoke.php``."""

from __future__ import annotations

import base64

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.db import revision
from extapi.runtime import open_runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, graphql, make_api_client

REVOKE = "/totara/oauth2/revoke.php"
STATUS = {"query": "{ totara_webapi_status { status } }"}
INVALID_TOKEN = "Missing, expired or invalid access token."


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _creds(client) -> dict[str, str]:
    return {"client_id": client.client_id, "client_secret": client.secret}


def _works(http, token: str) -> bool:
    body = graphql(http, token, STATUS).json()
    return "data" in body and body["data"]["totara_webapi_status"]["status"] == "ok"


def _assert_no_store(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")


def _revision(runtime) -> int:
    with runtime.engine.connect() as conn:
        return revision.current(conn)


def test_client_revokes_its_own_token_and_it_stops_working_at_once(runtime, http):
    # given a client whose token the worker has already accepted (and cached)
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    assert _works(http, token)
    # when the client revokes it with form credentials
    response = http.post(REVOKE, data={"token": token, **_creds(client)})
    # then RFC 7009 2.2: 200, never cached; and the very next API request is refused
    assert response.status_code == 200
    assert response.json() == {}
    _assert_no_store(response)
    refused = graphql(http, token, STATUS).json()
    assert refused["errors"][0]["debugMessage"].startswith(INVALID_TOKEN)


def test_http_basic_authentication_is_accepted(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    response = http.post(
        REVOKE,
        data={"token": token},
        headers={"Authorization": _basic(client.client_id, client.secret)},
    )
    assert response.status_code == 200
    assert not _works(http, token)


def test_revocation_reaches_another_worker_on_its_next_request(runtime, config, http):
    # given a second worker process (its own runtime and token cache) that has used the token
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    other_runtime = open_runtime(config)
    try:
        with TestClient(ExtapiApp(other_runtime)) as other:
            assert _works(other, token)
            # when the token is revoked through the first worker
            http.post(REVOKE, data={"token": token, **_creds(client)})
            # then the other worker refuses it on its next request
            assert not _works(other, token)
    finally:
        other_runtime.close()


def test_other_tokens_of_the_client_keep_working(runtime, http):
    client = make_api_client(runtime)
    revoked, kept = fetch_token(http, client), fetch_token(http, client)
    http.post(REVOKE, data={"token": revoked, **_creds(client)})
    assert not _works(http, revoked)
    assert _works(http, kept)


@pytest.mark.parametrize("token", ["no-such-token", "x" * 43])
def test_unknown_token_is_not_an_error(runtime, http, token):
    # RFC 7009 2.2: invalid tokens do not cause an error response
    client = make_api_client(runtime)
    before = _revision(runtime)
    response = http.post(REVOKE, data={"token": token, **_creds(client)})
    assert response.status_code == 200
    assert response.json() == {}
    # and nothing was revoked, so no worker's cache is flushed
    assert _revision(runtime) == before


def test_already_revoked_token_is_not_an_error(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    first = http.post(REVOKE, data={"token": token, **_creds(client)})
    second = http.post(REVOKE, data={"token": token, **_creds(client)})
    assert first.status_code == second.status_code == 200
    assert second.json() == {}


def test_another_clients_token_is_left_alone_and_the_answer_tells_nothing(runtime, http):
    # given two clients, each with a token
    owner, other = make_api_client(runtime), make_api_client(runtime)
    token = fetch_token(http, owner)
    # when the other client tries to revoke the owner's token
    response = http.post(REVOKE, data={"token": token, **_creds(other)})
    # then it gets the answer an unknown token gets, and the token still works
    assert response.status_code == 200
    assert response.json() == {}
    assert _works(http, token)


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "made_up"])
def test_token_type_hint_is_ignored(runtime, http, hint):
    # RFC 7009 2.1: a wrong hint must not stop the search; unknown hints are not refused
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    response = http.post(REVOKE, data={"token": token, "token_type_hint": hint, **_creds(client)})
    assert response.status_code == 200
    assert not _works(http, token)


def test_missing_token_is_invalid_request(runtime, http):
    client = make_api_client(runtime)
    response = http.post(REVOKE, data=_creds(client))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["hint"] == "Check the `token` parameter"
    _assert_no_store(response)


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_client", "no_credentials", "basic"])
def test_failed_client_authentication_is_invalid_client(runtime, http, case):
    # given a client with a live token
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
    # when the revocation request does not authenticate
    response = http.post(REVOKE, data=form, headers=headers)
    # then RFC 6749 5.2: 401 with a challenge, and the token is untouched
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")
    _assert_no_store(response)
    assert _works(http, token)


def test_two_authentication_methods_at_once_are_refused(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    response = http.post(
        REVOKE,
        data={"token": token, **_creds(client)},
        headers={"Authorization": _basic(client.client_id, client.secret)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert _works(http, token)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_refused_with_allow_header(http, method):
    response = http.request(method, REVOKE)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["hint"] == "The revocation endpoint accepts only POST requests"


def test_api_disabled_gives_access_denied(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    response = http.post(REVOKE, data={"token": token, **_creds(client)})
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert response.json()["hint"] == "'totara_api' feature is not enabled."
