"""Actions on one API client: enable or disable it, rotate its secret, delete it. Disabling,
rotation and deletion ask for confirmation on a page first (GET), then act (POST)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.auth import clients as service
from extapi.errors import ExtapiError, NotFoundError
from extapi.http import site_address
from extapi.web.auth import Viewer, admin_page, flash, form_of
from extapi.web.state import web_state
from extapi.web.templating import render

__all__ = ["ROUTES", "client_not_found", "render_secret"]


def client_not_found(request: Request) -> Response:
    return render(
        request,
        "error.html",
        status=404,
        title="API client not found",
        message="There is no API client with this id.",
    )


def render_secret(request: Request, client: dict[str, Any], secret: str, created: bool) -> Response:
    """The page that shows a new secret once, with snippets that use it against this site."""
    base_url = web_state(request).runtime.config.public_url or site_address(request.scope)
    return render(
        request,
        "clients/secret.html",
        section="clients",
        title="Client created" if created else "New client secret",
        client=client,
        secret=secret,
        created=created,
        base_url=base_url.rstrip("/"),
    )


async def client_status(request: Request, _viewer: Viewer) -> Response:
    """Enable at once; disable only when the confirmation page's form says so (anything else
    is sent to that page, and nothing changes)."""
    client_id = request.path_params["client_id"]
    form = await form_of(request)
    enable = form.get("action") == "enable"
    if not enable and form.get("confirmed") != "1":
        return RedirectResponse(f"/admin/clients/{client_id}/disable", status_code=303)
    try:
        await web_state(request).write(service.set_client_status, client_id, enable)
    except NotFoundError:
        return client_not_found(request)
    except ExtapiError as exc:
        flash(request, exc.message)
    else:
        flash(request, "Client enabled." if enable else "Client disabled: its tokens stop working.")
    return RedirectResponse(f"/admin/clients/{client_id}", status_code=303)


async def client_disable(request: Request, _viewer: Viewer) -> Response:
    """Asks whether to disable the client; its form posts to the status action."""
    try:
        client = await web_state(request).read(service.get_client, request.path_params["client_id"])
    except NotFoundError:
        return client_not_found(request)
    return render(
        request,
        "clients/confirm_disable.html",
        section="clients",
        title="Disable API client",
        client=client,
    )


async def client_rotate(request: Request, _viewer: Viewer) -> Response:
    return await _confirmed(request, "rotate")


async def client_delete(request: Request, _viewer: Viewer) -> Response:
    return await _confirmed(request, "delete")


async def _confirmed(request: Request, action: str) -> Response:
    """GET asks for confirmation; POST does it."""
    state = web_state(request)
    client_id = request.path_params["client_id"]
    try:
        if request.method == "GET":
            client = await state.read(service.get_client, client_id)
            return render(
                request,
                f"clients/confirm_{action}.html",
                section="clients",
                title=f"{action.capitalize()} API client",
                client=client,
            )
        if action == "delete":
            client = await state.write(service.delete_client, client_id)
            flash(request, f"API client \u201c{client['name']}\u201d was deleted.")
            return RedirectResponse("/admin/clients", status_code=303)
        client, secret = await state.write(service.rotate_secret, state.runtime.hasher, client_id)
    except NotFoundError:
        return client_not_found(request)
    return render_secret(request, client, secret, created=False)


ROUTES: list[BaseRoute] = [
    Route("/admin/clients/{client_id}/status", admin_page(client_status), methods=["POST"]),
    Route("/admin/clients/{client_id}/disable", admin_page(client_disable)),
    Route("/admin/clients/{client_id}/rotate", admin_page(client_rotate), methods=["GET", "POST"]),
    Route("/admin/clients/{client_id}/delete", admin_page(client_delete), methods=["GET", "POST"]),
]
