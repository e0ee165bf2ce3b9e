"""The API settings page."""

from __future__ import annotations

from dataclasses import asdict

from starlette.testclient import TestClient

from extapi.runtime import Runtime
from extapi.settings.site import SETTING_NAMES, SiteSettings, load_site_settings
from tests.web.support import post_form


def _form(**changes: str) -> dict[str, str]:
    """Every setting at its default, as the page submits them, with ``changes``."""
    values = {k: str(v) for k, v in asdict(SiteSettings()).items()}
    for flag in ("enable_introspection", "perfdebug", "tenantsisolated", "api_enabled"):
        if values[flag] == "0":
            values.pop(flag)
    values.update(changes)
    return values


def _stored(runtime: Runtime) -> SiteSettings:
    with runtime.engine.connect() as conn:
        return load_site_settings(conn)


def test_page_shows_every_setting_with_a_label(admin: TestClient) -> None:
    page = admin.get("/admin/settings").text
    for name in SETTING_NAMES:
        assert f'<label for="{name}">' in page, name
    assert "Site rate limit" in page and "Default error response" in page


def test_saving_applies_at_once(admin: TestClient, runtime: Runtime) -> None:
    response = post_form(
        admin,
        "/admin/settings",
        "/admin/settings",
        _form(
            site_rate_limit="1000",
            response_debug="2",
            enable_introspection="1",
            timezone="Pacific/Auckland",
        ),
    )
    assert response.status_code == 303
    assert "API settings saved" in admin.get("/admin/settings").text
    settings = runtime.current_settings()
    assert (settings.site_rate_limit, settings.response_debug) == (1000, 2)
    assert (settings.enable_introspection, settings.timezone) == (1, "Pacific/Auckland")


def test_unticked_checkbox_turns_a_setting_off(admin: TestClient, runtime: Runtime) -> None:
    form = _form()
    form.pop("api_enabled")
    post_form(admin, "/admin/settings", "/admin/settings", form)
    assert _stored(runtime).api_enabled == 0


def test_invalid_values_are_explained_and_nothing_is_saved(
    admin: TestClient, runtime: Runtime
) -> None:
    # Given one valid and several invalid changes
    form = _form(
        client_rate_limit="1000",
        site_rate_limit="0",
        max_query_depth="1.5",
        default_token_expiration="-3",
        timezone="Mars/Olympus",
        country="zz",
    )
    # When they are submitted
    response = post_form(admin, "/admin/settings", "/admin/settings", form)
    # Then each invalid one is explained next to its field
    assert response.status_code == 400
    text = response.text.replace("&#39;", "'")
    assert "site_rate_limit must be a whole number from 1 to 2147483647." in text
    assert "max_query_depth must be a whole number from 1 to 2147483647." in text
    assert "Duration must be 1 second or more" in text
    assert "Unknown timezone 'Mars/Olympus'" in text
    assert 'value="1000"' in text
    # And nothing was stored, not even the valid change
    assert _stored(runtime) == SiteSettings()


def test_totaras_address_leads_here(admin: TestClient) -> None:
    response = admin.get("/admin/settings.php?section=api_settings", follow_redirects=False)
    assert response.headers["location"] == "/admin/settings"
    assert admin.get("/admin/settings.php?section=other").status_code == 404
