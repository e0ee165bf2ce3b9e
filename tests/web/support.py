"""Helpers for driving the admin pages through the real ASGI app."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from extapi.people.users import make_site_admin
from extapi.runtime import Runtime
from tests.factories import make_user

__all__ = ["ADMIN_PASSWORD", "make_admin", "sign_in", "csrf_token", "post_form", "picker_of"]

ADMIN_PASSWORD = "Admin-pass-123"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_PICKER = re.compile(r'<select id="service_account".*?</select>', re.S)


def make_admin(runtime: Runtime, username: str = "admin") -> int:
    user_id = make_user(runtime, username, password=ADMIN_PASSWORD)
    with runtime.engine.begin() as conn:
        make_site_admin(conn, user_id)
    return user_id


def sign_in(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def csrf_token(client: TestClient, path: str) -> str:
    """The CSRF token of the form on ``path`` (the session's token)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post_form(client: TestClient, form_page: str, action: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """POST ``data`` to ``action`` with the CSRF token shown on ``form_page``."""
    fields = {"csrf_token": csrf_token(client, form_page), **(data or {})}
    return client.post(action, data=fields, follow_redirects=False)


def picker_of(page: str) -> str:
    """The service-account picker of a client form, as the browser shows it before any script
    runs (the page's <template> of every account is left out)."""
    found = _PICKER.search(page)
    assert found, "no service account picker on the page"
    return found.group(0)
