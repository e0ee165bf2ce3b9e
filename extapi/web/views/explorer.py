"""The API explorer: edit a query and its variables, run it as a chosen API client, see the
answer, its HTTP status, the complexity points it cost and the client's remaining budget.

Anyone who may read the documentation may open the page (the query is editable, with
completion from the schema); only a site administrator may run a query, by POST with the
session's CSRF token. The script on the page posts the same form and asks for JSON; without
the script the form posts normally and the answer is rendered on the page.

``?example=query-NAME`` (or ``mutation-NAME``) fills in the example of that operation from
the documentation; ``?query=...&variables=...`` fills in any text.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from extapi.apidocs import reference_for
from extapi.apidocs.model import Operation
from extapi.auth import clients as client_service
from extapi.errors import NotFoundError, ValidationError
from extapi.graphql.endpoint import GraphQLEndpoint
from extapi.web.auth import Viewer, admin_page, form_of, guarded
from extapi.web.explorer import ExplorerResult, ExplorerTokens, parse_request, run_as_client
from extapi.web.security import csp_with_style_nonce
from extapi.web.state import web_state
from extapi.web.templating import render
from extapi.web.views.docs import DOCS_PATH, EXPLORER_PATH, SDL_PATH

__all__ = ["ROUTES", "STATUS_QUERY"]

STATUS_QUERY = "query {\n  totara_webapi_status {\n    status\n    timestamp\n  }\n}\n"
# What a pre-filled address may carry; longer text is cut (the editor can take more).
MAX_PREFILL_CHARS = 20_000


def _prefill(request: Request) -> tuple[str, str, Operation | None]:
    """The query and variables to start with, and the operation they come from, if any."""
    params = request.query_params
    anchor = params.get("example", "")
    if anchor:
        reference = reference_for(web_state(request).schema)
        for op in (*reference.queries, *reference.mutations):
            if op.anchor == anchor:
                return op.example.document, op.example.variables_json, op
    query = params.get("query", "")[:MAX_PREFILL_CHARS] or STATUS_QUERY
    variables = params.get("variables", "")[:MAX_PREFILL_CHARS] or "{}"
    return query, variables, None


async def _clients(request: Request, viewer: Viewer) -> list[dict[str, object]]:
    if not viewer.is_admin:
        return []
    return await web_state(request).read(client_service.list_clients)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def explorer_page(request: Request, viewer: Viewer) -> Response:
    query, variables, example = _prefill(request)
    chosen = request.query_params.get("client", "")
    return await _page(request, viewer, query, variables, "", chosen, example)


async def _page(
    request: Request,
    viewer: Viewer,
    query: str,
    variables: str,
    operation_name: str,
    chosen: str,
    example: Operation | None = None,
    result: ExplorerResult | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    nonce = secrets.token_urlsafe(18)
    response = render(
        request,
        "docs/explorer.html",
        status=status,
        title="API explorer",
        section="docs",
        docs_path=DOCS_PATH,
        sdl_path=SDL_PATH,
        explorer_path=EXPLORER_PATH,
        clients=await _clients(request, viewer),
        chosen=chosen,
        query=query,
        variables=variables,
        operation_name=operation_name,
        example=example,
        result=result,
        error=error,
        style_nonce=nonce,
    )
    # The page's own policy: the editor's stylesheet may come in with this page's nonce.
    response.headers["content-security-policy"] = csp_with_style_nonce(nonce)
    return response


async def explorer_run(request: Request, viewer: Viewer) -> Response:
    form = {k: v for k, v in (await form_of(request)).items() if isinstance(v, str)}
    state = web_state(request)
    try:
        asked = parse_request(form)
        result = await state.runtime.threads.run(
            run_as_client, _endpoint(request), _tokens(request), request.scope, asked
        )
    except ValidationError as exc:
        return await _refused(request, viewer, form, 400, exc.message)
    except NotFoundError:
        message = "There is no API client with this id."
        return await _refused(request, viewer, form, 404, message)
    if _wants_json(request):
        return JSONResponse(result.as_json())
    return await _page(
        request,
        viewer,
        asked.query,
        form.get("variables", ""),
        asked.operation_name or "",
        asked.client_id,
        result=result,
    )


async def _refused(
    request: Request, viewer: Viewer, form: dict[str, str], status: int, message: str
) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return await _page(
        request,
        viewer,
        form.get("query", ""),
        form.get("variables", ""),
        form.get("operation_name", ""),
        form.get("client_id", ""),
        error=message,
        status=status,
    )


def _endpoint(request: Request) -> GraphQLEndpoint:
    endpoint: GraphQLEndpoint = request.app.state.graphql
    return endpoint


def _tokens(request: Request) -> ExplorerTokens:
    tokens: ExplorerTokens | None = getattr(request.app.state, "explorer_tokens", None)
    if tokens is None:
        tokens = request.app.state.explorer_tokens = ExplorerTokens()
    return tokens


_view = guarded(explorer_page, lambda viewer: viewer.can_view_docs)
_run = admin_page(explorer_run)


async def _explorer(request: Request) -> Response:
    return await (_run if request.method == "POST" else _view)(request)


ROUTES: list[BaseRoute] = [
    Route(EXPLORER_PATH, _explorer, methods=["GET", "POST"]),
]
