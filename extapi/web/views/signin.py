"""Sign-in and sign-out."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from extapi.addresses import AddressList, client_address
from extapi.auth.signin import SignInRefused, sign_in, sign_out, signed_out_at
from extapi.people.users import is_site_admin
from extapi.web.auth import (
    CsrfRejected,
    Viewer,
    check_csrf,
    current_viewer,
    form_of,
    keep_session,
    same_origin,
)
from extapi.web.sessions import COOKIE_NAME
from extapi.web.state import web_state
from extapi.web.templating import render

__all__ = ["signin_page", "signout"]

MAX_CREDENTIAL_CHARS = 1024


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an absolute or protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/admin/"
    return target


def home_for(viewer: Viewer) -> str:
    return "/admin/" if viewer.is_admin else "/totara/api/documentation/"


class _Attempt:
    def __init__(self) -> None:
        self.user: Any = None
        self.admin = False
        self.started = 0
        self.error: str | None = None


def _try_sign_in(engine: Engine, username: str, password: str, address: str) -> _Attempt:
    attempt = _Attempt()
    try:
        attempt.user = sign_in(engine, username, password, address, int(time.time()))
    except SignInRefused as exc:
        attempt.error = exc.message
        return attempt
    with engine.connect() as conn:
        attempt.admin = is_site_admin(conn, attempt.user.id)
        attempt.started = max(int(time.time()), signed_out_at(conn, attempt.user.id) + 1)
    return attempt


def _address(request: Request, trusted: AddressList) -> str:
    """The address failures are counted against: the browser's, behind a trusted proxy too
    (EXTAPI_TRUSTED_PROXIES); the peer's own text when it is no IP address."""
    found = client_address(request.scope, trusted)
    if found is not None:
        return str(found)
    return request.client.host if request.client else "unknown"


async def signin_page(request: Request) -> Response:
    viewer = await current_viewer(request)
    next_path = _safe_next(request.query_params.get("next"))
    if request.method == "GET":
        if viewer is not None:
            return RedirectResponse(home_for(viewer) if next_path == "/admin/" else next_path, 303)
        return render(request, "signin.html", next=next_path, title="Sign in")
    if not same_origin(request):
        # A sign-in posted from another site would sign this browser in to the attacker's account.
        return render(
            request,
            "signin.html",
            status=403,
            next=next_path,
            title="Sign in",
            error="Sign in from this site's own sign-in page.",
        )
    form = await form_of(request)
    username = str(form.get("username") or "")[:MAX_CREDENTIAL_CHARS]
    password = str(form.get("password") or "")[:MAX_CREDENTIAL_CHARS]
    next_path = _safe_next(str(form.get("next") or ""))
    state = web_state(request)
    address = _address(request, state.runtime.trusted_proxies)
    attempt = await run_in_threadpool(
        _try_sign_in, state.runtime.engine, username, password, address
    )
    if attempt.error is not None:
        return render(
            request,
            "signin.html",
            status=401,
            error=attempt.error,
            username=username,
            next=next_path,
            title="Sign in",
        )
    session = state.codec.start(attempt.user.id, attempt.user.password, attempt.started)
    request.state.session = session
    home = "/admin/" if attempt.admin else "/totara/api/documentation/"
    target = home if next_path == "/admin/" else next_path
    response = RedirectResponse(target, status_code=303)
    keep_session(request, response, session)
    return response


async def signout(request: Request) -> Response:
    viewer = await current_viewer(request)
    try:
        await check_csrf(request)
    except CsrfRejected:
        return RedirectResponse("/login", status_code=303)
    if viewer is not None:
        await web_state(request).write(sign_out, viewer.user_id, int(time.time()))
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
