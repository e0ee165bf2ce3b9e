"""The API explorer without a browser: who may open it and run queries, what a run returns,
and that a run is the client's own request (its token, limits and request log)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.app import ExtapiApp
from extapi.auth import clients
from extapi.config import Config
from extapi.db.tables import access_tokens
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from extapi.web.security import CSP
from tests.factories import make_api_client, make_user
from tests.requestlog.support import flushed_rows
from tests.web.support import csrf_token, sign_in

EXPLORER = "/totara/api/documentation/explorer"
DOCS = "/totara/api/documentation/"
STATUS = "query { totara_webapi_status { status } }"
JSON = {"Accept": "application/json"}
BODY_LIMIT = 8 * 1024


@pytest.fixture
def config(database_url: str) -> Config:
    """A small API body limit, so that an oversized query is cheap to build."""
    return Config(
        database_url=database_url, secret_key="test-secret-key", max_body_bytes=BODY_LIMIT
    )


def _run(client: TestClient, data: dict[str, str], json: bool = True):  # type: ignore[no-untyped-def]
    fields = {"csrf_token": csrf_token(client, EXPLORER), "variables": "{}", **data}
    return client.post(EXPLORER, data=fields, headers=JSON if json else {})


def test_a_query_runs_as_the_chosen_client_and_is_logged_as_its_own(
    admin: TestClient, runtime: Runtime
) -> None:
    # given an API client
    api = make_api_client(runtime, name="Payroll sync")
    # when the administrator runs the status query as that client
    response = _run(admin, {"client_id": api.client_id, "query": STATUS})
    # then the page gets the API's status, answer, cost and the client's remaining budget
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == 200
    assert '"status": "ok"' in result["body"]
    assert result["points"] >= 1
    assert result["limit"] > 0
    assert result["remaining"] == result["limit"] - result["points"]
    # and neither the token nor the secret reaches the browser
    assert api.secret not in response.text
    assert "access_token" not in response.text.lower()
    # and the request log holds the request under the client
    rows = flushed_rows(runtime, api.id)
    assert [(r["operations"], r["status"], r["outcome"]) for r in rows] == [
        ("(anonymous)", 200, "success")
    ]
    assert rows[0]["complexity"] == result["points"]


def test_the_explorers_token_is_short_lived_and_reused(admin: TestClient, runtime: Runtime) -> None:
    # given a client whose tokens would last a day
    api = make_api_client(runtime)
    with runtime.engine.begin() as conn:
        clients.update_client_settings(
            conn, api.client_id, clients.ClientSettingsChange(token_expiry=86400)
        )
    # when two queries are run as it
    for _ in range(2):
        assert _run(admin, {"client_id": api.client_id, "query": STATUS}).json()["status"] == 200
    # then one token was issued for both, expiring within five minutes
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(access_tokens.c.expires, access_tokens.c.time_created).where(
                access_tokens.c.client_id == api.id
            )
        ).all()
    assert len(rows) == 1
    assert rows[0].expires - rows[0].time_created <= 300


def test_the_no_script_form_shows_the_answer_on_the_page(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a client
    api = make_api_client(runtime)
    # when the form is posted without asking for JSON
    response = _run(admin, {"client_id": api.client_id, "query": STATUS}, json=False)
    # then the page shows the status, the cost and the answer, and keeps the query
    assert response.status_code == 200
    page = unescape(response.text)
    assert 'id="explorer-http-status">200<' in page
    assert '"status": "ok"' in page
    assert STATUS in page


def test_a_disabled_client_gets_the_apis_own_refusal(admin: TestClient, runtime: Runtime) -> None:
    # given a disabled client
    api = make_api_client(runtime, enabled=False)
    # when a query is run as it
    result = _run(admin, {"client_id": api.client_id, "query": STATUS}).json()
    # then the answer is the API's: the token is refused
    assert result["status"] == 200
    assert "Missing, expired or invalid access token" in result["body"]
    assert result["points"] == 0


def test_a_client_with_an_invalid_service_account_gets_the_apis_refusal(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a client whose service account was suspended
    api = make_api_client(runtime)
    with runtime.engine.begin() as conn:
        from extapi.db.tables import users

        conn.execute(users.update().where(users.c.id == api.user_id).values(suspended=1))
    # when a query is run as it
    result = _run(admin, {"client_id": api.client_id, "query": STATUS}).json()
    # then the API's own error says why
    assert "API user is invalid." in result["body"]


def test_a_rotated_secret_gets_the_explorer_a_fresh_token(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a client the explorer already holds a token for
    api = make_api_client(runtime)
    assert _run(admin, {"client_id": api.client_id, "query": STATUS}).json()["status"] == 200
    # when its secret is rotated (which revokes its tokens)
    with runtime.engine.begin() as conn:
        clients.rotate_secret(conn, runtime.hasher, api.client_id)
    # then the next run still works, with a new token
    result = _run(admin, {"client_id": api.client_id, "query": STATUS}).json()
    assert '"status": "ok"' in result["body"]


def test_a_run_needs_the_forms_token(admin: TestClient, runtime: Runtime) -> None:
    api = make_api_client(runtime)
    # when the form is posted without its CSRF token
    response = admin.post(
        EXPLORER, data={"client_id": api.client_id, "query": STATUS}, headers=JSON
    )
    # then it is refused and nothing ran as the client
    assert response.status_code == 403
    assert "security token" in response.text
    assert flushed_rows(runtime, api.id) == []


def test_a_run_from_another_site_is_refused(admin: TestClient, runtime: Runtime) -> None:
    api = make_api_client(runtime)
    fields = {
        "csrf_token": csrf_token(admin, EXPLORER),
        "client_id": api.client_id,
        "query": STATUS,
    }
    response = admin.post(
        EXPLORER, data=fields, headers={**JSON, "Origin": "https://elsewhere.example"}
    )
    assert response.status_code == 403
    assert flushed_rows(runtime, api.id) == []


def test_only_site_administrators_may_run_queries(app: ExtapiApp, runtime: Runtime) -> None:
    # given a user who may read the documentation but is not an administrator
    user_id = make_user(runtime, "reader", password="Reader-pass-1")
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", user_id, None)
    api = make_api_client(runtime)
    with TestClient(app, base_url="http://testserver") as reader:
        sign_in(reader, "reader", "Reader-pass-1")
        # when they open the explorer: they may write a query but see no client or Run button
        page = reader.get(EXPLORER)
        assert page.status_code == 200
        assert "Only site administrators can run queries" in page.text
        assert 'name="client_id"' not in page.text
        assert 'id="explorer-run"' not in page.text
        # and when they post a run anyway, it is refused
        fields = {"csrf_token": csrf_token(reader, EXPLORER), "client_id": api.client_id}
        response = reader.post(EXPLORER, data={**fields, "query": STATUS}, headers=JSON)
    assert response.status_code == 403
    assert flushed_rows(runtime, api.id) == []


def test_signed_out_visitors_are_sent_to_sign_in(anonymous: TestClient) -> None:
    response = anonymous.get(
        EXPLORER + "?example=query-totara_webapi_status", follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    posted = anonymous.post(EXPLORER, data={"query": STATUS}, follow_redirects=False)
    assert posted.status_code == 303


def test_an_unknown_client_is_a_clear_404(admin: TestClient) -> None:
    response = _run(admin, {"client_id": "no-such-client", "query": STATUS})
    assert response.status_code == 404
    assert response.json() == {"error": "There is no API client with this id."}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("{not json", "The variables are not valid JSON"),
        ("[1, 2]", "The variables must be a JSON object"),
    ],
)
def test_malformed_variables_are_named_and_nothing_runs(
    admin: TestClient, runtime: Runtime, variables: str, message: str
) -> None:
    api = make_api_client(runtime)
    response = _run(admin, {"client_id": api.client_id, "query": STATUS, "variables": variables})
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert flushed_rows(runtime, api.id) == []


def test_malformed_variables_keep_the_form_without_script(
    admin: TestClient, runtime: Runtime
) -> None:
    api = make_api_client(runtime)
    data = {"client_id": api.client_id, "query": STATUS, "variables": "{oops"}
    response = _run(admin, data, json=False)
    assert response.status_code == 400
    page = unescape(response.text)
    assert "The variables are not valid JSON" in page
    assert "{oops</textarea>" in page


def test_an_empty_query_or_no_client_is_named(admin: TestClient, runtime: Runtime) -> None:
    api = make_api_client(runtime)
    empty = _run(admin, {"client_id": api.client_id, "query": "  "})
    assert (empty.status_code, empty.json()["error"]) == (400, "Write a query to run.")
    no_client = _run(admin, {"query": STATUS})
    assert no_client.status_code == 400
    assert no_client.json()["error"] == "Choose the API client to run the query as."


def test_an_oversized_query_gets_the_endpoints_body_limit(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a query larger than the API accepts
    api = make_api_client(runtime)
    query = "query { totara_webapi_status { status } }" + " " * BODY_LIMIT
    # when it is run
    result = _run(admin, {"client_id": api.client_id, "query": query}).json()
    # then the answer is the endpoint's 413, and nothing ran as the client
    assert result["status"] == 413
    assert f"exceeds the limit of {BODY_LIMIT} bytes" in result["body"]
    assert flushed_rows(runtime, api.id) == []


def test_a_try_it_link_opens_the_operations_example(admin: TestClient) -> None:
    # given the documentation page
    docs = admin.get(DOCS).text
    # then every operation's example has a Try it link, and the intro's request one too
    links = docs.count(f'href="{EXPLORER}?example=')
    assert links == docs.count("<h4>Example</h4>") > 10
    assert f'href="{EXPLORER}?query=' in docs
    # when one is followed
    page = admin.get(EXPLORER + "?example=query-core_user_users")
    # then the explorer holds that example's query and variables
    assert page.status_code == 200
    text = unescape(page.text)
    assert "query core_user_users" in text or "core_user_users(" in text
    assert '"pagination"' in text


def test_the_explorer_prefills_any_query_from_the_address(admin: TestClient) -> None:
    page = admin.get(EXPLORER, params={"query": "{ __typename }", "variables": '{"a": 1}'})
    text = unescape(page.text)
    assert "{ __typename }</textarea>" in text
    assert '{"a": 1}</textarea>' in text


def test_an_unknown_example_falls_back_to_the_status_query(admin: TestClient) -> None:
    page = admin.get(EXPLORER + "?example=query-nothing_here")
    assert page.status_code == 200
    assert "totara_webapi_status" in page.text


def test_the_explorer_works_with_introspection_off(admin: TestClient, runtime: Runtime) -> None:
    # given a site with introspection off for API clients
    with runtime.engine.begin() as conn:
        set_setting(conn, "enable_introspection", "0")
    api = make_api_client(runtime)
    # then the page's schema (for completion) is still served to the administrator
    sdl = admin.get("/totara/api/documentation/schema.php")
    assert sdl.status_code == 200
    assert "totara_webapi_status" in sdl.text
    # and queries still run
    result = _run(admin, {"client_id": api.client_id, "query": STATUS}).json()
    assert '"status": "ok"' in result["body"]


def test_the_page_loads_the_editor_from_the_package(admin: TestClient) -> None:
    page = admin.get(EXPLORER).text
    assert '<script src="/static/vendor/editor/editor.js" defer></script>' in page
    assert "<script>" not in page and " style=" not in page
    bundle = admin.get("/static/vendor/editor/editor.js")
    assert bundle.status_code == 200
    assert "ExtapiEditor" in bundle.text
    assert admin.get("/static/vendor/editor/LICENSE.txt").status_code == 200


def test_only_the_explorer_allows_a_stylesheet_and_only_with_its_own_nonce(
    admin: TestClient,
) -> None:
    # given two loads of the explorer and one of the documentation
    first, second = admin.get(EXPLORER), admin.get(EXPLORER)
    docs = admin.get(DOCS)
    # then each explorer page allows <style> only with a nonce of its own, given to its script
    nonces = []
    for page in (first, second):
        policy = page.headers["content-security-policy"]
        found = re.search(r"style-src 'self' 'nonce-([^']+)';", policy)
        assert found, policy
        assert f'data-style-nonce="{found.group(1)}"' in page.text
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "script-src 'self';" in policy
        nonces.append(found.group(1))
    assert nonces[0] != nonces[1]
    # and every other page keeps the strict policy
    assert docs.headers["content-security-policy"] == CSP


def test_the_operation_name_picks_one_of_several_operations(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a document of two named operations
    api = make_api_client(runtime)
    query = "query first { totara_webapi_status { status } } query second { __typename }"
    # when the second is named
    result = _run(
        admin, {"client_id": api.client_id, "query": query, "operation_name": "second"}
    ).json()
    # then only it ran, and the log names it
    assert '"__typename": "Query"' in result["body"]
    assert [r["operations"] for r in flushed_rows(runtime, api.id)] == ["second"]


def test_a_spent_budget_shows_the_apis_429_and_what_is_left(
    admin: TestClient, runtime: Runtime
) -> None:
    # given a client whose budget fits one status query a minute
    api = make_api_client(runtime)
    first = _run(admin, {"client_id": api.client_id, "query": STATUS}).json()
    with runtime.engine.begin() as conn:
        change = clients.ClientSettingsChange(rate_limit=first["points"] + 1)
        clients.update_client_settings(conn, api.client_id, change)
    # when it is run again within the minute
    result = _run(admin, {"client_id": api.client_id, "query": STATUS}).json()
    # then the API refuses it with 429, and the page shows the budget and what is left of it
    assert result["status"] == 429
    assert result["limit"] == first["points"] + 1
    assert result["remaining"] == 1
    assert result["reset_seconds"] >= 1
    assert [r["outcome"] for r in flushed_rows(runtime, api.id)] == ["success", "rate_limited"]
