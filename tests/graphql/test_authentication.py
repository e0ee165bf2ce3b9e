"""Totara's per-request authentication checks, in its order and with its messages."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from extapi.auth import clients
from extapi.db.tables import api_clients, users
from extapi.people import users as user_service
from extapi.people.tenants import set_tenant_suspended
from extapi.settings.site import set_setting
from tests.factories import (
    TOKEN_PATH,
    fetch_token,
    graphql,
    make_api_client,
    make_tenant,
    masked_error,
)

STATUS = {"query": "{ totara_webapi_status { status } }"}
MISSING_HEADER = (
    "The request did not contain the required Authorization header. Ensure you set the header "
    "in your request and that it is not being stripped by your server or proxy configuration."
)
INVALID_TOKEN = (
    "Missing, expired or invalid access token. Ensure the Authorization header is set to a "
    "valid Bearer token."
)


def test_missing_authorization_header(http):
    response = graphql(http, None, STATUS)
    assert response.status_code == 200
    assert response.json() == masked_error(MISSING_HEADER)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer nosuchtoken", "bearer sometoken", "Basic abc", "Bearer", "Token x", ""],
)
def test_bad_tokens(http, authorization):
    response = http.post(
        "/api/graphql.php",
        json=STATUS,
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    assert response.json() == masked_error(INVALID_TOKEN)


def test_token_with_leading_white_space_is_accepted(runtime, http):
    token = fetch_token(http, make_api_client(runtime))
    response = http.post(
        "/api/graphql.php", json=STATUS, headers={"Authorization": f"  Bearer   {token} "}
    )
    assert "data" in response.json()


def test_client_without_service_account(runtime, http):
    # given a client whose service account row has gone (the link is cleared)
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        conn.execute(update(api_clients).values(user_id=None))
    # then
    body = graphql(http, token, STATUS).json()
    assert body == masked_error("Couldn't identify API user for this request.")


@pytest.mark.parametrize("change", ["suspend", "delete", "admin", "move_tenant"])
def test_invalid_service_account_blocks_every_request(runtime, http, change):
    # given a working client
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    # when its service account becomes invalid
    with runtime.engine.begin() as conn:
        if change == "suspend":
            user_service.set_suspended(conn, client.user_id, True)
        elif change == "delete":
            user_service.soft_delete(conn, client.user_id)
        elif change == "admin":
            user_service.make_site_admin(conn, client.user_id)
    if change == "move_tenant":
        tenant_id = make_tenant(runtime)
        with runtime.engine.begin() as conn:
            conn.execute(
                update(users).where(users.c.id == client.user_id).values(tenant_id=tenant_id)
            )
    # then every request says so, while tokens are still issued (as Totara)
    assert graphql(http, token, STATUS).json() == masked_error("API user is invalid.")
    assert fetch_token(http, client)


def test_auth_errors_use_the_site_level_until_the_client_is_known(runtime, http):
    # given the site level None
    with runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", "none")
    # then an unknown token shows no reason
    body = graphql(http, "nosuchtoken", STATUS).json()
    assert body == {
        "errors": [{"message": "Internal server error", "extensions": {"category": "internal"}}],
        "error": "Internal server error",
    }


def test_client_level_applies_only_once_authentication_succeeds(runtime, http):
    # given a site at None but a client at Normal whose service account is suspended
    client = make_api_client(runtime)
    token = fetch_token(http, client)
    with runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", "none")
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(response_debug="normal")
        )
        user_service.set_suspended(conn, client.user_id, True)
    # then the reason is hidden at the site's level: Totara switches to the client's level
    # only after the service account has been logged in
    assert graphql(http, token, STATUS).json() == {
        "errors": [{"message": "Internal server error", "extensions": {"category": "internal"}}],
        "error": "Internal server error",
    }
    # and once the account is valid again, the client's level shows a failing request's reason
    with runtime.engine.begin() as conn:
        user_service.set_suspended(conn, client.user_id, False)
    body = graphql(http, token, {**STATUS, "queryId": "x"}).json()
    assert "debugMessage" in body["errors"][0]


def test_tenant_client_with_member_service_account_works(runtime, http):
    tenant_id = make_tenant(runtime)
    client = make_api_client(runtime, tenant_id=tenant_id)
    body = graphql(http, fetch_token(http, client), STATUS).json()
    assert body == {"data": {"totara_webapi_status": {"status": "ok"}}}


def test_cookies_are_ignored_and_never_set(runtime, http):
    token = fetch_token(http, make_api_client(runtime))
    response = http.post(
        "/api/graphql.php",
        json=STATUS,
        headers={"Authorization": f"Bearer {token}", "Cookie": "MoodleSession=abc"},
    )
    assert "data" in response.json()
    assert "set-cookie" not in response.headers


def test_authentication_failures_carry_a_bearer_challenge(runtime, http):
    # RFC 6750 section 3: every answer to a request without a usable token has a challenge,
    # naming invalid_token only when a token was sent; the status stays Totara's 200
    missing = graphql(http, None, STATUS)
    invalid = graphql(http, "nosuchtoken", STATUS)
    assert missing.status_code == invalid.status_code == 200
    assert missing.headers["www-authenticate"] == 'Bearer realm="extapi"'
    assert invalid.headers["www-authenticate"] == 'Bearer realm="extapi", error="invalid_token"'


def test_successful_requests_carry_no_challenge(runtime, http):
    token = fetch_token(http, make_api_client(runtime))
    assert "www-authenticate" not in graphql(http, token, STATUS).headers


def test_service_account_without_the_api_role_still_authenticates(runtime, http):
    # Totara 17.3 checks no capability per request: a role only matters to the operations
    client = make_api_client(runtime, role=None)
    body = graphql(http, fetch_token(http, client), STATUS).json()
    assert body == {"data": {"totara_webapi_status": {"status": "ok"}}}


def test_suspending_the_tenant_revokes_its_clients_tokens(runtime, http):
    # given a tenant client with a working token
    tenant_id = make_tenant(runtime)
    client = make_api_client(runtime, tenant_id=tenant_id)
    token = fetch_token(http, client)
    # when the tenant is suspended (which disables its clients, as in Totara)
    with runtime.engine.begin() as conn:
        set_tenant_suspended(conn, tenant_id, True)
    # then the token reads as invalid and no new token is issued
    assert graphql(http, token, STATUS).json() == masked_error(INVALID_TOKEN)
    refused = http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.secret,
        },
    )
    assert refused.json()["error"] == "invalid_client"
