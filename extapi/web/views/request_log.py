"""The request log pages: every client's log, one client's log, and one request in full.
Admin-only; filters in the query string; a bad filter is answered 400 with the form and the
reason."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from extapi.auth import clients as service
from extapi.errors import NotFoundError, ValidationError
from extapi.requestlog.browse import Cursor, LogFilter, LogPage, log_entry, log_page, parse_filter
from extapi.web.auth import Viewer, admin_page
from extapi.web.state import web_state
from extapi.web.templating import render
from extapi.web.views.client_actions import client_not_found

__all__ = ["ROUTES"]

OUTCOME_CHOICES = [
    ("all", "All outcomes"),
    ("errors", "Errors"),
    ("rate_limited", "Rate limited (429)"),
    ("refused", "Refused (address, account or disabled client)"),
]


def _page_of(
    conn: Connection, client_id: str | None, flt: LogFilter, before: Cursor | None
) -> tuple[dict[str, Any] | None, LogPage]:
    client = None if client_id is None else service.get_client(conn, client_id)
    return client, log_page(conn, flt, None if client is None else int(client["id"]), before)


async def _log_view(request: Request, client_id: str | None) -> Response:
    params = request.query_params
    error = None
    flt = LogFilter()
    before = None
    try:
        flt = parse_filter(params)
        raw_before = params.get("before", "")
        before = Cursor.parse(raw_before) if raw_before else None
    except ValidationError as exc:
        error = exc.message
        flt = LogFilter(raw={k: str(params.get(k, ""))[:200] for k in _FILTER_FIELDS})
    try:
        client, page = await web_state(request).read(
            _page_of, client_id, flt if error is None else LogFilter(), before
        )
    except NotFoundError:
        return client_not_found(request)
    if error is not None:
        page = LogPage([], None)
    base = request.url.path
    next_href = None
    if page.next is not None:
        next_href = f"{base}?{urlencode(flt.query({'before': str(page.next)}))}"
    title = f"Request log: {client['name']}" if client else "Request log"
    return render(
        request,
        "requestlog/list.html",
        status=400 if error else 200,
        section="requests" if client is None else "clients",
        title=title,
        client=client,
        page=page,
        flt=flt,
        error=error,
        paged=before is not None,
        first_href=f"{base}?{urlencode(flt.query())}" if flt.query() else base,
        next_href=next_href,
        outcome_choices=OUTCOME_CHOICES,
    )


_FILTER_FIELDS = ("outcome", "operation", "since", "until")


async def site_log(request: Request, _viewer: Viewer) -> Response:
    return await _log_view(request, None)


async def client_log(request: Request, _viewer: Viewer) -> Response:
    return await _log_view(request, request.path_params["client_id"])


def _entry_of(conn: Connection, client_id: str, entry_id: int) -> Any:
    client = service.get_client(conn, client_id)
    return client, log_entry(conn, int(client["id"]), entry_id)


def _not_logged(request: Request) -> Response:
    return render(
        request,
        "error.html",
        status=404,
        title="Request not found",
        message="This client has no logged request with this number (old requests are pruned).",
    )


async def request_detail(request: Request, _viewer: Viewer) -> Response:
    raw = request.path_params["entry_id"]
    if not raw.isdigit() or len(raw) > 19:
        return _not_logged(request)
    try:
        client, entry = await web_state(request).read(
            _entry_of, request.path_params["client_id"], int(raw)
        )
    except NotFoundError:
        return client_not_found(request)
    if entry is None:
        return _not_logged(request)
    return render(
        request,
        "requestlog/detail.html",
        section="clients",
        title=f"Request {entry.id}",
        client=client,
        entry=entry,
    )


ROUTES: list[BaseRoute] = [
    Route("/admin/requests", admin_page(site_log)),
    Route("/admin/clients/{client_id}/requests", admin_page(client_log)),
    Route("/admin/clients/{client_id}/requests/{entry_id}", admin_page(request_detail)),
]
