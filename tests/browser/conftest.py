"""Browser tests: Playwright for Python driving Debian's Chromium against a real
``extapi serve`` process. Screenshots of every page go to ``EXTAPI_ARTIFACTS_DIR``
(default ``artifacts/screenshots``).

Without Chromium or Playwright these tests skip with the reason; under ``.ci/run``, which
installs both, a skip is a failure (see tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from extapi.access.roles import assign_role
from extapi.config import Config
from extapi.people.users import make_site_admin
from extapi.runtime import open_runtime
from tests.factories import make_user
from tests.support.server import LiveServer, start_server
from tests.web.support import ADMIN_PASSWORD

CHROMIUM = os.environ.get("EXTAPI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(os.environ.get("EXTAPI_ARTIFACTS_DIR", "artifacts/screenshots"))
BROWSER_TIMEOUT_MS = 120_000
SCREENSHOT_MAX_HEIGHT = 6_000


@dataclass(frozen=True)
class Site:
    server: LiveServer
    config: Config
    account_username: str = "hrsync"

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Browser tests need the playwright package (make install adds it)")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"Browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A live server on a fresh SQLite database with a site administrator ``admin`` and a
    service account ``hrsync`` holding the API User role."""
    workdir = tmp_path_factory.mktemp("browser")
    config = Config(database_url=f"sqlite:///{workdir / 'extapi.db'}", secret_key="browser-key")
    runtime = open_runtime(config)
    admin = make_user(runtime, "admin", password=ADMIN_PASSWORD, firstname="Ada", lastname="Admin")
    account = make_user(runtime, "hrsync", firstname="HR", lastname="Sync")
    with runtime.engine.begin() as conn:
        make_site_admin(conn, admin)
        assign_role(conn, "apiuser", account, None)
    runtime.close()
    with start_server(config, workdir) as server:
        yield Site(server, config)


def open_page(browser: Any, site: Site, **options: Any) -> Any:
    """A page on the site in a browser context of its own (``options`` go to
    ``new_context``: viewport, touch, JavaScript ...); ``page.context.close()`` ends it."""
    context = browser.new_context(base_url=site.url, **options)
    page = context.new_page()
    # Generous: on a busy shared machine a page can be slow; the tests prove behaviour, not speed.
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    return page


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    page = open_page(browser, site, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """A picture for people to look at, not a check: a very long page is cut at
    ``SCREENSHOT_MAX_HEIGHT`` pixels (the documentation page is about 90,000 pixels tall, and
    capturing all of it can take longer than a busy machine allows)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not full_page:
        page.screenshot(path=str(path))
        return path
    width, height = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, SCREENSHOT_MAX_HEIGHT)}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    return path


def sign_in_by_keyboard(page: Any, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Sign in using only the keyboard: the username field has focus on arrival."""
    page.goto("/login")
    # The field takes focus through its autofocus attribute, which can land just after "load".
    page.locator("#username:focus").wait_for()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


UNLABELLED_CONTROLS = """
() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden' && !el.hidden)
  .filter(el => {
    if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
    return el.labels.length === 0 && !el.getAttribute('aria-label');
  })
  .map(el => el.outerHTML)
"""

OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def shown(locator: Any) -> None:
    """Wait until ``locator`` is visible (up to the page's generous timeout): a page that is
    still loading on a busy machine is not a failure, a page that never shows it is."""
    locator.wait_for(state="visible")
