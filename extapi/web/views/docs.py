"""The API documentation: one page generated from the live schema, and the schema as SDL.

Who may read them: a signed-in user who may view the documentation (site administrators and
holders of ``totara/api:viewdocumentation``), or an API client whose service account holds
that capability, by sending its bearer token (handy for code generators in CI).

The parts of the page that depend only on the schema are rendered once per schema object and
kept with the app; each request renders only the header, the intro (it shows the site's own
URL) and any search results around them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from graphql import GraphQLSchema, print_schema
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.apidocs import Reference, build_index, describe, reference_for, search
from extapi.apidocs.changelog import CHANGELOG_PAGE, changelog_document
from extapi.apidocs.guide import guide_entries
from extapi.apidocs.search import MAX_QUERY_CHARS, Entry
from extapi.auth.signin import may_view_documentation
from extapi.auth.tokens import authenticate
from extapi.errors import AuthenticationError
from extapi.graphql.endpoint import bearer_token
from extapi.http import site_address
from extapi.schema_versions import CHANGELOG_PATH
from extapi.web.auth import Viewer, guarded
from extapi.web.state import WebState, web_state
from extapi.web.templating import render

__all__ = [
    "ROUTES",
    "DOCS_PATH",
    "SDL_PATH",
    "SDL_FILE_PATH",
    "SDL_FILENAME",
    "EXPLORER_PATH",
    "docs_access",
]

DOCS_PATH = "/totara/api/documentation/"
SDL_PATH = "/totara/api/documentation/schema.php"
SDL_FILENAME = "totara_api-current.graphqls"
# The same SDL at an address ending in .graphqls, which schema tools (graphql-codegen's URL
# loader, editors) read as SDL without being told to.
SDL_FILE_PATH = DOCS_PATH + SDL_FILENAME
EXPLORER_PATH = DOCS_PATH + "explorer"
CAPABILITY = "totara/api:viewdocumentation"
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class _Rendered:
    """Everything about the documentation that depends only on the schema."""

    schema: GraphQLSchema
    reference: Reference
    index: tuple[Entry, ...]
    contents: Markup
    body: Markup
    sdl: bytes


def _guide_index(state: WebState) -> tuple[Entry, ...]:
    """The guide sections as search entries; the site's address does not matter to search."""
    context = {"site_url": "", "sdl_path": SDL_PATH, "changelog_path": CHANGELOG_PAGE}
    return guide_entries(state.templates.get_template("docs/_intro.html").render(context))


def _render_schema_parts(state: WebState) -> _Rendered:
    reference = reference_for(state.schema)
    context = {
        "ref": reference,
        "describe": partial(describe, links=reference.links),
        "changelog_path": CHANGELOG_PAGE,
        "explorer_path": EXPLORER_PATH,
    }
    templates = state.templates
    index = _guide_index(state) + build_index(reference)
    return _Rendered(
        schema=state.schema,
        reference=reference,
        index=index + changelog_document(CHANGELOG_PATH).entries,
        contents=Markup(templates.get_template("docs/_contents.html").render(context)),
        body=Markup(templates.get_template("docs/_reference.html").render(context)),
        sdl=print_schema(state.schema).encode(),
    )


def _rendered(request: Request) -> _Rendered:
    state = web_state(request)
    cached: _Rendered | None = getattr(request.app.state, "api_docs", None)
    if cached is None or cached.schema is not state.schema:
        cached = _render_schema_parts(state)
        request.app.state.api_docs = cached
    return cached


def site_url(request: Request) -> str:
    """The configured public URL, else the scheme and host this request came to."""
    return web_state(request).runtime.config.public_url or site_address(request.scope)


# --- pages ------------------------------------------------------------------------------------
async def documentation(request: Request) -> Response:
    rendered = _rendered(request)
    asked = request.query_params.get("q", "")
    results = search(rendered.index, asked) if asked.strip() else None
    return render(
        request,
        "docs/page.html",
        title="API documentation",
        section="docs",
        site_url=site_url(request),
        docs_path=DOCS_PATH,
        sdl_path=SDL_PATH,
        changelog_path=CHANGELOG_PAGE,
        explorer_path=EXPLORER_PATH,
        contents=rendered.contents,
        body=rendered.body,
        results=results,
        shortened=len(asked) > MAX_QUERY_CHARS,
        max_query_chars=MAX_QUERY_CHARS,
    )


async def schema_download(request: Request) -> Response:
    return Response(
        _rendered(request).sdl,
        media_type="text/plain",
        headers={"Content-Disposition": f'attachment; filename="{SDL_FILENAME}"'},
    )


# --- access -----------------------------------------------------------------------------------
def _uses_bearer(request: Request) -> bool:
    return request.headers.get("authorization", "").lstrip().lower().startswith("bearer")


async def _token_refusal(request: Request) -> Response | None:
    """None when the bearer token's service account may read the documentation, else the
    401 (bad token) or 403 (no capability, or the API is turned off) to send."""
    state = web_state(request)
    runtime = state.runtime
    # On the event loop, like the GraphQL endpoint: the token check is built for that.
    found = runtime.tokens.check(bearer_token(request.headers["authorization"]))
    try:
        caller = authenticate(found, True, int(time.time()))
    except AuthenticationError:
        return PlainTextResponse(
            "The access token is missing, expired or invalid. Request a new token.",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="extapi", error="invalid_token"'},
        )
    if not runtime.settings_at(found.revision).api_enabled:
        return PlainTextResponse("The API is turned off on this site.", status_code=403)
    if not await state.read(may_view_documentation, caller.user_id, caller.tenant_id):
        return PlainTextResponse(
            f"This client's service account needs the {CAPABILITY} capability "
            "to read the API documentation.",
            status_code=403,
        )
    return None


def docs_access(page: Endpoint) -> Endpoint:
    """A bearer token when one is sent, else the browser session."""

    async def as_viewer(request: Request, _viewer: Viewer) -> Response:
        return await page(request)

    for_session = guarded(as_viewer, lambda viewer: viewer.can_view_docs)

    async def endpoint(request: Request) -> Response:
        if not _uses_bearer(request):
            return await for_session(request)
        refusal = await _token_refusal(request)
        return refusal if refusal is not None else await page(request)

    endpoint.__name__ = page.__name__
    return endpoint


_page = docs_access(documentation)
_download = docs_access(schema_download)

ROUTES: list[BaseRoute] = [
    Route(DOCS_PATH, _page, methods=["GET"]),
    Route(DOCS_PATH.rstrip("/"), _page, methods=["GET"]),
    Route(DOCS_PATH + "index.php", _page, methods=["GET"]),
    Route(SDL_PATH, _download, methods=["GET"]),
    Route(SDL_FILE_PATH, _download, methods=["GET"]),
]
