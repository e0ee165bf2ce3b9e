"""API client pages: list, add, view, edit and per-client settings (the actions on one
client are in ``client_actions``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.auth import clients as service
from extapi.auth.account_states import (
    MAX_CANDIDATES,
    AccountState,
    account_candidates,
    account_state,
    client_health,
    clients_with_health,
    count_candidates,
)
from extapi.auth.service_accounts import STATUS_MESSAGES, VALID
from extapi.errors import ExtapiError, NotFoundError, ValidationError
from extapi.http import site_address
from extapi.people.tenants import list_tenants
from extapi.settings.site import load_site_settings
from extapi.web.auth import Viewer, admin_page, flash, form_of
from extapi.web.client_forms import (
    SYSTEM_KEY,
    ClientForm,
    SettingsForm,
    parse_client_form,
    parse_settings_form,
    tenant_choice,
)
from extapi.web.client_usage import usage_context
from extapi.web.state import web_state
from extapi.web.templating import render
from extapi.web.views import client_actions
from extapi.web.views.client_actions import client_not_found, render_secret
from extapi.web.views.people_support import positive_int

__all__ = ["ROUTES"]


@dataclass
class Listing:
    clients: list[dict[str, Any]]
    site: Any
    tenants: list[dict[str, Any]] = field(default_factory=list)
    # "" every client, "0" the system's, else a tenant's id (Totara's ?tenant_id=)
    tenant_filter: str = ""
    tenant: dict[str, Any] | None = None
    # each client's effective status, in the order of ``clients``
    health: list[Any] = field(default_factory=list)

    @property
    def rows(self) -> list[tuple[dict[str, Any], Any]]:
        return list(zip(self.clients, self.health, strict=True))


def _listing(conn: Connection, raw_filter: str) -> Listing:
    tenants = list_tenants(conn)
    tenant = None
    tenant_id: int | None = service.EVERY_TENANT
    if raw_filter == "0":
        tenant_id = None
    else:
        wanted = positive_int(raw_filter)
        tenant = next((t for t in tenants if t["id"] == wanted), None)
        raw_filter, tenant_id = (str(wanted), wanted) if tenant else ("", service.EVERY_TENANT)
    clients, health = clients_with_health(conn, tenant_id)
    return Listing(clients, load_site_settings(conn), tenants, raw_filter, tenant, health)


async def client_list(request: Request, _viewer: Viewer) -> Response:
    raw_filter = request.query_params.get("tenant_id", "")[:12]
    listing = await web_state(request).read(_listing, raw_filter)
    return render(
        request, "clients/list.html", section="clients", title="API clients", listing=listing
    )


def _new_form_context(conn: Connection, tenant_key: str, user_id: int | None) -> dict[str, Any]:
    """The add form's data: every tenant, the chosen tenant's accounts (if one is chosen),
    the account sent (if any), and, when there are not too many, every candidate account so
    that the page's script can follow the tenant field without asking the server."""
    tenants = list_tenants(conn)
    tenant = tenant_choice(tenants, tenant_key)
    if tenant_key != SYSTEM_KEY:
        tenant_key = str(tenant["id"]) if tenant else ""
    tenant_id = tenant["id"] if tenant else None
    every = None
    if count_candidates(conn) <= MAX_CANDIDATES:
        every = account_candidates(conn)
    accounts: list[AccountState] = []
    if tenant_key:
        accounts = account_candidates(conn, tenant_id, every_tenant=False)
    return {
        "tenants": tenants,
        "tenant": tenant,
        "tenant_key": tenant_key,
        "system_key": SYSTEM_KEY,
        "all_accounts": every,
        "accounts": accounts,
        "chosen": account_state(conn, user_id),
    }


def _wrong_tenant(form: ClientForm, context: dict[str, Any]) -> str | None:
    """Why the chosen account can not serve a client of the chosen tenant, in words, when it
    belongs to another one (the service refuses it too; this only says it plainly)."""
    chosen: AccountState | None = context["chosen"]
    tenant = context["tenant"]
    if chosen is None or chosen.tenant_id == (tenant["id"] if tenant else None):
        return None
    names = {t["id"]: t["name"] for t in context["tenants"]}
    home = names.get(chosen.tenant_id, "System") if chosen.tenant_id else "System"
    wanted = tenant["name"] if tenant else "System"
    return (
        f"{chosen.display_name} belongs to {home}, not to {wanted}: "
        f"choose one of {wanted}'s accounts."
    )


def _new_form_errors(form: ClientForm, context: dict[str, Any]) -> list[str]:
    errors = list(form.errors)
    if form.tenant_key and not context["tenant_key"]:
        errors.insert(0, "Choose System or a tenant from the list.")
    elif context["tenant_key"] and form.user_id is not None:
        problem = _wrong_tenant(form, context)
        if problem:
            errors.append(problem)
    return errors


async def client_new(request: Request, _viewer: Viewer) -> Response:
    state = web_state(request)
    if request.method == "GET":
        tenant_key = request.query_params.get("tenant", "")[:20]
        context = await state.read(_new_form_context, tenant_key, None)
        return _render_form(request, "clients/new.html", context, ClientForm())
    form = parse_client_form(await form_of(request))
    context = await state.read(_new_form_context, form.tenant_key, form.user_id)
    if form.showing_accounts:
        form.tenant_key = context["tenant_key"]
        if all(a.user_id != form.user_id for a in context["accounts"]):
            form.user_id = None
        return _render_form(request, "clients/new.html", context, form)
    form.errors = _new_form_errors(form, context)
    form.tenant_key = context["tenant_key"]
    if form.errors:
        return _render_form(request, "clients/new.html", context, form, 400)
    try:
        row, secret = await state.write(_add, form, context, state.runtime.hasher)
    except ExtapiError as exc:
        form.errors.append(exc.message)
        return _render_form(request, "clients/new.html", context, form, 400)
    return render_secret(request, row, secret, created=True)


def _add(conn: Connection, form: ClientForm, context: dict[str, Any], hasher: Any) -> Any:
    if not context["tenant_key"]:  # never a System client by default
        raise ValidationError("Choose System or a tenant.")
    site = load_site_settings(conn)
    tenant = context["tenant"]
    new = service.NewClient(
        form.name, form.user_id, tenant["id"] if tenant else None, form.description, form.enabled
    )
    return service.add_client(conn, hasher, site, new)


def _render_form(
    request: Request,
    template: str,
    context: dict[str, Any],
    form: ClientForm,
    status: int = 200,
) -> Response:
    title = "Add API client" if template.endswith("new.html") else "Edit API client"
    return render(
        request,
        template,
        status=status,
        section="clients",
        title=title,
        form=form,
        errors=form.errors,
        **context,
    )


def _detail(conn: Connection, client_id: str) -> dict[str, Any]:
    client = service.get_client(conn, client_id)
    site = load_site_settings(conn)
    health = client_health(conn, client)
    status = health.account.status
    return {
        "client": client,
        "site": site,
        "health": health,
        "account_status": status,
        "account_message": STATUS_MESSAGES.get(status, status),
        "account_valid": health.account.status == VALID,
        "over_site_limit": service.exceeds_site_limit(client, site),
        **usage_context(conn, client, site),
    }


async def _client_or_404(request: Request, work: Any, *args: Any) -> Any:
    try:
        return await web_state(request).read(work, request.path_params["client_id"], *args)
    except NotFoundError:
        return None


async def client_detail(request: Request, _viewer: Viewer) -> Response:
    detail = await _client_or_404(request, _detail)
    if detail is None:
        return client_not_found(request)
    return _render_detail(request, detail, SettingsForm.of(detail["client"]), [])


def _render_detail(
    request: Request,
    detail: dict[str, Any],
    settings: SettingsForm,
    errors: list[str],
    status: int = 200,
) -> Response:
    base_url = web_state(request).runtime.config.public_url or site_address(request.scope)
    return render(
        request,
        "clients/detail.html",
        status=status,
        section="clients",
        title=detail["client"]["name"],
        settings=settings,
        errors=errors,
        base_url=base_url,
        rate_limit_warning=service.RATE_LIMIT_WARNING,
        **detail,
    )


async def client_settings(request: Request, _viewer: Viewer) -> Response:
    state = web_state(request)
    detail = await _client_or_404(request, _detail)
    if detail is None:
        return client_not_found(request)
    form = parse_settings_form(await form_of(request))
    if not form.errors:
        change = service.ClientSettingsChange(
            form.rate_limit, form.token_expiry, form.error_response, form.allowed_ips
        )
        try:
            row = await state.write(
                service.update_client_settings, detail["client"]["client_id"], change
            )
        except ExtapiError as exc:
            form.errors.append(exc.message)
        else:
            flash(request, "Client settings saved.")
            if service.exceeds_site_limit(row, detail["site"]):
                flash(request, service.RATE_LIMIT_WARNING)
            return RedirectResponse(f"/admin/clients/{row['client_id']}#settings", status_code=303)
    if form.allowed_ips is None:  # not sent: show the list as it stays
        form.allowed_ips = "\n".join(detail["client"]["allowed_ips"])
    return _render_detail(request, detail, form, form.errors, 400)


def _edit_context(conn: Connection, client_id: str, search: str) -> dict[str, Any]:
    client = service.get_client(conn, client_id)
    accounts = account_candidates(conn, client["tenant_id"], every_tenant=False, search=search)
    current = client_health(conn, client).account
    if current.user_id is not None and all(a.user_id != current.user_id for a in accounts):
        accounts.insert(0, current)
    return {"client": client, "accounts": accounts, "account_search": search}


async def client_edit(request: Request, _viewer: Viewer) -> Response:
    state = web_state(request)
    search = request.query_params.get("account_q", "")[:100]
    context = await _client_or_404(request, _edit_context, search)
    if context is None:
        return client_not_found(request)
    client = context["client"]
    if request.method == "GET":
        form = ClientForm(client["name"], client["description"], client["user_id"])
        return _render_form(request, "clients/edit.html", context, form)
    form = parse_client_form(await form_of(request), editing=True)
    if not form.errors:
        try:
            await state.write(
                service.update_client,
                client["client_id"],
                form.name,
                form.description,
                form.user_id,
            )
        except ExtapiError as exc:
            form.errors.append(exc.message)
        else:
            flash(request, "Client updated.")
            return RedirectResponse(f"/admin/clients/{client['client_id']}", status_code=303)
    return _render_form(request, "clients/edit.html", context, form, 400)


async def totara_client_address(request: Request) -> Response:
    """Totara's address of the client list; ``?tenant_id=N`` selects a tenant's clients."""
    wanted = positive_int(request.query_params.get("tenant_id"))
    target = f"/admin/clients?tenant_id={wanted}" if wanted else "/admin/clients"
    return RedirectResponse(target, status_code=301)


ROUTES: list[BaseRoute] = [
    Route("/totara/api/client/", totara_client_address),
    Route("/totara/api/client/index.php", totara_client_address),
    Route("/admin/clients", admin_page(client_list)),
    Route("/admin/clients/new", admin_page(client_new), methods=["GET", "POST"]),
    Route("/admin/clients/{client_id}", admin_page(client_detail)),
    Route("/admin/clients/{client_id}/edit", admin_page(client_edit), methods=["GET", "POST"]),
    Route("/admin/clients/{client_id}/settings", admin_page(client_settings), methods=["POST"]),
    *client_actions.ROUTES,
]
