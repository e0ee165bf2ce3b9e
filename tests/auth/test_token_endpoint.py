"""The token endpoint against RFC 6749 sections 4.4, 5.1 and 5.2, with Totara's body fields."""

from __future__ import annotations

import base64
import re
import time

import pytest
from sqlalchemy import func, select

from extapi.auth import clients
from extapi.db.tables import access_tokens
from extapi.settings.site import set_setting
from tests.factories import TOKEN_PATH, fetch_token, graphql, make_api_client

INVALID_REQUEST = (
    "The request is missing a required parameter, includes an invalid parameter value, "
    "includes a parameter more than once, or is otherwise malformed."
)
STATUS = {"query": "{ totara_webapi_status { status } }"}


def _form(client, **extra):
    return {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.secret,
        **extra,
    }


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _token_count(runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(access_tokens)).scalar_one())


def _assert_no_store(response) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"].startswith("application/json")


def test_client_credentials_grant_issues_a_bearer_token(runtime, http):
    # given an enabled client
    client = make_api_client(runtime)
    # when it asks for a token with form fields
    response = http.post(TOKEN_PATH, data=_form(client))
    # then it gets Totara's body, keys in Totara's order, with the RFC 5.1 headers
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["token_type", "expires_in", "access_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86400
    assert len(body["access_token"]) >= 43  # 256 random bits
    assert "refresh_token" not in body  # RFC 6749 4.4.3
    _assert_no_store(response)


def test_http_basic_authentication_is_accepted(runtime, http):
    # given a client
    client = make_api_client(runtime)
    # when it authenticates with HTTP Basic instead of form fields
    response = http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic(client.client_id, client.secret)},
    )
    # then a token is issued
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_every_request_issues_a_new_token_and_old_ones_stay_valid(runtime, http):
    # given a client that already holds a token
    client = make_api_client(runtime)
    first = fetch_token(http, client)
    # when it asks again
    second = fetch_token(http, client)
    # then both tokens work
    assert first != second
    for token in (first, second):
        assert graphql(http, token, STATUS).json()["data"]["totara_webapi_status"]["status"] == "ok"


@pytest.mark.parametrize(
    ("client_setting", "site_setting", "expected"),
    [(120, 86400, 120), (0, 7200, 7200)],
)
def test_token_lifetime_prefers_client_then_site(
    runtime, http, client_setting, site_setting, expected
):
    # given a client expiry setting and a site default
    client = make_api_client(runtime)
    with runtime.engine.begin() as conn:
        set_setting(conn, "default_token_expiration", str(site_setting))
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(token_expiry=client_setting)
        )
    # when a token is issued
    body = http.post(TOKEN_PATH, data=_form(client)).json()
    # then the lifetime follows Totara's order
    assert body["expires_in"] == expected


def test_unknown_client_and_wrong_secret_get_the_same_answer(runtime, http):
    # given a client
    client = make_api_client(runtime)
    # when one request names an unknown client and another gives a wrong secret
    unknown = http.post(TOKEN_PATH, data=_form(client, client_id="nosuchclient0000"))
    wrong = http.post(TOKEN_PATH, data=_form(client, client_secret="wrong"))
    # then both get invalid_client, 401 with the challenge HTTP requires, and no token is written
    for response in (unknown, wrong):
        assert response.status_code == 401
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "Client authentication failed",
            "message": "Client authentication failed",
        }
        assert response.headers["www-authenticate"].startswith("Basic ")
        _assert_no_store(response)
    assert _token_count(runtime) == 0


def test_basic_authentication_failure_carries_www_authenticate(runtime, http):
    # given a client
    client = make_api_client(runtime)
    # when it uses HTTP Basic with a wrong secret
    response = http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic(client.client_id, "wrong")},
    )
    # then RFC 6749 5.2 asks for 401 with a matching challenge
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.json()["error"] == "invalid_client"


def test_missing_secret_is_invalid_client(runtime, http):
    client = make_api_client(runtime)
    form = _form(client)
    del form["client_secret"]
    response = http.post(TOKEN_PATH, data=form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("form", [{}, {"client_secret": "x" * 24}])
def test_no_client_authentication_is_invalid_client(runtime, http, form):
    # when neither HTTP Basic nor a client_id is sent (RFC 6749 5.2)
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials", **form})
    # then
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    }
    assert response.headers["www-authenticate"].startswith("Basic ")
    _assert_no_store(response)


def test_empty_parameters_count_as_omitted(runtime, http):
    # RFC 6749 3.2: a parameter sent without a value is treated as absent
    response = http.post(TOKEN_PATH, data={"grant_type": "client_credentials", "client_id": ""})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("grant_type", [None, ""])
def test_missing_grant_type_is_invalid_request(runtime, http, grant_type):
    # given a valid client that sends no grant type (or an empty one)
    client = make_api_client(runtime)
    form = _form(client)
    if grant_type is None:
        del form["grant_type"]
    else:
        form["grant_type"] = grant_type
    # when it asks for a token
    response = http.post(TOKEN_PATH, data=form)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": INVALID_REQUEST,
        "hint": "Check the `grant_type` parameter",
        "message": INVALID_REQUEST,
    }
    _assert_no_store(response)
    assert _token_count(runtime) == 0


@pytest.mark.parametrize(
    "grant_type", ["password", "authorization_code", "refresh_token", "CLIENT_CREDENTIALS"]
)
def test_other_grant_types_are_unsupported(runtime, http, grant_type):
    # given a valid client
    client = make_api_client(runtime)
    form = _form(client)
    form["grant_type"] = grant_type
    # when it asks with another grant
    response = http.post(TOKEN_PATH, data=form)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": (
            "The authorization grant type is not supported by the authorization server."
        ),
        "hint": "Check that all required parameters have been provided",
        "message": ("The authorization grant type is not supported by the authorization server."),
    }


def test_json_body_is_not_understood(runtime, http):
    # given a client that posts JSON instead of a form (Totara reads only form data)
    client = make_api_client(runtime)
    response = http.post(TOKEN_PATH, json=_form(client))
    # then the grant type is missing
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.json()["hint"] == "Check the `grant_type` parameter"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_other_methods_are_refused_with_allow_header(runtime, http, method):
    client = make_api_client(runtime)
    response = http.request(method, TOKEN_PATH, params=_form(client))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    _assert_no_store(response)
    if method != "HEAD":
        assert response.json()["error"] == "invalid_request"
    assert _token_count(runtime) == 0


def test_unknown_parameters_are_ignored(runtime, http):
    # RFC 6749 3.2: the server MUST ignore unrecognized request parameters
    client = make_api_client(runtime)
    response = http.post(TOKEN_PATH, data=_form(client, audience="x", resource="y"))
    assert response.status_code == 200


def test_repeated_empty_parameter_is_invalid_request(runtime, http):
    client = make_api_client(runtime)
    body = (
        f"grant_type=client_credentials&client_id=&client_id={client.client_id}"
        f"&client_secret={client.secret}"
    )
    response = http.post(
        TOKEN_PATH, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json()["hint"] == "Check the `client_id` parameter: it must be sent only once"


def test_repeated_parameter_is_invalid_request(runtime, http):
    client = make_api_client(runtime)
    body = (
        f"grant_type=client_credentials&client_id={client.client_id}"
        f"&client_secret={client.secret}&client_secret={client.secret}"
    )
    response = http.post(
        TOKEN_PATH, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert _token_count(runtime) == 0


def test_two_authentication_methods_at_once_are_refused(runtime, http):
    # RFC 6749 2.3: a client must not use more than one authentication method per request
    client = make_api_client(runtime)
    response = http.post(
        TOKEN_PATH,
        data=_form(client),
        headers={"Authorization": _basic(client.client_id, client.secret)},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("scope", ["read", "xapi:write admin"])
def test_unknown_scope_is_invalid_scope(runtime, http, scope):
    client = make_api_client(runtime)
    response = http.post(TOKEN_PATH, data=_form(client, scope=scope))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_scope"
    assert body["error_description"] == "The requested scope is invalid, unknown, or malformed"
    assert body["hint"].startswith("Check the `")


def test_known_scope_is_accepted(runtime, http):
    client = make_api_client(runtime)
    response = http.post(TOKEN_PATH, data=_form(client, scope="xapi:write"))
    assert response.status_code == 200


def test_disabled_client_gets_invalid_client_and_its_tokens_stop_working(runtime, http):
    # given a client with a live token
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    # when the client is disabled
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, False)
    # then it gets no new token and its old token reads as revoked (Totara's rule A1)
    assert http.post(TOKEN_PATH, data=_form(client)).json()["error"] == "invalid_client"
    refused = graphql(http, token, STATUS).json()
    assert refused["errors"][0]["debugMessage"].startswith(
        "Missing, expired or invalid access token."
    )
    # and when it is enabled again, the same token works once more
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, True)
    assert "data" in graphql(http, token, STATUS).json()


def test_rotating_the_secret_revokes_tokens_and_old_secret(runtime, http):
    # given a client with a token
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    # when its secret is rotated
    with runtime.engine.begin() as conn:
        _, new_secret = clients.rotate_secret(conn, runtime.hasher, client.client_id)
    # then the old token and the old secret fail, the new secret works
    assert "errors" in graphql(http, token, STATUS).json()
    assert http.post(TOKEN_PATH, data=_form(client)).status_code == 401
    renewed = http.post(TOKEN_PATH, data=_form(client, client_secret=new_secret))
    assert renewed.status_code == 200


def test_deleting_a_client_revokes_its_tokens(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        clients.delete_client(conn, client.client_id)
    assert _token_count(runtime) == 0
    body = graphql(http, token, STATUS).json()
    assert body["errors"][0]["debugMessage"].startswith("Missing, expired or invalid access token")


def test_api_disabled_gives_access_denied(runtime, http):
    client = make_api_client(runtime)
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    response = http.post(TOKEN_PATH, data=_form(client))
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "error_description": "The resource owner or authorization server denied the request.",
        "hint": "'totara_api' feature is not enabled.",
        "message": "The resource owner or authorization server denied the request.",
    }


def test_oversized_body_is_refused_before_reading_it_all(runtime, http):
    response = http.post(
        TOKEN_PATH,
        content=b"grant_type=" + b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


def test_invalid_utf8_form_is_invalid_request(runtime, http):
    response = http.post(
        TOKEN_PATH,
        content=b"grant_type=client_credentials&client_id=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_malformed_basic_header_is_invalid_client(runtime, http):
    response = http.post(
        TOKEN_PATH,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic %%%not-base64"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_injected_header_text_is_never_reflected(runtime, http):
    # given a client id carrying CR/LF and a fake header
    response = http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": "abc\r\nSet-Cookie: pwned=1",
            "client_secret": "x",
        },
    )
    # then it is just an unknown client and no such header appears
    assert response.status_code == 401
    assert "set-cookie" not in response.headers


def test_expired_tokens_are_refused_and_swept(runtime, http):
    # given a client whose tokens last one second
    client = make_api_client(runtime)
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(token_expiry=1)
        )
    token = fetch_token(http, client)
    # when it expires
    time.sleep(2.1)
    # then it is refused, and the next token request sweeps it away
    body = graphql(http, token, STATUS).json()
    assert body["errors"][0]["debugMessage"].startswith("Missing, expired or invalid access token")
    fetch_token(http, client)
    assert _token_count(runtime) == 1


def test_only_hashes_of_secrets_and_tokens_are_stored(runtime, http):
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM api_clients"))
        dump += "\n".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM access_tokens"))
    assert client.secret not in dump
    assert token not in dump


def test_token_cache_never_outlives_a_change(runtime, http):
    # given a token that has been used (and so cached by the worker)
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    assert "data" in graphql(http, token, STATUS).json()
    # when the client is disabled in another connection, then re-enabled
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, False)
    # then the cached row is not used
    assert "errors" in graphql(http, token, STATUS).json()
    with runtime.engine.begin() as conn:
        clients.set_client_status(conn, client.client_id, True)
    assert "data" in graphql(http, token, STATUS).json()


# --- RFC 6749 MUSTs, probed one by one ---------------------------------------------------------
_ERROR_TEXT = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 5.2: error, description


def _error_answers(runtime, http) -> list:
    client = make_api_client(runtime)
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    return [
        http.get(TOKEN_PATH),
        http.post(TOKEN_PATH, data={}),
        http.post(TOKEN_PATH, data={"grant_type": "client_credentials"}),
        http.post(TOKEN_PATH, data=_form(client, grant_type="password")),
        http.post(TOKEN_PATH, data=_form(client, client_secret="wrong")),
        http.post(TOKEN_PATH, data=_form(client, scope="nope")),
        http.post(TOKEN_PATH, content="grant_type=a&grant_type=b", headers=form_type),
        http.post(
            TOKEN_PATH,
            data=_form(client),
            headers={"Authorization": _basic(client.client_id, client.secret)},
        ),
    ]


def test_rfc6749_every_error_is_json_never_cached_with_rfc_codes_and_text(runtime, http):
    codes = {"invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"}
    for response in _error_answers(runtime, http):
        _assert_no_store(response)
        body = response.json()
        assert body["error"] in codes
        assert _ERROR_TEXT.match(body["error"]) and _ERROR_TEXT.match(body["error_description"])
        expected = 401 if body["error"] == "invalid_client" else 400
        assert response.status_code == (405 if response.request.method == "GET" else expected)
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Basic ")


def test_rfc6749_credentials_in_the_uri_are_not_read(runtime, http):
    # section 2.3.1: client credentials must not be taken from the request URI
    client = make_api_client(runtime)
    response = http.post(
        TOKEN_PATH,
        params={"client_id": client.client_id, "client_secret": client.secret},
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
