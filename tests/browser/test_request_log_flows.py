"""The request log in a real browser, on a desktop screen and on a phone: find a failed
request by filtering a client's log to errors, open it, and read its error and its (masked)
variables; the site-wide log from the navigation."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, OVERFLOW, UNLABELLED_CONTROLS, Site, screenshot
from tests.browser.conftest import sign_in_by_keyboard as sign_in
from tests.browser.test_admin_flows import _add_client

PHONE = {"width": 390, "height": 844}
STATUS = {"query": "query Status { totara_webapi_status { status timestamp } }"}
BROKEN = {
    "query": "query SyncUsers { no_such_field }",
    "operationName": "SyncUsers",
    "variables": {"since": "2026-12-01", "password": "hunter2"},
}


def _post(site: Site, token: str, body: Any) -> None:
    httpx.post(
        site.server.graphql_url,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def _client_with_traffic(page: Any, site: Site, name: str) -> str:
    """A client that made a dozen good requests and one failing one; returns its id once
    the failure shows in its log (each worker writes its log about once a second)."""
    client_id, secret = _add_client(page, name)
    token = site.server.token(client_id, secret)
    for _ in range(12):
        _post(site, token, STATUS)
    _post(site, token, BROKEN)
    deadline = time.monotonic() + 120
    while True:
        page.goto(f"/admin/clients/{client_id}/requests?outcome=errors")
        if page.locator("#request-log").count() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(300)
    return client_id


def _open_the_failure_and_check_it(page: Any) -> None:
    rows = page.locator("#request-log tbody tr")
    assert rows.count() == 1
    assert "SyncUsers" in rows.first.inner_text()
    rows.first.get_by_role("link").first.click()
    assert page.get_by_role("heading", name="Errors").is_visible()
    facts = page.locator("#request-facts").inner_text()
    assert "SyncUsers" in facts and "Error" in facts
    assert len(page.locator("#request-id").inner_text()) == 32
    assert "no_such_field" in page.locator(".error-message").first.inner_text()
    variables = page.locator("#variables").inner_text()
    assert '"since": "2026-12-01"' in variables
    assert '"password": "********"' in variables and "hunter2" not in page.content()


def test_filter_a_clients_log_to_errors_and_open_the_failure(page: Any, site: Site) -> None:
    sign_in(page)
    # Given a client with a dozen good requests and one failing one
    client_id = _client_with_traffic(page, site, "Log demo")
    # When the admin goes from its page to its errors
    page.goto(f"/admin/clients/{client_id}")
    assert page.locator(".chart svg:visible").count() == 1
    screenshot(page, "client")
    page.get_by_role("link", name="Errors only").click()
    screenshot(page, "request-log-errors")
    # Then the one failure is listed, and opens with its error and masked variables
    _open_the_failure_and_check_it(page)
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshot(page, "request-detail")
    # And the site-wide log, from the navigation, lists every request of every client
    page.get_by_role("link", name="Request log", exact=True).click()
    assert page.get_by_role("heading", name="Request log").is_visible()
    assert page.locator("#request-log tbody tr").count() >= 13
    page.get_by_label("Outcome").select_option("errors")
    page.get_by_role("button", name="Filter").click()
    assert "outcome=errors" in page.url
    assert page.locator("#request-log tbody tr").filter(has_text="Log demo").count() == 1
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshot(page, "request-log")


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_on_a_phone_filter_to_errors_and_open_the_failure(
    page: Any, site: Site, viewport: dict[str, int]
) -> None:
    sign_in(page)
    client_id = _client_with_traffic(page, site, "Phone demo")
    page.set_viewport_size(viewport)
    # Given the client's page on a phone: the narrow chart, nothing scrolling sideways
    page.goto(f"/admin/clients/{client_id}")
    chart = page.locator(".chart svg:visible")
    assert chart.count() == 1 and chart.get_attribute("id") == "usage-chart-narrow"
    # (drawn 360 units wide and shown about that wide, its 12-unit text stays legible)
    assert chart.bounding_box()["width"] >= 300
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "client-phone")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=str(ARTIFACTS / "usage-chart-phone.png"))
    # When the admin filters its log to errors with the form
    page.get_by_role("link", name="Full request log").click()
    page.get_by_label("Outcome").select_option("errors")
    page.get_by_role("button", name="Filter").click()
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "request-log-phone")
    # Then the failure opens, readable without sideways scrolling
    _open_the_failure_and_check_it(page)
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "request-detail-phone")
