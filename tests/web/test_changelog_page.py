"""The schema changelog page of the API documentation: who may read it, what it shows."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from extapi.runtime import Runtime
from tests.factories import fetch_token, make_api_client
from tests.web.test_docs_pages import _Outline

CHANGELOG = "/totara/api/documentation/changelog"
DOCS = "/totara/api/documentation/"
FIRST_VERSION = "0-1-0-2026-12-05"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- who may read -----------------------------------------------------------------------------
def test_anonymous_browser_is_sent_to_sign_in(anonymous: TestClient) -> None:
    response = anonymous.get(CHANGELOG, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_api_client_with_the_documentation_capability_reads_it(
    http: TestClient, runtime: Runtime
) -> None:
    token = fetch_token(http, make_api_client(runtime))
    response = http.get(CHANGELOG, headers=_bearer(token))
    assert response.status_code == 200
    assert f'id="{FIRST_VERSION}"' in response.text


def test_api_client_without_the_capability_is_forbidden(http: TestClient, runtime: Runtime) -> None:
    token = fetch_token(http, make_api_client(runtime, role=None))
    response = http.get(CHANGELOG, headers=_bearer(token))
    assert response.status_code == 403
    assert "totara/api:viewdocumentation" in response.text


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Bearer", "Bearer \x7f"])
def test_bad_tokens_get_401(http: TestClient, authorization: str) -> None:
    response = http.get(CHANGELOG, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert "Schema changelog" not in response.text


def test_the_page_answers_only_get(admin: TestClient) -> None:
    assert admin.post(CHANGELOG, data={}).status_code == 405
    assert admin.get(CHANGELOG + "/extra").status_code == 404


# --- what it shows ----------------------------------------------------------------------------
def test_the_page_renders_the_committed_changelog(admin: TestClient) -> None:
    page = admin.get(CHANGELOG, params={"q": "<script>"}).text
    assert '<h1 id="schema-changelog">Schema changelog</h1>' in page
    assert f'<h2 id="{FIRST_VERSION}">0.1.0 (2026-12-05)</h2>' in page
    assert '<h3 id="breaking-changes">Breaking changes</h3>' in page
    assert f'<a href="{DOCS}">API documentation</a>' in page
    assert "<script>" not in page


def test_the_documentation_links_to_the_changelog(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    assert f'<li><a href="{CHANGELOG}">Schema changelog</a></li>' in page
    assert f'<a href="{CHANGELOG}">schema changelog</a>' in page
    assert "extensions.deprecation_warnings" in page


def test_the_documentation_search_finds_changelog_entries(admin: TestClient) -> None:
    page = admin.get(DOCS, params={"q": "first recorded schema"}).text
    assert f'<a href="{CHANGELOG}#{FIRST_VERSION}"><code>0.1.0 (2026-12-05)</code></a>' in page
    assert "(Schema changelog)" in page


def test_reference_search_results_still_link_within_the_page(admin: TestClient) -> None:
    page = admin.get(DOCS, params={"q": "core_user_users"}).text
    assert '<a href="#query-core_user_users"><code>core_user_users</code></a>' in page


def test_headings_never_skip_a_level(admin: TestClient) -> None:
    outline = _Outline()
    outline.feed(admin.get(CHANGELOG).text)
    assert outline.levels[0] == 1 and outline.levels.count(1) == 1
    for before, after in zip(outline.levels, outline.levels[1:], strict=False):
        assert after <= before + 1, (before, after)


def test_the_page_uses_no_inline_script_or_style(admin: TestClient) -> None:
    response = admin.get(CHANGELOG)
    assert re.findall(r"<script(?![^>]*\bsrc=)", response.text) == []
    assert "<style" not in response.text and " style=" not in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
