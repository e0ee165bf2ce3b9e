"""The schema changelog page: what changed in the schema, version by version.

Readable by whoever may read the API documentation, with a session or a bearer token.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from extapi.apidocs.changelog import CHANGELOG_PAGE, changelog_document
from extapi.schema_versions import CHANGELOG_PATH
from extapi.web.templating import render
from extapi.web.views.docs import DOCS_PATH, SDL_PATH, docs_access

__all__ = ["ROUTES"]


async def changelog_page(request: Request) -> Response:
    return render(
        request,
        "docs/changelog.html",
        title="Schema changelog",
        section="docs",
        docs_path=DOCS_PATH,
        sdl_path=SDL_PATH,
        changelog=changelog_document(CHANGELOG_PATH).html,
    )


_page = docs_access(changelog_page)

ROUTES: list[BaseRoute] = [Route(CHANGELOG_PAGE, _page, methods=["GET"])]
