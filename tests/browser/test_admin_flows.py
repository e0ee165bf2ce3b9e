"""The admin's everyday work in a real browser: sign in, create a client and use its
secret, disable it and see its token rejected, change a setting."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.browser.conftest import (
    OVERFLOW,
    UNLABELLED_CONTROLS,
    Site,
    screenshot,
    shown,
    sign_in_by_keyboard,
)

STATUS_QUERY = {"query": "query status { totara_webapi_status { status } }"}


def _graphql(site: Site, token: str) -> dict[str, Any]:
    response = httpx.post(
        f"{site.url}/api/graphql.php",
        json=STATUS_QUERY,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    return dict(response.json())


def _add_client(page: Any, name: str) -> tuple[str, str]:
    page.goto("/admin/clients")
    page.get_by_role("link", name="Add API client").click()
    page.get_by_label("Tenant", exact=True).select_option(
        label="System: can reach users in every tenant"
    )
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Description (optional)").fill("Nightly people sync")
    page.get_by_label("Service account", exact=True).select_option(
        label="HR Sync (hrsync): Active, holds the API User role"
    )
    page.get_by_role("button", name="Add API client").click()
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    return client_id, secret


def test_sign_in_by_keyboard_and_see_the_client_list(page: Any, site: Site) -> None:
    # Given the sign-in page
    page.goto("/admin/clients")
    assert page.url.endswith("/login?next=%2Fadmin%2Fclients")
    screenshot(page, "01-sign-in")
    # When the admin signs in with the keyboard alone
    sign_in_by_keyboard(page)
    # Then the client list opens
    shown(page.get_by_role("heading", name="API clients"))
    assert page.evaluate(UNLABELLED_CONTROLS) == []


def test_create_a_client_and_use_its_secret_then_disable_it(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    # When the admin adds a client
    client_id, secret = _add_client(page, "Payroll sync")
    screenshot(page, "03-client-created")
    # And the copy button puts the secret on the clipboard
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy secret").click()
    page.get_by_role("status").filter(has_text="Copied.").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    # Then its secret gets a token that works
    token = site.server.token(client_id, secret)
    assert _graphql(site, token) == {"data": {"totara_webapi_status": {"status": "ok"}}}
    # When the admin disables the client on its page
    page.get_by_role("link", name="Go to the client").click()
    page.get_by_role("link", name="Disable client").click()
    page.get_by_role("button", name="Disable Payroll sync").click()
    shown(page.get_by_text("Client disabled"))
    screenshot(page, "04-client-disabled")
    # Then the same token is rejected
    rejected = _graphql(site, token)
    assert "data" not in rejected or rejected.get("data") is None
    assert rejected["errors"]
    # And the list shows it as disabled
    page.goto("/admin/clients")
    shown(page.get_by_text("(disabled)").first)
    screenshot(page, "02-clients")


def test_client_page_shows_usage_after_requests(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    client_id, secret = _add_client(page, "Usage demo")
    # Given a client allowed 40 points a minute (a status query costs 6)
    page.goto(f"/admin/clients/{client_id}")
    page.get_by_label("Client rate limit").fill("40")
    page.get_by_role("button", name="Save settings").click()
    # When it makes ten requests, so that the last ones are refused
    token = site.server.token(client_id, secret)
    answers = [_graphql(site, token) for _ in range(10)]
    assert any(a.get("errors") for a in answers)
    # Then its page charts the points against the budget and counts the refusals (each
    # worker writes its request log about once a second, so the page may need a reload)
    deadline = time.monotonic() + 120
    while True:
        page.goto(f"/admin/clients/{client_id}")
        if page.get_by_text("Rate limited").count() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    assert page.locator(".chart svg:visible").count() == 1
    shown(page.get_by_text("Rate limited").first)
    screenshot(page, "05-client-usage")


def test_change_a_client_setting_and_see_the_site_limit_warning(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    client_id, _secret = _add_client(page, "Busy sync")
    page.goto(f"/admin/clients/{client_id}")
    page.get_by_label("Client rate limit").fill("-1")
    page.get_by_role("button", name="Save settings").click()
    shown(page.get_by_text("Can not set it to negative"))
    page.get_by_label("Client rate limit").fill("900000")
    page.get_by_role("button", name="Save settings").click()
    shown(page.get_by_text("so the site limit is being enforced").first)


def test_change_a_site_setting(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    page.goto("/admin/settings")
    screenshot(page, "06-settings")
    page.get_by_label("Maximum query depth").fill("0")
    page.get_by_role("button", name="Save settings").click()
    shown(page.get_by_text("max_query_depth must be a whole number").first)
    page.get_by_label("Maximum query depth").fill("12")
    page.get_by_role("button", name="Save settings").click()
    shown(page.get_by_text("API settings saved"))
    assert page.get_by_label("Maximum query depth").input_value() == "12"


def test_every_admin_page_is_labelled_and_fits_a_narrow_screen(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    client_id, _secret = _add_client(page, "Narrow check")
    paths = {
        "clients": "/admin/clients",
        "client-new": "/admin/clients/new",
        "client": f"/admin/clients/{client_id}",
        "client-edit": f"/admin/clients/{client_id}/edit",
        "client-rotate": f"/admin/clients/{client_id}/rotate",
        "client-delete": f"/admin/clients/{client_id}/delete",
        "client-disable": f"/admin/clients/{client_id}/disable",
        "user-suspend": "/admin/users/2/suspend",
        "client-requests": f"/admin/clients/{client_id}/requests?outcome=errors",
        "requests": "/admin/requests",
        "settings": "/admin/settings",
        "users": "/admin/users",
        "user": "/admin/users/2",
        "user-new": "/admin/users/new",
        "tenants": "/admin/tenants",
        "tenant-new": "/admin/tenants/new",
        "docs": "/totara/api/documentation/",
    }
    for name, path in paths.items():
        page.goto(path)
        screenshot(page, f"wide-{name}")
    page.set_viewport_size({"width": 360, "height": 800})
    for name, path in paths.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        assert page.evaluate(UNLABELLED_CONTROLS) == [], path
        assert page.evaluate(OVERFLOW) <= 0, f"{path} scrolls sideways at 360 px"
        screenshot(page, f"narrow-{name}")


def test_keyboard_reaches_every_control_with_visible_focus(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    page.goto("/admin/settings")
    controls = page.evaluate(
        "() => [...document.querySelectorAll('main input:not([type=hidden]), main select,"
        " main button, main a[href]')].length"
    )
    reached = set()
    for _ in range(controls + 12):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement;"
            " return el && el.closest('main') ? (el.id || el.textContent.trim()) : null }"
        )
        if focused:
            reached.add(focused)
    assert "Save settings" in reached and "site_rate_limit" in reached
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
