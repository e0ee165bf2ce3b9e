"""The API documentation page and the SDL download: who may read them, and what they show."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from graphql import build_schema as parse_sdl
from graphql import get_named_type
from sqlalchemy import update
from starlette.testclient import TestClient

from extapi.access.roles import ALLOW, assign_role, create_role, set_permission
from extapi.apidocs import DEFAULT_HIDDEN
from extapi.app import ExtapiApp
from extapi.config import Config
from extapi.db.tables import access_tokens
from extapi.graphql.schema import RESOLVERS, assemble_schema, build_schema, schema_sdl
from extapi.runtime import Runtime, open_runtime
from extapi.settings.site import set_setting
from tests.factories import fetch_token, make_api_client, make_tenant, make_user
from tests.web.support import sign_in

DOCS = "/totara/api/documentation/"
SDL = "/totara/api/documentation/schema.php"
SDL_FILE = "/totara/api/documentation/totara_api-current.graphqls"
SCHEMA = build_schema()
HIDDEN_NAMES = ("card_display", "core_user_card_display", "core_user_card_display_field")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _reader(runtime: Runtime, username: str, role: str, tenant_id: int | None = None) -> None:
    user_id = make_user(runtime, username, password="Reader-pass-1", tenant_id=tenant_id)
    with runtime.engine.begin() as conn:
        assign_role(conn, role, user_id, tenant_id)


class _Outline(HTMLParser):
    """Heading levels, the ids of labelled controls, and the controls that need a label."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []
        self.labelled: set[str] = set()
        self.controls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
        elif tag == "label" and values.get("for"):
            self.labelled.add(str(values["for"]))
        elif tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.controls.append(str(values.get("id")))


# --- who may read -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", [DOCS, SDL, SDL_FILE])
def test_anonymous_browser_is_sent_to_sign_in(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_site_admin_reads_the_page_at_every_totara_address(admin: TestClient) -> None:
    for path in (DOCS, DOCS.rstrip("/"), DOCS + "index.php", DOCS + "?tenant_id=3"):
        response = admin.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert "<h1>API documentation</h1>" in response.text


def test_user_holding_only_the_documentation_capability_reads_both(
    anonymous: TestClient, runtime: Runtime
) -> None:
    # given a role granting nothing but totara/api:viewdocumentation, held by a plain user
    with runtime.engine.begin() as conn:
        create_role(conn, "docsreader", "Documentation reader")
        set_permission(conn, "docsreader", "totara/api:viewdocumentation", ALLOW)
    _reader(runtime, "reader", "docsreader")
    # when they sign in
    sign_in(anonymous, "reader", "Reader-pass-1")
    # then they can read the page and download the schema, without the admin links
    page = anonymous.get(DOCS)
    assert page.status_code == 200
    assert "/admin/clients" not in page.text
    assert anonymous.get(SDL).status_code == 200


def test_tenant_member_with_the_api_user_role_in_their_tenant_reads_the_page(
    anonymous: TestClient, runtime: Runtime
) -> None:
    tenant_id = make_tenant(runtime)
    _reader(runtime, "tenantreader", "apiuser", tenant_id)
    sign_in(anonymous, "tenantreader", "Reader-pass-1")
    assert anonymous.get(DOCS).status_code == 200


def test_user_without_the_capability_is_refused_at_sign_in(
    anonymous: TestClient, runtime: Runtime
) -> None:
    make_user(runtime, "plain", password="Plain-pass-1")
    refused = anonymous.post("/login", data={"username": "plain", "password": "Plain-pass-1"})
    assert refused.status_code == 401
    assert anonymous.get(DOCS, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", [DOCS, SDL, SDL_FILE])
def test_api_client_with_the_capability_reads_with_its_token(
    http: TestClient, runtime: Runtime, path: str
) -> None:
    # given a client whose service account holds the API User role (which has the capability)
    token = fetch_token(http, make_api_client(runtime))
    # when it asks with its bearer token and no session
    response = http.get(path, headers=_bearer(token))
    # then it gets the document
    assert response.status_code == 200


def test_tenant_api_client_with_the_capability_in_its_tenant_reads_the_schema(
    http: TestClient, runtime: Runtime
) -> None:
    client = make_api_client(runtime, tenant_id=make_tenant(runtime))
    response = http.get(SDL, headers=_bearer(fetch_token(http, client)))
    assert response.status_code == 200


def test_api_client_without_the_capability_is_forbidden(http: TestClient, runtime: Runtime) -> None:
    token = fetch_token(http, make_api_client(runtime, role=None))
    for path in (DOCS, SDL, SDL_FILE):
        response = http.get(path, headers=_bearer(token))
        assert response.status_code == 403
        assert "totara/api:viewdocumentation" in response.text


@pytest.mark.parametrize("authorization", ["Bearer not-a-token", "Bearer", "bearer   "])
def test_bad_tokens_get_401_with_a_bearer_challenge(http: TestClient, authorization: str) -> None:
    response = http.get(SDL, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "schema" not in response.text.lower()


def test_expired_token_gets_401(http: TestClient, runtime: Runtime) -> None:
    token = fetch_token(http, make_api_client(runtime))
    with runtime.engine.begin() as conn:
        conn.execute(update(access_tokens).values(expires=1))
    assert http.get(SDL, headers=_bearer(token)).status_code == 401


def test_tokens_are_refused_while_the_api_is_turned_off(http: TestClient, runtime: Runtime) -> None:
    token = fetch_token(http, make_api_client(runtime))
    with runtime.engine.begin() as conn:
        set_setting(conn, "api_enabled", "0")
    assert http.get(SDL, headers=_bearer(token)).status_code == 403


def test_the_pages_answer_only_get(admin: TestClient) -> None:
    assert admin.post(DOCS, data={}).status_code == 405
    assert admin.head(DOCS).status_code == 200


# --- what the page shows ----------------------------------------------------------------------
def test_every_query_and_mutation_has_its_section_and_contents_entry(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    assert SCHEMA.query_type is not None and SCHEMA.mutation_type is not None
    for kind, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        for name, field in root.fields.items():
            if DEFAULT_HIDDEN.hides_field(root.name, name, get_named_type(field.type).name):
                continue
            assert f'id="{kind}-{name}"' in page, name
            assert f'href="#{kind}-{name}"' in page, name
    for section in ("endpoint", "authentication", "request-format", "api-schema", "types"):
        assert f'id="{section}"' in page


def test_every_documented_type_has_a_section(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    for name in ("core_user", "core_user_create_user_input", "core_format", "core_id", "String"):
        assert f'id="type-{name}"' in page, name


def test_hidden_items_are_left_out_of_the_page_but_kept_in_the_sdl(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    sdl = admin.get(SDL).text
    for name in HIDDEN_NAMES:
        assert name not in page
        assert name in sdl


def test_the_page_shows_the_requests_own_site_url(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    assert "http://testserver/api/graphql.php" in page
    assert "http://testserver/totara/oauth2/token.php" in page
    assert "YOUR-SITE" not in page


@pytest.fixture
def public_site(config: Config) -> Iterator[TestClient]:
    """The app configured with EXTAPI_PUBLIC_URL, on the same database, reached under another
    host name (the session cookie is Secure, so the client speaks HTTPS)."""
    runtime = open_runtime(replace(config, public_url="https://learn.example.org"))
    try:
        with TestClient(ExtapiApp(runtime), base_url="https://internal:8080") as client:
            yield client
    finally:
        runtime.close()


def test_the_configured_public_url_wins_over_the_request_host(
    admin_id: int, public_site: TestClient
) -> None:
    sign_in(public_site)
    page = public_site.get(DOCS).text
    assert "https://learn.example.org/api/graphql.php" in page
    assert "internal:8080" not in page


def test_descriptions_arguments_defaults_and_links_are_shown(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    # a description of our own, an argument with its type link, and a default value
    assert "A person&#39;s account." in page
    assert '<a href="#type-core_user_users_query">core_user_users_query</a>' in page
    assert "Default: <code>PLAIN</code>" in page
    assert '<span class="tag tag-required">required</span>' in page


def test_each_operation_shows_an_example_request_and_response(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    assert 'id="mutation-core_user_create_user-request"' in page
    assert "mutation core_user_create_user($input: core_user_create_user_input!)" in page
    assert 'id="query-core_user_users-variables"' in page
    assert 'id="query-core_user_users-response"' in page


def test_deprecated_items_show_a_note(runtime: Runtime, admin_id: int) -> None:
    # given a server whose schema deprecates a query
    extra = (
        '\nextend type Query {\n  "Old status check."\n  old_status: totara_webapi_status '
        '@deprecated(reason: "Use `totara_webapi_status` instead.")\n}\n'
    )
    schema = assemble_schema(schema_sdl() + extra, RESOLVERS)
    with TestClient(ExtapiApp(runtime, schema)) as client:
        sign_in(client)
        # when the page is read
        page = client.get(DOCS).text
    # then the query is listed, marked deprecated in words, with the reason linked
    assert 'id="query-old_status"' in page
    assert "<strong>Deprecated.</strong> Use" in page
    assert '<a href="#query-totara_webapi_status"><code>totara_webapi_status</code></a>' in page


def test_the_page_is_built_from_the_schema_the_server_runs(runtime: Runtime, admin_id: int) -> None:
    extra = '\nextend type Query {\n  "Added for this test."\n  added_here: String\n}\n'
    schema = assemble_schema(schema_sdl() + extra, RESOLVERS)
    with TestClient(ExtapiApp(runtime, schema)) as client:
        sign_in(client)
        assert 'id="query-added_here"' in client.get(DOCS).text
        assert "added_here: String" in client.get(SDL).text


# --- the SDL download --------------------------------------------------------------------------
def test_sdl_downloads_as_a_file_that_parses_to_the_served_schema(admin: TestClient) -> None:
    response = admin.get(SDL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="totara_api-current.graphqls"'
    )
    parsed = parse_sdl(response.text)
    assert parsed.query_type is not None and SCHEMA.query_type is not None
    assert set(parsed.query_type.fields) == set(SCHEMA.query_type.fields)
    assert set(parsed.type_map) == set(SCHEMA.type_map)


def test_the_sdl_is_also_served_at_an_address_ending_in_graphqls(admin: TestClient) -> None:
    # given the download at Totara's address
    download = admin.get(SDL)
    # when a schema tool asks for the address ending in .graphqls
    response = admin.get(SDL_FILE)
    # then it gets the same SDL, as UTF-8 text
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == download.content


def test_the_page_links_to_the_download(admin: TestClient) -> None:
    assert f'href="{SDL}" download' in admin.get(DOCS).text


# --- search -----------------------------------------------------------------------------------
def test_search_without_javascript_lists_matches_with_links(admin: TestClient) -> None:
    page = admin.get(DOCS, params={"q": "core_user_users"}).text
    assert 'id="search-results"' in page
    assert '<a href="#query-core_user_users"><code>core_user_users</code></a>' in page
    assert 'value="core_user_users"' in page


@pytest.mark.parametrize(
    ("query", "anchor", "heading"),
    [
        ("429", "rate-limits", "Rate limits"),
        ("Retry-After", "rate-limits", "Rate limits"),
        ("client credentials", "authentication", "Authentication"),
        ("debugMessage", "errors", "Errors"),
    ],
)
def test_search_without_javascript_finds_the_guide_text(
    admin: TestClient, query: str, anchor: str, heading: str
) -> None:
    # when the guide's words are searched with the plain form
    page = admin.get(DOCS, params={"q": query}).text
    # then the guide section that holds them is listed, linked to its place on the page
    results = page[page.index('id="search-results"') : page.index("</section>")]
    assert f'<a href="#{anchor}"><code>{heading}</code></a>' in results
    assert "(Guide)" in results
    assert f'id="{anchor}"' in page


def test_the_guide_covers_rate_limits_and_errors_in_the_contents(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    assert '<a href="#rate-limits">Rate limits</a>' in page
    assert '<a href="#errors">Errors</a>' in page


def test_search_with_no_match_says_so(admin: TestClient) -> None:
    page = admin.get(DOCS, params={"q": "zzzz-nothing"}).text
    assert "Nothing matches <q>zzzz-nothing</q>" in page


def test_hostile_search_text_is_escaped(admin: TestClient) -> None:
    hostile = '"><script>alert(1)</script>'
    page = admin.get(DOCS, params={"q": hostile}).text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'value="&#34;&gt;&lt;script&gt;' in page


def test_very_long_search_is_cut_and_explained(admin: TestClient) -> None:
    response = admin.get(DOCS, params={"q": "user " * 2000})
    assert response.status_code == 200
    assert "Searches are limited to 100 characters" in response.text
    value = re.search(r'name="q"[^>]*value="([^"]*)"', response.text, re.S)
    assert value is not None and len(value.group(1)) <= 100


# --- accessibility and security ----------------------------------------------------------------
def test_headings_never_skip_a_level_and_every_control_has_a_label(admin: TestClient) -> None:
    outline = _Outline()
    outline.feed(admin.get(DOCS, params={"q": "user"}).text)
    assert outline.levels[0] == 1
    for before, after in zip(outline.levels, outline.levels[1:], strict=False):
        assert after <= before + 1, (before, after)
    assert outline.controls and set(outline.controls) <= outline.labelled


def test_the_page_has_a_search_landmark_and_a_named_contents_nav(admin: TestClient) -> None:
    page = admin.get(DOCS).text
    assert 'role="search"' in page
    assert '<nav class="docs-contents" aria-label="Contents"' in page
    assert '<label for="docs-q">' in page


def test_the_page_uses_no_inline_script_or_style(admin: TestClient) -> None:
    response = admin.get(DOCS, params={"q": "user"})
    page = response.text
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert "<style" not in page and " style=" not in page
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_the_page_script_and_stylesheet_are_served(anonymous: TestClient) -> None:
    assert anonymous.get("/static/docs.js").status_code == 200
    assert anonymous.get("/static/docs.css").status_code == 200
