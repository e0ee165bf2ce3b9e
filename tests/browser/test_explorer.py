"""The API explorer in Chromium, on a desktop and on a phone: open an example from the
documentation, edit it with completion from the schema, run it as an API client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from extapi.runtime import open_runtime
from tests.browser.conftest import (
    OVERFLOW,
    UNLABELLED_CONTROLS,
    Site,
    open_page,
    screenshot,
    shown,
    sign_in_by_keyboard,
)
from tests.factories import ApiClient, make_api_client

EXPLORER = "/totara/api/documentation/explorer"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def api_client(site: Site) -> ApiClient:
    runtime = open_runtime(site.config)
    try:
        return make_api_client(runtime, name="HR sync")
    finally:
        runtime.close()


@pytest.fixture
def csp_violations(page: Any) -> Iterator[list[str]]:
    """Console messages about anything the Content-Security-Policy blocked on the page."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: seen.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    yield seen


@pytest.fixture
def phone(browser: Any, site: Site) -> Iterator[Any]:
    page = open_page(browser, site, viewport=PHONE, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


def _run_and_wait(page: Any) -> None:
    status = page.locator("#explorer-status")
    page.get_by_role("button", name="Run").click()
    page.wait_for_function(
        "() => document.getElementById('explorer-status').textContent.startsWith('Done')"
    )
    shown(status)


def test_try_an_example_from_the_documentation_and_run_it(
    page: Any, site: Site, api_client: ApiClient, csp_violations: list[str]
) -> None:
    # Given a signed-in administrator on the documentation page
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/")
    # When they follow "Try it" on the status query's example
    example = page.locator("#query-totara_webapi_status")
    example.scroll_into_view_if_needed()
    screenshot(page, "docs-try-it", full_page=False)
    with page.expect_navigation():
        example.get_by_role("link", name=re.compile("Try it")).click()
    # Then the explorer opens with that example in a code editor
    assert page.url.endswith(f"{EXPLORER}?example=query-totara_webapi_status")
    editor = page.locator(".explorer-query .cm-content")
    editor.wait_for()
    assert "totara_webapi_status" in editor.inner_text()
    assert page.locator("#explorer-query").is_hidden()  # the editor took the textarea's place
    # When they pick the client and run the query
    page.get_by_label("Run as API client").select_option(api_client.client_id)
    _run_and_wait(page)
    # Then they see the HTTP status, the answer, its cost and the client's budget
    assert page.locator("#explorer-http-status").inner_text() == "200"
    assert '"status": "ok"' in page.locator("#explorer-response").inner_text()
    points = int(page.locator("#explorer-points").inner_text())
    assert points >= 1
    assert re.fullmatch(
        r"\d+ of \d+ points, renewed in \d+ s", page.locator("#explorer-budget").inner_text()
    )
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    screenshot(page, "explorer", full_page=False)
    # And nothing on the page was blocked by the Content-Security-Policy
    assert csp_violations == []


def test_completion_offers_fields_from_the_schema(
    page: Any, site: Site, csp_violations: list[str]
) -> None:
    # Given the explorer with its schema loaded (its editor bundle sent compressed)
    sign_in_by_keyboard(page)
    encodings: dict[str, str | None] = {}
    page.on(
        "response",
        lambda response: encodings.__setitem__(
            response.url, response.headers.get("content-encoding")
        ),
    )
    page.goto(EXPLORER)
    page.locator("form[data-schema-loaded=true]").wait_for(state="attached")
    bundle = [url for url in encodings if url.endswith("/vendor/editor/editor.js")]
    assert bundle and encodings[bundle[0]] == "gzip", encodings
    # When the administrator replaces the query and starts typing a field name
    page.locator(".explorer-query .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("{ totara_webapi_st")
    # Then a completion popup offers the field from the schema
    option = page.locator(".cm-tooltip-autocomplete li", has_text="totara_webapi_status").first
    option.wait_for()
    screenshot(page, "explorer-completion", full_page=False)
    # And choosing it puts the field in the query that will be sent
    option.click()
    page.wait_for_function(
        "() => document.getElementById('explorer-query').value.includes('totara_webapi_status')"
    )
    assert csp_violations == []


def test_edit_and_run_on_a_phone(phone: Any, site: Site, api_client: ApiClient) -> None:
    # Given an administrator on a phone, on the explorer
    sign_in_by_keyboard(phone)
    phone.goto(EXPLORER)
    variables = phone.locator(".explorer-variables .cm-content")
    variables.wait_for()
    # Then the page fits the screen and every control is labelled
    assert phone.evaluate(OVERFLOW) <= 0
    assert phone.evaluate(UNLABELLED_CONTROLS) == []
    # When they edit the query (the editor takes typing on a touch screen) and run it
    query = phone.locator(".explorer-query .cm-content")
    query.tap()
    phone.keyboard.press("Control+A")
    phone.keyboard.press("Delete")
    phone.keyboard.type("query status { totara_webapi_status { status } }")
    phone.get_by_label("Run as API client").select_option(api_client.client_id)
    _run_and_wait(phone)
    # Then the result shows below the editors
    assert phone.locator("#explorer-http-status").inner_text() == "200"
    assert '"status": "ok"' in phone.locator("#explorer-response").inner_text()
    phone.locator("#explorer-result").scroll_into_view_if_needed()
    assert phone.evaluate(OVERFLOW) <= 0
    screenshot(phone, "explorer-phone")


def test_a_bad_variables_text_is_named_on_the_page(
    page: Any, site: Site, api_client: ApiClient
) -> None:
    sign_in_by_keyboard(page)
    page.goto(EXPLORER)
    page.locator(".explorer-variables .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("{oops")
    page.get_by_label("Run as API client").select_option(api_client.client_id)
    page.get_by_role("button", name="Run").click()
    status = page.locator("#explorer-status")
    page.wait_for_function(
        "() => document.getElementById('explorer-status').textContent.includes('JSON')"
    )
    assert "The variables are not valid JSON" in status.inner_text()
    assert page.locator("#explorer-http-status").inner_text() == "400"


def test_the_explorer_runs_without_javascript(
    browser: Any, site: Site, api_client: ApiClient
) -> None:
    # Given a browser without JavaScript
    page = open_page(browser, site, java_script_enabled=False)
    sign_in_by_keyboard(page)
    page.goto(f"{EXPLORER}?example=query-totara_webapi_status")
    # When the plain form is filled in and sent
    page.get_by_label("Run as API client").select_option(api_client.client_id)
    assert "totara_webapi_status" in page.get_by_label("Query", exact=True).input_value()
    with page.expect_navigation():
        page.get_by_role("button", name="Run").click()
    # Then the server shows the answer on the page
    assert page.locator("#explorer-http-status").inner_text() == "200"
    assert '"status": "ok"' in page.locator("#explorer-response").inner_text()
    page.context.close()
