"""Setting up clients safely, in Chromium on a desktop screen and on a phone: a tenant client
made in one step, the confirmation before disabling, the ready-to-paste snippet that works,
and the documentation search finding the rate-limit guide."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import pytest

from extapi.access.roles import assign_role
from extapi.people.tenants import add_tenant
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
from tests.factories import make_user

DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
_numbers = itertools.count(1)


@pytest.fixture(params=list(DEVICES))
def device(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _open(browser: Any, site: Site, device: str, script: bool = True) -> Any:
    return open_page(browser, site, java_script_enabled=script, **DEVICES[device])


@pytest.fixture
def phone_or_desktop(browser: Any, site: Site, device: str) -> Iterator[Any]:
    page = _open(browser, site, device)
    yield page
    page.context.close()


@pytest.fixture
def without_script(browser: Any, site: Site, device: str) -> Iterator[Any]:
    page = _open(browser, site, device, script=False)
    yield page
    page.context.close()


def _tenant_with_account(site: Site) -> tuple[str, str]:
    """A new tenant with a service account of its own: (tenant name, account's option text)."""
    n = next(_numbers)
    name, username = f"Globex {n}", f"globexsync{n}"
    runtime = open_runtime(site.config)
    try:
        with runtime.engine.begin() as conn:
            tenant_id = add_tenant(conn, name, f"globex{n}")
        user_id = make_user(
            runtime, username, firstname="Globex", lastname=f"Sync {n}", tenant_id=tenant_id
        )
        with runtime.engine.begin() as conn:
            assign_role(conn, "apiuser", user_id, tenant_id)
    finally:
        runtime.close()
    return name, f"Globex Sync {n} ({username})"


def _picker_texts(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#service_account option").all_inner_texts()]


def test_a_tenant_client_is_created_in_one_step(
    phone_or_desktop: Any, site: Site, device: str
) -> None:
    page = phone_or_desktop
    tenant, account = _tenant_with_account(site)
    sign_in_by_keyboard(page)
    page.goto("/admin/clients/new")
    # Given no tenant chosen yet, no account is offered
    assert _picker_texts(page) == ["Choose System or a tenant first"]
    # When the admin chooses the tenant, the picker offers only its accounts, with their state
    page.get_by_label("Tenant", exact=True).select_option(label=tenant)
    offered = _picker_texts(page)
    assert f"{account}: Active, holds the API User role" in offered
    assert not any("(hrsync)" in text for text in offered)
    page.get_by_label("Service account", exact=True).select_option(label=offered[1])
    page.get_by_label("Name", exact=True).fill(f"{tenant} HR")
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, f"setup-{device}-new-client")
    page.get_by_role("button", name="Add API client").click()
    # Then the client is made in that tenant, and the snippets carry its real id
    facts = page.locator("dl.facts").inner_text()
    assert tenant in facts
    client_id = page.locator("#client-id").inner_text()
    assert f"client_id='{client_id}'" in page.locator("#snippet-curl").inner_text()
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, f"setup-{device}-created")
    # And the list names its tenant and shows its id and its working status
    page.goto("/admin/clients")
    row = page.get_by_role("row").filter(has_text=f"{tenant} HR")
    assert client_id in row.inner_text() and tenant in row.inner_text()
    shown(row.get_by_text("Enabled"))


def test_without_javascript_choosing_the_tenant_reloads_the_picker(
    without_script: Any, site: Site, device: str
) -> None:
    page = without_script
    tenant, account = _tenant_with_account(site)
    sign_in_by_keyboard(page)
    page.goto("/admin/clients/new")
    page.get_by_label("Name", exact=True).fill("No script sync")
    page.get_by_label("Tenant", exact=True).select_option(label=tenant)
    page.get_by_role("button", name="Show this tenant's accounts").click()
    # The form comes back with the tenant's accounts and the name typed before
    assert page.get_by_label("Name", exact=True).input_value() == "No script sync"
    page.get_by_label("Service account", exact=True).select_option(
        label=f"{account}: Active, holds the API User role"
    )
    page.get_by_role("button", name="Add API client").click()
    assert tenant in page.locator("dl.facts").inner_text()


def test_disabling_a_client_asks_first(phone_or_desktop: Any, site: Site, device: str) -> None:
    page = phone_or_desktop
    sign_in_by_keyboard(page)
    page.goto("/admin/clients/new?tenant=system")
    page.get_by_label("Service account", exact=True).select_option(
        label="HR Sync (hrsync): Active, holds the API User role"
    )
    page.get_by_label("Name", exact=True).fill(f"Disable me {device}")
    page.get_by_role("button", name="Add API client").click()
    page.get_by_role("link", name="Go to the client").click()
    # When the admin asks to disable it, a page asks first and nothing has changed yet
    page.get_by_role("link", name="Disable client").click()
    shown(page.get_by_role("heading", name=f"Disable Disable me {device}?"))
    assert page.evaluate(OVERFLOW) <= 0
    screenshot(page, f"setup-{device}-confirm-disable")
    # When they confirm
    page.get_by_role("button", name=f"Disable Disable me {device}").click()
    # Then it is disabled
    shown(page.get_by_text("Client disabled"))
    shown(page.locator("dl.facts").get_by_text("Disabled"))


def test_the_python_snippet_runs_as_pasted(page: Any, site: Site, monkeypatch: Any) -> None:
    sign_in_by_keyboard(page)
    page.goto("/admin/clients/new?tenant=system")
    page.get_by_label("Service account", exact=True).select_option(
        label="HR Sync (hrsync): Active, holds the API User role"
    )
    page.get_by_label("Name", exact=True).fill("Snippet check")
    page.get_by_role("button", name="Add API client").click()
    snippet = page.locator("#snippet-python").inner_text()
    monkeypatch.setenv("CLIENT_SECRET", page.locator("#client-secret").inner_text())
    printed = io.StringIO()
    with redirect_stdout(printed):
        exec(compile(snippet, "snippet", "exec"), {})  # the page's code, as a user would run it
    assert printed.getvalue().strip() == "{'data': {'totara_webapi_status': {'status': 'ok'}}}"


def test_docs_search_finds_the_rate_limit_guide(
    phone_or_desktop: Any, site: Site, device: str
) -> None:
    page = phone_or_desktop
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/")
    page.get_by_label("Search the documentation").fill("429")
    # The guide section about rate limits stays, the reference items without 429 go
    page.locator("#query-core_user_users").wait_for(state="hidden")
    shown(page.locator("#rate-limits"))
    assert page.locator("#endpoint").is_hidden()
    assert "3 guide sections and 0 of" in page.locator("#docs-search-status").inner_text()
    screenshot(page, f"setup-{device}-docs-429", full_page=False)


def test_docs_search_without_javascript_finds_the_rate_limit_guide(
    without_script: Any, site: Site
) -> None:
    page = without_script
    sign_in_by_keyboard(page)
    page.goto("/totara/api/documentation/")
    page.get_by_label("Search the documentation").fill("429")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.locator("#search-results")
    results.get_by_role("link", name="Rate limits").click()
    assert page.url.endswith("#rate-limits")
