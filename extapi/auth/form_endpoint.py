"""The HTTP side shared by extapi's OAuth endpoints that take a form by POST.

Each endpoint answers JSON that is never cached (RFC 6749 section 5.1), refuses other methods
with 405, and turns an :class:`OAuthError` into the RFC 6749 section 5.2 error body, with the
Basic challenge HTTP requires on every 401. Each authenticates its client the same way
(:meth:`FormEndpoint.authenticate`), IP allow-list included; a request refused for its
address is written to the request log against the client.

The form is read on the event loop; decoding it and the endpoint's own work (client
authentication, database reads and writes) run in a worker thread (:mod:`extapi.threads`).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import orjson
from sqlalchemy import Connection

from extapi.auth.client_auth import (
    authenticate_client,
    check_client_address,
    credentials,
    parse_form,
)
from extapi.auth.oauth_errors import AccessDenied, InvalidRequest, OAuthError, UnauthorizedClient
from extapi.http import BodyTooLarge, Receive, Scope, Send, header, read_body, send_bytes
from extapi.ops.note import note_of
from extapi.requestlog.outcomes import IP_NOT_ALLOWED
from extapi.runtime import Runtime
from extapi.settings.site import SiteSettings

__all__ = [
    "FormEndpoint",
    "NO_STORE",
    "API_DISABLED",
    "send_error",
    "check_api_enabled",
    "required_param",
]

API_DISABLED = "'totara_api' feature is not enabled."
_CHALLENGE = b'Basic realm="extapi", charset="UTF-8"'
NO_STORE = [
    (b"content-type", b"application/json; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
]


def check_api_enabled(runtime: Runtime) -> SiteSettings:
    """With the API feature off, every OAuth endpoint answers as Totara's token endpoint."""
    site = runtime.current_settings()
    if not site.api_enabled:
        raise AccessDenied(API_DISABLED)
    return site


def required_param(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if value is None:
        raise InvalidRequest(f"Check the `{name}` parameter")
    return value


class FormEndpoint:
    """Raw ASGI app: POST a form, get JSON. Subclasses implement :meth:`handle`."""

    only_post: ClassVar[str]
    what: ClassVar[str]  # the request log's name for a request refused for its address

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            self.answered(scope, InvalidRequest.error)
            await send_error(send, InvalidRequest(self.only_post), 405, [(b"allow", b"POST")])
            return
        started = time.perf_counter()
        try:
            body = await read_body(scope, receive, self.runtime.config.max_body_bytes)
            payload = await self.runtime.threads.run(self._answer, scope, body)
        except BodyTooLarge as exc:
            self.answered(scope, InvalidRequest.error)
            await send_error(send, InvalidRequest(str(exc)), 413)
            return
        except OAuthError as exc:
            if isinstance(exc, UnauthorizedClient):
                self._log_refusal(exc, started)
            self.answered(scope, exc.error)
            challenge = [(b"www-authenticate", _CHALLENGE)] if exc.status == 401 else []
            await send_error(send, exc, exc.status, challenge)
            return
        except Exception:
            self.answered(scope, "server_error")
            raise
        self.answered(scope, None)
        await send_bytes(send, 200, orjson.dumps(payload), NO_STORE)

    def _answer(self, scope: Scope, body: bytes) -> Any:
        form = parse_form(body, header(scope, b"content-type"))
        return self.handle(scope, form, header(scope, b"authorization"))

    def handle(self, scope: Scope, form: dict[str, str], authorization: str | None) -> Any:
        raise NotImplementedError

    def authenticate(
        self,
        conn: Connection,
        scope: Scope,
        form: dict[str, str],
        authorization: str | None,
        site: SiteSettings,
    ) -> Any:
        """The client the request's credentials prove, allowed to call from its address; its
        credentials row. Raises InvalidClient, or UnauthorizedClient for the address."""
        runtime = self.runtime
        claimed = credentials(form, authorization)
        row = authenticate_client(conn, runtime.hasher, claimed)
        note = note_of(scope)
        if note is not None:  # proven now: the request's log line may name the client
            note.client_id = claimed.client_id
        check_client_address(row, scope, runtime.trusted_proxies, site.response_debug, self.what)
        return row

    def _log_refusal(self, refused: UnauthorizedClient, started: float) -> None:
        duration_ms = (time.perf_counter() - started) * 1000.0
        self.runtime.request_log.record(
            refused.client_pk,
            refused.label,
            0,
            refused.status,
            IP_NOT_ALLOWED,
            duration_ms,
            int(time.time()),
        )

    def answered(self, scope: Scope, error: str | None) -> None:
        """How the request ended: None, or the OAuth error code sent (``server_error`` for a
        crash). Noted for the request's log line; subclasses may count it."""
        note = note_of(scope)
        if note is not None and error is not None:
            note.error = error


async def send_error(
    send: Send, exc: OAuthError, status: int, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send_bytes(send, status, orjson.dumps(exc.body()), [*NO_STORE, *(extra or [])])
