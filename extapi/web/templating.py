"""``render``: a template with what every page needs (viewer, CSRF token, messages)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from extapi.web.auth import session_of, take_flash
from extapi.web.state import web_state

__all__ = ["render"]


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    state = web_state(request)
    session = session_of(request)
    viewer = request.scope.get("state", {}).get("viewer")
    page = state.templates.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=session.csrf if session is not None else "",
        messages=take_flash(request),
        **context,
    )
    return HTMLResponse(page, status_code=status)
