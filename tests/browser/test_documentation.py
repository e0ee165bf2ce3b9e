"""Browsing and searching the API documentation in a real browser."""

from __future__ import annotations

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


def test_browse_and_search_the_documentation(page: Any, site: Site) -> None:
    # Given a signed-in administrator on the documentation page
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/")
    shown(page.get_by_role("heading", name="Endpoint"))
    assert site.url in page.locator("main").inner_text()
    screenshot(page, "07-docs")
    screenshot(page, "07-docs-top", full_page=False)
    # When they type in the search box
    search = page.get_by_label("Search the documentation")
    search.fill("totara_job_delete")
    # Then only matching items stay visible, and the count is announced
    page.locator("#query-core_user_users").wait_for(state="hidden")
    shown(page.locator("#mutation-totara_job_delete_job_assignment"))
    assert "match" in page.locator("#docs-search-status").inner_text()
    screenshot(page, "08-docs-search")
    # When they follow a link to a type from an operation
    search.fill("")
    page.locator("#query-core_user_users").get_by_role(
        "link", name="core_user_users_query"
    ).first.click()
    # Then the type's section is shown
    assert page.url.endswith("#type-core_user_users_query")
    shown(page.locator("#type-core_user_users_query"))


def test_search_works_without_javascript(browser: Any, site: Site) -> None:
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    page = context.new_page()
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/?q=tenant")
    shown(page.locator("main").get_by_text("tenant").first)
    context.close()


def test_schema_downloads_as_sdl(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the schema").first.click()
    assert download.value.suggested_filename == "totara_api-current.graphqls"


def test_documentation_fits_a_phone_and_is_labelled(page: Any, site: Site) -> None:
    sign_in_by_keyboard(page)
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto("/totara/api/documentation/")
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "narrow-docs-top")


def test_anonymous_visitors_are_asked_to_sign_in(site: Site) -> None:
    response = httpx.get(f"{site.url}/totara/api/documentation/", follow_redirects=False)
    assert response.status_code == 303


def test_read_the_schema_changelog_from_the_documentation(page: Any, site: Site) -> None:
    # Given a signed-in administrator on the documentation page
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/")
    # When they follow the contents link to the schema changelog
    with page.expect_navigation():
        page.locator("#contents").get_by_role("link", name="Schema changelog").click()
    # Then the changelog shows each version and what changed in it
    assert page.url.endswith("/totara/api/documentation/changelog")
    shown(page.get_by_role("heading", name="Schema changelog", level=1))
    shown(page.get_by_role("heading", name="0.1.0 (2026-12-05)"))
    screenshot(page, "09-schema-changelog")
    # And it fits a phone, and leads back to the documentation
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, "narrow-schema-changelog")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").click()
    shown(page.get_by_role("heading", name="Endpoint"))
