"""Per-client IP allow-lists (Totara 19.1) at the GraphQL, token, revocation and introspection
endpoints: addresses and CIDR ranges, IPv4 and IPv6, trusted proxies, the answer at each error
level, the request log, and changes applying to the next request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.config import Config
from extapi.db.tables import access_tokens
from extapi.errors import ValidationError
from extapi.requestlog.usage import usage_last_hour
from extapi.runtime import Runtime, open_runtime
from extapi.settings.site import set_setting
from tests.factories import TOKEN_PATH, ApiClient, fetch_token, graphql, make_api_client
from tests.requestlog.support import flushed_rows
from tests.support.server import start_server

STATUS = {"query": "{ totara_webapi_status { status } }"}
REVOKE_PATH = "/totara/oauth2/revoke.php"
INTROSPECT_PATH = "/totara/oauth2/introspect.php"
FORBIDDEN = {"errors": [{"message": "Forbidden"}], "error": "Forbidden"}


@pytest.fixture
def client(runtime: Runtime) -> ApiClient:
    return make_api_client(runtime)


@pytest.fixture
def token(http: TestClient, client: ApiClient) -> str:
    return fetch_token(http, client)


@pytest.fixture
def peer(app: ExtapiApp) -> Iterator[object]:
    """``peer(address)``: a test client whose connection comes from ``address``."""
    opened: list[TestClient] = []

    def connect(address: str, target: ExtapiApp = app) -> TestClient:
        http = TestClient(target, client=(address, 40000))
        opened.append(http.__enter__())
        return http

    yield connect
    for http in opened:
        http.__exit__(None, None, None)


def _allow(runtime: Runtime, client: ApiClient, entries: str) -> None:
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(allowed_ips=entries)
        )


def _client_level(runtime: Runtime, client: ApiClient, level: str) -> None:
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, client.client_id, clients.ClientSettingsChange(response_debug=level)
        )


def _site_level(runtime: Runtime, level: str) -> None:
    with runtime.engine.begin() as conn:
        set_setting(conn, "response_debug", level)


def _status(http: TestClient, token: str) -> int:
    response = graphql(http, token, STATUS)
    if response.status_code == 200:
        assert response.json() == {"data": {"totara_webapi_status": {"status": "ok"}}}
    return response.status_code


def _token_form(client: ApiClient, secret: str | None = None) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": secret or client.secret,
    }


def _token_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(access_tokens)).scalar_one())


# --- the GraphQL endpoint ----------------------------------------------------------------------


def test_a_client_without_a_list_may_call_from_anywhere(runtime, client, token, peer):
    # given a client with no allow-list, when it calls from any address, then it is served
    for address in ("192.0.2.1", "2001:db8::1", "testclient"):
        assert _status(peer(address), token) == 200


@pytest.mark.parametrize(
    ("entries", "allowed", "refused"),
    [
        ("192.0.2.7", "192.0.2.7", "192.0.2.8"),
        ("10.0.0.0/8", "10.20.30.40", "11.0.0.1"),
        ("2001:db8::7", "2001:db8::7", "2001:db8::8"),
        ("2001:db8::/32", "2001:db8:ffff::1", "2001:db9::1"),
        ("10.0.0.0/8", "::ffff:10.0.0.1", "::ffff:11.0.0.1"),
        ("192.0.2.7, 2001:db8::/32", "2001:db8::1", "192.0.2.8"),
    ],
)
def test_only_listed_addresses_reach_the_api(
    runtime, client, token, peer, entries, allowed, refused
):
    # given a client whose allow-list holds ``entries``
    _allow(runtime, client, entries)
    # then a listed address is served and any other is refused
    assert _status(peer(allowed), token) == 200
    assert _status(peer(refused), token) == 403


def test_a_connection_without_an_ip_address_is_refused(runtime, client, token, peer):
    _allow(runtime, client, "0.0.0.0/0, ::/0")
    assert _status(peer("testclient"), token) == 403


def test_the_none_level_answers_a_bare_404(runtime, client, token, peer):
    # given a client at the None level with an allow-list
    _allow(runtime, client, "192.0.2.0/24")
    _client_level(runtime, client, "none")
    # when it calls from elsewhere
    response = graphql(peer("198.51.100.1"), token, STATUS)
    # then the answer tells nothing about the API behind it
    assert response.status_code == 404
    assert response.text == "Not Found"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"].startswith("no-store")


def test_the_normal_level_answers_403_forbidden(runtime, client, token, peer):
    _allow(runtime, client, "192.0.2.0/24")
    response = graphql(peer("198.51.100.1"), token, STATUS)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert response.headers["content-type"].startswith("application/json")


def test_the_developer_level_names_the_address(runtime, client, token, peer):
    _allow(runtime, client, "192.0.2.0/24")
    _client_level(runtime, client, "developer")
    response = graphql(peer("2001:db8::5"), token, STATUS)
    reason = "The address 2001:db8::5 is not in this client's IP allow-list."
    assert response.status_code == 403
    assert response.json() == {
        "errors": [
            {"message": "Forbidden", "debugMessage": reason, "extensions": {"debugMessage": reason}}
        ],
        "error": "Forbidden",
    }


def test_the_clients_own_level_wins_over_the_sites(runtime, client, token, peer):
    # given a site at Developer, a client following it, and a client at None
    _allow(runtime, client, "192.0.2.0/24")
    _site_level(runtime, "developer")
    assert "debugMessage" in graphql(peer("198.51.100.1"), token, STATUS).json()["errors"][0]
    _client_level(runtime, client, "none")
    # then the client's own level decides the answer
    assert graphql(peer("198.51.100.1"), token, STATUS).status_code == 404


def test_a_refused_graphql_response_client_gets_its_media_type(runtime, client, token, peer):
    _allow(runtime, client, "192.0.2.0/24")
    response = graphql(
        peer("198.51.100.1"), token, STATUS, {"Accept": "application/graphql-response+json"}
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/graphql-response+json")


def test_a_bad_token_keeps_its_answer_from_any_address(runtime, client, token, peer):
    # given a client with an allow-list, when a wrong token comes from an unlisted address
    _allow(runtime, client, "192.0.2.0/24")
    response = graphql(peer("198.51.100.1"), "not-a-token", STATUS)
    # then the answer is the usual authentication failure, as from a listed address
    listed = graphql(peer("192.0.2.1"), "not-a-token", STATUS)
    assert response.status_code == listed.status_code == 200
    assert response.json() == listed.json()
    assert response.json()["errors"][0]["debugMessage"].startswith("Missing, expired or invalid")


def test_a_list_change_applies_to_the_next_request(runtime, client, token, peer):
    # given a client served from an address while its token is cached
    http = peer("198.51.100.1")
    assert _status(http, token) == 200
    # when an allow-list without that address is set, then the next request is refused
    _allow(runtime, client, "192.0.2.0/24")
    assert _status(http, token) == 403
    # and when the address is added, or the list cleared, it is served again
    _allow(runtime, client, "192.0.2.0/24, 198.51.100.0/24")
    assert _status(http, token) == 200
    _allow(runtime, client, "192.0.2.1")
    assert _status(http, token) == 403
    _allow(runtime, client, "")
    assert _status(http, token) == 200


def test_a_list_change_made_by_another_process_applies(runtime, config, client, token, peer):
    # given a worker that has served the client
    http = peer("198.51.100.1")
    assert _status(http, token) == 200
    # when another process (the CLI, another worker) sets a list
    other = open_runtime(config)
    try:
        _allow(other, client, "192.0.2.0/24")
    finally:
        other.close()
    # then this worker refuses the next request
    assert _status(http, token) == 403


def test_a_refused_request_is_logged_against_the_client(runtime, client, token, peer):
    # given a client with an allow-list
    _allow(runtime, client, "192.0.2.0/24")
    # when it is served once and refused once
    assert _status(peer("192.0.2.9"), token) == 200
    assert _status(peer("198.51.100.1"), token) == 403
    # then both are in its log, the refusal with its reason and the address
    rows = flushed_rows(runtime, client.id)
    assert [(r["status"], r["outcome"]) for r in rows] == [
        (200, "success"),
        (403, "ip_not_allowed"),
    ]
    assert rows[1]["operations"] == "(GraphQL request from 198.51.100.1: not allowed)"
    assert rows[1]["complexity"] == 0


def test_a_refused_request_counts_as_an_error_in_the_usage(runtime, client, token, peer):
    # given a client refused once for its address
    _allow(runtime, client, "192.0.2.0/24")
    _status(peer("198.51.100.1"), token)
    runtime.request_log.flush()
    # then its hour of usage counts one request, one error, no points
    with runtime.engine.connect() as conn:
        usage = usage_last_hour(conn, client.id, time.time())
    assert (usage.requests, usage.errors, usage.points) == (1, 1, 0)


# --- trusted proxies ---------------------------------------------------------------------------


@pytest.fixture
def proxied(config: Config) -> Iterator[ExtapiApp]:
    """The app of a worker that trusts the proxies at 10.0.0.0/8 and 2001:db8:a::/48."""
    runtime = open_runtime(replace(config, trusted_proxies=("10.0.0.0/8", "2001:db8:a::/48")))
    yield ExtapiApp(runtime)
    runtime.close()


def _via(http: TestClient, token: str, forwarded: str) -> int:
    response = graphql(http, token, STATUS, {"X-Forwarded-For": forwarded})
    return response.status_code


def test_without_trusted_proxies_the_header_is_never_read(runtime, client, token, peer):
    # given the default configuration and a client listing one address
    _allow(runtime, client, "198.51.100.7")
    # when a request from elsewhere claims that address, then it is refused
    assert _via(peer("203.0.113.1"), token, "198.51.100.7") == 403
    # and a listed peer is served whatever the header says
    assert _via(peer("198.51.100.7"), token, "203.0.113.1") == 200


def test_a_trusted_proxy_names_the_client(runtime, client, token, peer, proxied):
    _allow(runtime, client, "198.51.100.0/24")
    proxy = peer("10.0.0.2", proxied)
    assert _via(proxy, token, "198.51.100.7") == 200
    assert _via(proxy, token, "203.0.113.1") == 403


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(runtime, client, token, peer, proxied):
    _allow(runtime, client, "198.51.100.0/24")
    assert _via(peer("203.0.113.1", proxied), token, "198.51.100.7") == 403


def test_a_chain_of_proxies_is_read_from_the_right(runtime, client, token, peer, proxied):
    # given a client listing 198.51.100.0/24, behind two trusted proxies
    _allow(runtime, client, "198.51.100.0/24")
    proxy = peer("2001:db8:a::1", proxied)
    # then the right-most hop that is not a proxy is the client, whatever was put before it
    assert _via(proxy, token, "203.0.113.1, 198.51.100.7, 10.0.0.9") == 200
    assert _via(proxy, token, "198.51.100.7, 203.0.113.1, 10.0.0.9") == 403


@pytest.mark.parametrize("header", ["garbage", "198.51.100.7, ", "198.51.100.7:443", "x" * 5000])
def test_a_malformed_header_falls_back_to_the_proxy(runtime, client, token, peer, proxied, header):
    # given a client that lists the proxy itself but not the client behind it
    _allow(runtime, client, "10.0.0.2")
    # when the proxy sends a header that can not be read, then the proxy's address is used
    assert _via(peer("10.0.0.2", proxied), token, header) == 200
    _allow(runtime, client, "198.51.100.7")
    assert _via(peer("10.0.0.2", proxied), token, header) == 403


def test_a_developer_is_told_the_forwarded_address(runtime, client, token, peer, proxied):
    _allow(runtime, client, "192.0.2.0/24")
    _client_level(runtime, client, "developer")
    response = graphql(peer("10.0.0.2", proxied), token, STATUS, {"X-Forwarded-For": "::1"})
    assert response.json()["errors"][0]["debugMessage"] == (
        "The address ::1 is not in this client's IP allow-list."
    )


# --- the token, revocation and introspection endpoints -----------------------------------------


def test_a_listed_address_gets_a_token(runtime, client, peer):
    _allow(runtime, client, "192.0.2.0/24, 2001:db8::/32")
    for address in ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.2"):
        response = peer(address).post(TOKEN_PATH, data=_token_form(client))
        assert response.status_code == 200, address


@pytest.mark.parametrize(
    ("level", "status", "body"),
    [
        (
            "none",
            404,
            {
                "error": "unauthorized_client",
                "error_description": "Not Found",
                "message": "Not Found",
            },
        ),
        (
            "normal",
            403,
            {
                "error": "unauthorized_client",
                "error_description": "Forbidden",
                "message": "Forbidden",
            },
        ),
        (
            "developer",
            403,
            {
                "error": "unauthorized_client",
                "error_description": "Forbidden",
                "hint": "The address 198.51.100.1 is not in this client's IP allow-list.",
                "message": "Forbidden",
            },
        ),
    ],
)
def test_the_token_endpoint_refuses_at_each_level(runtime, client, peer, level, status, body):
    # given a client with an allow-list at the ``level`` error level
    _allow(runtime, client, "192.0.2.0/24")
    _client_level(runtime, client, level)
    before = _token_count(runtime)
    # when it asks for a token from an unlisted address
    response = peer("198.51.100.1").post(TOKEN_PATH, data=_token_form(client))
    # then it is refused as its level says, uncached, and no token is issued
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert "www-authenticate" not in response.headers
    assert _token_count(runtime) == before


def test_the_token_endpoint_follows_the_site_level(runtime, client, peer):
    _allow(runtime, client, "192.0.2.0/24")
    _site_level(runtime, "none")
    response = peer("198.51.100.1").post(TOKEN_PATH, data=_token_form(client))
    assert response.status_code == 404


def test_wrong_credentials_never_reveal_the_list(runtime, client, peer):
    # given a client with an allow-list
    _allow(runtime, client, "192.0.2.0/24")
    http = peer("198.51.100.1")
    # when a wrong secret, or an unknown client, comes from an unlisted address
    wrong = http.post(TOKEN_PATH, data=_token_form(client, secret="x" * 40))
    unknown = http.post(TOKEN_PATH, data={**_token_form(client), "client_id": "nosuchclient0000"})
    # then both get the usual invalid_client, as from any address
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


def test_a_refused_token_request_is_logged(runtime, client, peer):
    _allow(runtime, client, "192.0.2.0/24")
    peer("2001:db8::9").post(TOKEN_PATH, data=_token_form(client))
    rows = flushed_rows(runtime, client.id)
    assert [(r["operations"], r["status"], r["outcome"]) for r in rows] == [
        ("(token request from 2001:db8::9: not allowed)", 403, "ip_not_allowed")
    ]


def test_revocation_is_refused_from_an_unlisted_address(runtime, client, token, peer):
    # given a client with a token, then an allow-list without the caller's address
    _allow(runtime, client, "192.0.2.0/24")
    form = {"client_id": client.client_id, "client_secret": client.secret, "token": token}
    # when it asks to revoke the token from there
    response = peer("198.51.100.1").post(REVOKE_PATH, data=form)
    # then it is refused and the token still works from a listed address
    assert response.status_code == 403
    assert response.json()["error"] == "unauthorized_client"
    assert _status(peer("192.0.2.1"), token) == 200
    assert flushed_rows(runtime, client.id)[0]["operations"] == (
        "(token revocation from 198.51.100.1: not allowed)"
    )
    # and from a listed address the revocation goes through
    assert peer("192.0.2.1").post(REVOKE_PATH, data=form).status_code == 200
    refused = graphql(peer("192.0.2.1"), token, STATUS).json()
    assert refused["errors"][0]["debugMessage"].startswith("Missing, expired or invalid")


def test_introspection_is_refused_from_an_unlisted_address(runtime, client, token, peer):
    _allow(runtime, client, "192.0.2.0/24")
    _client_level(runtime, client, "none")
    form = {"client_id": client.client_id, "client_secret": client.secret, "token": token}
    refused = peer("198.51.100.1").post(INTROSPECT_PATH, data=form)
    assert refused.status_code == 404
    assert refused.json()["error"] == "unauthorized_client"
    allowed = peer("192.0.2.1").post(INTROSPECT_PATH, data=form)
    assert allowed.json()["active"] is True


# --- setting the list --------------------------------------------------------------------------


def test_the_service_stores_the_list_normalised(runtime, client):
    _allow(runtime, client, "2001:DB8::/32\n192.0.2.7/32, 10.0.0.0/8, 10.0.0.0/8")
    with runtime.engine.connect() as conn:
        stored = clients.get_client(conn, client.client_id)["allowed_ips"]
    assert stored == ["2001:db8::/32", "192.0.2.7", "10.0.0.0/8"]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("10.0.0.1/8", "'10.0.0.1/8' has host bits set: write the range as 10.0.0.0/8."),
        ("192.0.2.1, nonsense", "'nonsense' is not an IP address or a CIDR range."),
        ("2001:db8::/129", "'2001:db8::/129' is not an IP address or a CIDR range."),
    ],
)
def test_the_service_refuses_bad_entries_and_keeps_the_list(runtime, client, entries, message):
    _allow(runtime, client, "192.0.2.0/24")
    with pytest.raises(ValidationError) as refused:
        _allow(runtime, client, entries)
    assert refused.value.message == message
    with runtime.engine.connect() as conn:
        assert clients.get_client(conn, client.client_id)["allowed_ips"] == ["192.0.2.0/24"]


def test_proxied_token_requests_follow_the_same_rule(runtime, client, peer, proxied):
    _allow(runtime, client, "198.51.100.0/24")
    proxy = peer("10.0.0.2", proxied)
    allowed = proxy.post(
        TOKEN_PATH, data=_token_form(client), headers={"X-Forwarded-For": "198.51.100.7"}
    )
    refused = proxy.post(
        TOKEN_PATH, data=_token_form(client), headers={"X-Forwarded-For": "203.0.113.1"}
    )
    spoofed = peer("203.0.113.1", proxied).post(
        TOKEN_PATH, data=_token_form(client), headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert (allowed.status_code, refused.status_code, spoofed.status_code) == (200, 403, 403)


# --- the real server ---------------------------------------------------------------------------


def test_the_real_server_reads_forwarded_for_only_from_trusted_proxies(
    runtime, config, client, live_server, tmp_path
):
    # given a client listing one address, and a server that trusts the local proxy
    _allow(runtime, client, "198.51.100.7")
    spoofed = {"X-Forwarded-For": "198.51.100.7"}
    trusting = start_server(config, tmp_path, extra_env={"EXTAPI_TRUSTED_PROXIES": "127.0.0.1"})
    with trusting as proxied_server, httpx.Client(timeout=60) as http:
        form = _token_form(client)
        # when a request from 127.0.0.1 claims the listed address
        # then the default server (uvicorn's proxy headers off) refuses it
        assert http.post(live_server.token_url, data=form, headers=spoofed).status_code == 403
        # and the server trusting 127.0.0.1 believes it, and refuses any other claim
        answer = http.post(proxied_server.token_url, data=form, headers=spoofed)
        assert answer.status_code == 200
        token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert http.post(
            proxied_server.graphql_url, json=STATUS, headers={**headers, **spoofed}
        ).json() == {"data": {"totara_webapi_status": {"status": "ok"}}}
        other = {**headers, "X-Forwarded-For": "203.0.113.1"}
        assert http.post(proxied_server.graphql_url, json=STATUS, headers=other).status_code == 403
        assert http.post(live_server.graphql_url, json=STATUS, headers=headers).status_code == 403
