"""Who is looking at a page, and the decorators that guard every admin view.

``admin_page`` turns ``view(request, viewer)`` into a Starlette endpoint that:
- redirects anonymous visitors to the sign-in page (remembering where they were going);
- answers 403 to a signed-in user who is not a site administrator;
- checks the CSRF token (and the Origin header, when sent) on every POST;
- re-signs the session cookie when it changed (flash messages, idle refresh).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from extapi.auth.signin import account_usable, may_view_documentation, signed_out_at
from extapi.db.tables import users
from extapi.people.users import is_site_admin
from extapi.web.sessions import COOKIE_NAME, IDLE_SECONDS, REFRESH_SECONDS, Session
from extapi.web.state import web_state

__all__ = [
    "Viewer",
    "View",
    "admin_page",
    "current_viewer",
    "form_of",
    "flash",
    "keep_session",
    "CsrfRejected",
    "same_origin",
    "MAX_FORM_FIELDS",
]

MAX_FORM_FIELDS = 200
MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Viewer:
    user_id: int
    username: str
    fullname: str
    tenant_id: int | None
    is_admin: bool
    can_view_docs: bool


View = Callable[[Request, Viewer], Awaitable[Response]]


class CsrfRejected(Exception):
    """A POST without the session's CSRF token, or from another origin."""


def _load_viewer(conn: Connection, session: Session, fingerprint: Callable[[str], str]) -> Any:
    user = conn.execute(select(users).where(users.c.id == session.user_id)).first()
    if user is None or not user.password or not account_usable(conn, user):
        return None
    if not hmac.compare_digest(fingerprint(user.password), session.fingerprint):
        return None  # the password changed since this session began
    if session.started <= signed_out_at(conn, user.id):
        return None
    admin = is_site_admin(conn, user.id)
    docs = admin or may_view_documentation(conn, user.id, user.tenant_id)
    if not docs:
        return None
    name = f"{user.firstname} {user.lastname}".strip()
    return Viewer(user.id, user.username, name, user.tenant_id, admin, docs)


async def current_viewer(request: Request) -> Viewer | None:
    """The signed-in user (cached on the request), or None."""
    if "viewer" in request.scope.get("state", {}):
        viewer: Viewer | None = request.state.viewer
        return viewer
    state = web_state(request)
    session = state.codec.decode(request.cookies.get(COOKIE_NAME), int(time.time()))
    viewer = None
    if session is not None:
        viewer = await state.read(_load_viewer, session, state.codec.fingerprint)
    request.state.session = session if viewer is not None else None
    request.state.viewer = viewer
    return viewer


def session_of(request: Request) -> Session | None:
    session: Session | None = request.scope.get("state", {}).get("session")
    return session


def flash(request: Request, message: str) -> None:
    """Show ``message`` once, on the next page this browser renders."""
    session = session_of(request)
    if session is not None:
        request.state.session = session.with_flash(message)
        request.state.session_changed = True


def take_flash(request: Request) -> list[str]:
    session = session_of(request)
    if session is None or not session.flash:
        return []
    request.state.session = session.without_flash()
    request.state.session_changed = True
    return session.flash


def keep_session(request: Request, response: Response, session: Session | None = None) -> None:
    """Write the session cookie when it was started or changed, or is due a refresh."""
    state = request.scope.setdefault("state", {})
    if session is None:
        session = state.get("session")
        if session is None:
            return
        now = int(time.time())
        if not state.get("session_changed") and now - session.seen < REFRESH_SECONDS:
            return
        session = session.touched(now)
    response.set_cookie(
        COOKIE_NAME,
        web_state(request).codec.encode(session),
        max_age=IDLE_SECONDS,
        path="/",
        secure=_is_https(request),
        httponly=True,
        samesite="strict",
    )


def _is_https(request: Request) -> bool:
    public = web_state(request).runtime.config.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


async def form_of(request: Request) -> FormData:
    """The posted form, with NUL characters removed (PostgreSQL can not store them)."""
    form = await request.form(
        max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
    )
    if not any(isinstance(v, str) and "\x00" in v for v in form.values()):
        return form
    return FormData(
        [(k, v.replace("\x00", "") if isinstance(v, str) else v) for k, v in form.multi_items()]
    )


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "")


async def check_csrf(request: Request) -> None:
    session = session_of(request)
    form = await form_of(request)
    token = form.get("csrf_token")
    if session is None or not isinstance(token, str) or not same_origin(request):
        raise CsrfRejected()
    if not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise CsrfRejected()


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def guarded(
    view: View, allowed: Callable[[Viewer], bool]
) -> Callable[[Request], Awaitable[Response]]:
    from extapi.web.templating import render

    async def endpoint(request: Request) -> Response:
        viewer = await current_viewer(request)
        if viewer is None:
            return sign_in_redirect(request)
        if not allowed(viewer):
            return render(
                request,
                "error.html",
                status=403,
                title="Access denied",
                message="Only site administrators can use this page.",
            )
        if request.method == "POST":
            try:
                await check_csrf(request)
            except CsrfRejected:
                return render(
                    request,
                    "error.html",
                    status=403,
                    title="Form expired",
                    message="This form could not be accepted because its security "
                    "token is missing or stale. Reload the page and try again.",
                )
        response = await view(request, viewer)
        keep_session(request, response)
        return response

    endpoint.__name__ = getattr(view, "__name__", "endpoint")
    return endpoint


def admin_page(view: View) -> Callable[[Request], Awaitable[Response]]:
    return guarded(view, lambda viewer: viewer.is_admin)
