"""Users pages: search, add, suspend, and the API User role (tenants pages are in
:mod:`extapi.web.views.tenant_pages`). Thin views: each parses the request, calls a service
of :mod:`extapi.people.directory` or :mod:`extapi.people.admin_actions`, then renders a
template or redirects (Post/Redirect/Get)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.errors import NotFoundError, ValidationError
from extapi.people.admin_actions import (
    RoleChange,
    add_user,
    change_apiuser_role,
    suspend_user,
)
from extapi.people.directory import (
    MAX_QUERY_LENGTH,
    NO_TENANT,
    DirectoryUser,
    UserPage,
    UserSearch,
    get_directory_user,
    search_users,
)
from extapi.people.tenants import list_tenants
from extapi.people.users import NewUser
from extapi.web.auth import Viewer, admin_page, flash, form_of
from extapi.web.state import web_state
from extapi.web.templating import render
from extapi.web.views import tenant_pages
from extapi.web.views.people_support import (
    back_target,
    current_address,
    not_found,
    page_links,
    path_id,
    positive_int,
    text_fields,
)

__all__ = ["ROUTES"]

USER_FIELDS = (
    "username",
    "email",
    "firstname",
    "lastname",
    "password",
    "idnumber",
    "tenant",
    "apiuser",
)


def _search_of(request: Request) -> UserSearch:
    params = request.query_params
    tenant = params.get("tenant", "")
    tenant_id = NO_TENANT if tenant == "none" else positive_int(tenant)
    page = positive_int(params.get("page")) or 1
    return UserSearch(params.get("q", "")[: MAX_QUERY_LENGTH * 2], tenant_id, page)


async def users_page(request: Request, _viewer: Viewer) -> Response:
    state = web_state(request)
    found: UserPage = await state.read(search_users, _search_of(request))
    previous, following = page_links(request, found)
    return render(
        request,
        "people/users.html",
        section="users",
        title="Users",
        found=found,
        tenants=await state.read(list_tenants),
        tenant_filter=request.query_params.get("tenant", ""),
        previous=previous,
        following=following,
        back=current_address(request),
    )


def _new_user_form(
    request: Request, values: dict[str, str], tenants: Any, errors: list[str], status: int = 200
) -> Response:
    return render(
        request,
        "people/user_new.html",
        status=status,
        section="users",
        title="Add a user",
        values=values,
        tenants=tenants,
        errors=errors,
    )


def _new_user(values: dict[str, str]) -> NewUser:
    return NewUser(
        username=values["username"],
        email=values["email"],
        firstname=values["firstname"],
        lastname=values["lastname"],
        password=values["password"] or None,
        idnumber=values["idnumber"],
        tenant_id=positive_int(values["tenant"]),
    )


async def new_user_page(request: Request, _viewer: Viewer) -> Response:
    state = web_state(request)
    tenants = await state.read(list_tenants)
    if request.method == "GET":
        return _new_user_form(request, {}, tenants, [])
    values = text_fields(await form_of(request), USER_FIELDS)
    new = _new_user(values)
    try:
        if values["tenant"] and new.tenant_id is None:
            raise ValidationError("Choose a tenant from the list.")
        user_id = await state.write(add_user, new, values["apiuser"] == "1")
    except ValidationError as exc:
        values["password"] = ""  # a password is never sent back to the browser
        return _new_user_form(request, values, tenants, [exc.message], 400)
    flash(request, f"User {new.username} added.")
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


def _user_page(
    request: Request, user: DirectoryUser, errors: list[str] | None = None, status: int = 200
) -> Response:
    return render(
        request,
        "people/user.html",
        status=status,
        section="users",
        title=user.fullname or user.username,
        user=user,
        errors=errors or [],
        back=f"/admin/users/{user.id}",
    )


async def _load_user(request: Request) -> DirectoryUser:
    try:
        user: DirectoryUser = await web_state(request).read(
            get_directory_user, path_id(request, "user_id")
        )
    except NotFoundError:
        not_found()
    return user


async def user_page(request: Request, _viewer: Viewer) -> Response:
    return _user_page(request, await _load_user(request))


async def _refused(request: Request, exc: ValidationError) -> Response:
    """The user's page again, status 400, saying why the action was refused."""
    return _user_page(request, await _load_user(request), [exc.message], 400)


async def _confirm_suspension(request: Request) -> Response:
    """Asks before suspending: the page's form posts back here with ``confirmed``."""
    user = await _load_user(request)
    back = back_target(request.query_params, f"/admin/users/{user.id}")
    return render(
        request,
        "people/confirm_suspend_user.html",
        section="users",
        title=f"Suspend {user.fullname or user.username}",
        user=user,
        back=back,
    )


def _suspension_view(suspended: bool) -> Any:
    async def view(request: Request, viewer: Viewer) -> Response:
        user_id = path_id(request, "user_id")
        if suspended and request.method == "GET":
            return await _confirm_suspension(request)
        form = await form_of(request)
        back = back_target(form, f"/admin/users/{user_id}")
        if suspended and form.get("confirmed") != "1":
            confirm = f"/admin/users/{user_id}/suspend?{urlencode({'back': back})}"
            return RedirectResponse(confirm, status_code=303)
        try:
            user = await web_state(request).write(suspend_user, user_id, suspended, viewer.user_id)
        except NotFoundError:
            not_found()
        except ValidationError as exc:
            return await _refused(request, exc)
        done = "suspended" if suspended else "unsuspended"
        flash(request, f"{user.fullname} ({user.username}) {done}.")
        return RedirectResponse(back, status_code=303)

    view.__name__ = "unsuspend_user" if not suspended else "suspend_user"
    return view


def _role_message(change: RoleChange, assign: bool) -> str:
    user = change.user
    where = "the System context" if change.tenant_id is None else f"tenant {user.tenant_name}"
    if assign:
        done = "now holds" if change.changed else "already held"
    else:
        done = "no longer holds" if change.changed else "did not hold"
    return f"{user.fullname} ({user.username}) {done} the API User role in {where}."


async def apiuser_role(request: Request, _viewer: Viewer) -> Response:
    user_id = path_id(request, "user_id")
    form = await form_of(request)
    action, context = form.get("action"), form.get("context")
    try:
        if action not in ("assign", "unassign"):
            raise ValidationError("Choose whether to assign or unassign the API User role.")
        change = await web_state(request).write(
            change_apiuser_role,
            user_id,
            action == "assign",
            context if isinstance(context, str) else None,
        )
    except NotFoundError:
        not_found()
    except ValidationError as exc:
        return await _refused(request, exc)
    flash(request, _role_message(change, action == "assign"))
    return RedirectResponse(back_target(form, f"/admin/users/{user_id}"), status_code=303)


ROUTES: list[BaseRoute] = [
    Route("/admin/users", admin_page(users_page)),
    Route("/admin/users/new", admin_page(new_user_page), methods=["GET", "POST"]),
    Route("/admin/users/{user_id}", admin_page(user_page)),
    Route(
        "/admin/users/{user_id}/suspend",
        admin_page(_suspension_view(True)),
        methods=["GET", "POST"],
    ),
    Route(
        "/admin/users/{user_id}/unsuspend", admin_page(_suspension_view(False)), methods=["POST"]
    ),
    Route("/admin/users/{user_id}/roles/apiuser", admin_page(apiuser_role), methods=["POST"]),
    *tenant_pages.ROUTES,
]
