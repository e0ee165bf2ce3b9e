"""Tenants pages: the list with member and client counts, adding a tenant, suspending and
unsuspending one (suspending disables every API client of the tenant, as in Totara, so it is
confirmed on a page first).
Routes are listed by :mod:`extapi.web.views.people`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.errors import NotFoundError, ValidationError
from extapi.people.admin_actions import suspend_tenant
from extapi.people.directory import TenantSummary, get_tenant, list_tenant_summaries
from extapi.people.tenants import add_tenant
from extapi.web.auth import Viewer, admin_page, flash, form_of
from extapi.web.state import web_state
from extapi.web.templating import render
from extapi.web.views.people_support import not_found, path_id, text_fields

__all__ = ["ROUTES"]

TENANT_FIELDS = ("name", "idnumber", "description")


async def tenants_page(request: Request, _viewer: Viewer) -> Response:
    tenants = await web_state(request).read(list_tenant_summaries)
    return render(
        request, "people/tenants.html", section="tenants", title="Tenants", tenants=tenants
    )


def _new_tenant_form(
    request: Request, values: dict[str, str], errors: list[str], status: int = 200
) -> Response:
    return render(
        request,
        "people/tenant_new.html",
        status=status,
        section="tenants",
        title="Add a tenant",
        values=values,
        errors=errors,
    )


async def new_tenant_page(request: Request, _viewer: Viewer) -> Response:
    if request.method == "GET":
        return _new_tenant_form(request, {}, [])
    values = text_fields(await form_of(request), TENANT_FIELDS)
    try:
        await web_state(request).write(
            add_tenant, values["name"], values["idnumber"], values["description"].strip()
        )
    except ValidationError as exc:
        return _new_tenant_form(request, values, [exc.message], 400)
    flash(request, f"Tenant {values['name'].strip()} added.")
    return RedirectResponse("/admin/tenants", status_code=303)


def _suspension_message(tenant: TenantSummary, suspended: bool) -> str:
    if not suspended:
        return (
            f"Tenant {tenant.name} unsuspended. Its API clients stay disabled until you "
            "enable them on the API clients page."
        )
    count = tenant.enabled_clients
    clients = "API client was" if count == 1 else "API clients were"
    return f"Tenant {tenant.name} suspended; {count} {clients} disabled."


async def _confirm_suspension(request: Request, tenant_id: int) -> Response:
    """Asks before suspending, saying how many clients it disables; the page's form posts
    back here with ``confirmed``."""
    try:
        tenant = await web_state(request).read(get_tenant, tenant_id)
    except NotFoundError:
        not_found()
    return render(
        request,
        "people/confirm_suspend_tenant.html",
        section="tenants",
        title=f"Suspend {tenant.name}",
        tenant=tenant,
    )


def _suspension_view(suspended: bool) -> Any:
    async def view(request: Request, _viewer: Viewer) -> Response:
        tenant_id = path_id(request, "tenant_id")
        if suspended and request.method == "GET":
            return await _confirm_suspension(request, tenant_id)
        form = await form_of(request)
        if suspended and form.get("confirmed") != "1":
            return RedirectResponse(f"/admin/tenants/{tenant_id}/suspend", status_code=303)
        try:
            tenant = await web_state(request).write(suspend_tenant, tenant_id, suspended)
        except NotFoundError:
            not_found()
        flash(request, _suspension_message(tenant, suspended))
        return RedirectResponse("/admin/tenants", status_code=303)

    view.__name__ = "suspend_tenant" if suspended else "unsuspend_tenant"
    return view


ROUTES: list[BaseRoute] = [
    Route("/admin/tenants", admin_page(tenants_page)),
    Route("/admin/tenants/new", admin_page(new_tenant_page), methods=["GET", "POST"]),
    Route(
        "/admin/tenants/{tenant_id}/suspend",
        admin_page(_suspension_view(True)),
        methods=["GET", "POST"],
    ),
    Route(
        "/admin/tenants/{tenant_id}/unsuspend",
        admin_page(_suspension_view(False)),
        methods=["POST"],
    ),
]
