"""The API settings page: every site setting, validated as a whole and saved all or nothing."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.settings.site import SETTING_NAMES, load_site_settings, update_settings
from extapi.web.auth import Viewer, admin_page, flash, form_of
from extapi.web.setting_fields import CHECKBOXES, FIELDS
from extapi.web.state import web_state
from extapi.web.templating import render

__all__ = ["ROUTES"]


def _render(
    request: Request, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return render(
        request,
        "settings.html",
        status=status,
        section="settings",
        title="API settings",
        fields=FIELDS,
        values=values,
        field_errors=errors,
        errors=list(errors.values()),
    )


async def settings_page(request: Request, _viewer: Viewer) -> Response:
    state = web_state(request)
    if request.method == "GET":
        current = await state.read(load_site_settings)
        return _render(request, {k: str(v) for k, v in asdict(current).items()}, {})
    form = await form_of(request)
    values: dict[str, Any] = {}
    for name in SETTING_NAMES:
        raw = form.get(name)
        if name in CHECKBOXES:
            values[name] = "1" if raw == "1" else "0"
        else:
            values[name] = raw[:200] if isinstance(raw, str) else ""
    errors = await state.write(update_settings, values)
    if errors:
        return _render(request, values, errors, 400)
    flash(request, "API settings saved. Every worker applies them on its next request.")
    return RedirectResponse("/admin/settings", status_code=303)


async def totara_settings_address(request: Request) -> Response:
    """Totara's address of the same page."""
    if request.query_params.get("section") != "api_settings":
        return render(
            request,
            "error.html",
            status=404,
            title="Page not found",
            message="Only the API settings section exists here.",
        )
    return RedirectResponse("/admin/settings", status_code=301)


ROUTES: list[BaseRoute] = [
    Route("/admin/settings", admin_page(settings_page), methods=["GET", "POST"]),
    Route("/admin/settings.php", totara_settings_address),
]
