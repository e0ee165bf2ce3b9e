"""Headers, CSRF and request limits that every web page shares."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from extapi.app import ExtapiApp
from extapi.runtime import Runtime
from extapi.settings.site import load_site_settings
from tests.web.support import csrf_token, sign_in


def test_pages_carry_security_headers_and_are_not_cached(admin: TestClient) -> None:
    response = admin.get("/admin/clients")
    headers = response.headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"


def test_static_files_may_be_cached_and_are_not_sniffed(anonymous: TestClient) -> None:
    response = anonymous.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in response.headers.get("cache-control", "")


def test_pages_use_no_inline_script_or_style(admin: TestClient) -> None:
    for path in ("/admin/clients", "/admin/clients/new", "/admin/settings", "/login"):
        page = admin.get(path).text
        assert "<script>" not in page and "<style" not in page and " style=" not in page


def test_post_without_or_with_a_wrong_csrf_token_changes_nothing(
    admin: TestClient, runtime: Runtime
) -> None:
    for data in ({"site_rate_limit": "7"}, {"site_rate_limit": "7", "csrf_token": "forged"}):
        response = admin.post("/admin/settings", data=data)
        assert response.status_code == 403
        assert "Form expired" in response.text
    with runtime.engine.connect() as conn:
        assert load_site_settings(conn).site_rate_limit == 500000


def test_post_from_another_origin_is_refused(admin: TestClient, runtime: Runtime) -> None:
    token = csrf_token(admin, "/admin/settings")
    response = admin.post(
        "/admin/settings",
        data={"csrf_token": token, "site_rate_limit": "7"},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403


def test_oversized_form_gets_413(admin: TestClient) -> None:
    response = admin.post(
        "/admin/settings",
        content=b"a=" + b"x" * 300_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_unknown_page_is_a_404_page(anonymous: TestClient) -> None:
    response = anonymous.get("/admin/nothing-here/<script>")
    assert response.status_code in (303, 404)
    assert "<script>" not in response.text
    assert anonymous.get("/no/such/page").status_code == 404


def test_an_unexpected_fault_shows_a_plain_page_without_internals(
    app: ExtapiApp, admin_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page whose service fails unexpectedly
    def broken(*_args: object) -> None:
        raise RuntimeError("connection string postgres://secret@db")

    monkeypatch.setattr("extapi.web.views.clients.clients_with_health", broken)
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as client:
        sign_in(client)
        # When it is opened
        response = client.get("/admin/clients")
    # Then the visitor gets a 500 page that reveals nothing
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret" not in response.text


def test_nul_characters_are_refused_in_addresses_and_dropped_from_forms(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given addresses and a form holding NUL characters (PostgreSQL can not store them)
    for path in ("/admin/clients/%00", "/admin/users?q=%00", "/admin/clients/new?account_q=a%00"):
        # Then the addresses are refused plainly
        assert admin.get(path).status_code == 400, path
    # And a form's NUL characters are dropped
    token = csrf_token(admin, "/admin/tenants/new")
    response = admin.post(
        "/admin/tenants/new",
        data={"csrf_token": token, "name": "Ac\x00me", "idnumber": "ac\x00me"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Acme" in admin.get("/admin/tenants").text


def test_sign_in_with_a_nul_character_is_simply_refused(anonymous: TestClient) -> None:
    response = anonymous.post("/login", data={"username": "ad\x00min", "password": "x"})
    assert response.status_code == 401
