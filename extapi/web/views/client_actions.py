"""Actions on one API client: enable or disable it, rotate its secret, delete it. Rotation
and deletion ask for confirmation on a page first (GET), then act (POST)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.auth import clients as service
from extapi.errors import ExtapiError, NotFoundError
from extapi.web.auth import Viewer, admin_page, flash, form_of
from extapi.web.state import web_state
from extapi.web.templating import render

__all__ = ["ROUTES", "client_not_found"]


def client_not_found(request: Request) -> Response:
    return render(
        request,
        "error.html",
        status=404,
        title="API client not found",
        message="There is no API client with this id.",
    )


async def client_status(request: Request, _viewer: Viewer) -> Response:
    client_id = request.path_params["client_id"]
    enable = (await form_of(request)).get("action") == "enable"
    try:
        await web_state(request).write(service.set_client_status, client_id, enable)
    except NotFoundError:
        return client_not_found(request)
    except ExtapiError as exc:
        flash(request, exc.message)
    else:
        flash(request, "Client enabled." if enable else "Client disabled: its tokens stop working.")
    return RedirectResponse(f"/admin/clients/{client_id}", status_code=303)


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
    return render(
        request,
        "clients/secret.html",
        section="clients",
        title="New client secret",
        client=client,
        secret=secret,
        created=False,
    )


ROUTES: list[BaseRoute] = [
    Route("/admin/clients/{client_id}/status", admin_page(client_status), methods=["POST"]),
    Route("/admin/clients/{client_id}/rotate", admin_page(client_rotate), methods=["GET", "POST"]),
    Route("/admin/clients/{client_id}/delete", admin_page(client_delete), methods=["GET", "POST"]),
]
