"""Request parsing shared by the people pages: ids in paths, numbers in query strings, text
fields of a form, where to go back to after an action, and paging links."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request

from extapi.people.directory import UserPage

__all__ = [
    "not_found",
    "path_id",
    "positive_int",
    "text_fields",
    "back_target",
    "current_address",
    "page_links",
]

_ID = re.compile(r"[0-9]{1,9}")
MAX_FIELD_LENGTH = 1000
_BACK_PREFIXES = ("/admin/users", "/admin/tenants")


def not_found() -> NoReturn:
    """Answer with the site's 404 page."""
    raise HTTPException(404)


def positive_int(raw: str | None) -> int | None:
    """A positive id or page number from a query string or form, or None when it is not one.
    Nine digits at most, so that it always fits an INTEGER column."""
    if raw is None or not _ID.fullmatch(raw) or int(raw) == 0:
        return None
    return int(raw)


def path_id(request: Request, name: str) -> int:
    """The numeric id in the path, or the 404 page for anything else."""
    value = positive_int(request.path_params.get(name))
    if value is None:
        not_found()
    return value


def text_fields(form: FormData, names: Iterable[str]) -> dict[str, str]:
    """The named fields as text (missing or file fields become ""), cut to a sane length."""
    values: dict[str, str] = {}
    for name in names:
        raw = form.get(name)
        values[name] = raw[:MAX_FIELD_LENGTH] if isinstance(raw, str) else ""
    return values


def back_target(form: Mapping[str, Any], default: str) -> str:
    """Where to send the browser after an action: the page it came from, when that is one of
    the people pages of this site (never another host), else ``default``."""
    raw = form.get("back")
    if (
        isinstance(raw, str)
        and raw.startswith(_BACK_PREFIXES)
        and len(raw) <= 2000
        and not any(c in raw for c in "\\\r\n")
    ):
        return raw
    return default


def current_address(request: Request) -> str:
    """The path and query of this request, for a form's ``back`` field."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def page_links(request: Request, found: UserPage) -> tuple[str | None, str | None]:
    """Addresses of the previous and next pages, keeping the other query parameters."""
    params = {k: v for k, v in request.query_params.items() if k != "page"}

    def link(page: int) -> str:
        query = urlencode({**params, "page": str(page)} if page > 1 else params)
        return request.url.path + (f"?{query}" if query else "")

    page = found.search.page
    previous = link(page - 1) if found.has_previous else None
    following = link(page + 1) if found.has_next else None
    return previous, following
