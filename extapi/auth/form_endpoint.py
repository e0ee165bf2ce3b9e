"""The HTTP side shared by extapi's OAuth endpoints that take a form by POST.

Each endpoint answers JSON that is never cached (RFC 6749 section 5.1), refuses other methods
with 405, and turns an :class:`OAuthError` into the RFC 6749 section 5.2 error body, with the
Basic challenge HTTP requires on every 401.
"""

from __future__ import annotations

from typing import Any, ClassVar

import orjson

from extapi.auth.client_auth import parse_form
from extapi.auth.oauth_errors import AccessDenied, InvalidRequest, OAuthError
from extapi.http import BodyTooLarge, Receive, Scope, Send, header, read_body, send_bytes
from extapi.ops.note import note_of
from extapi.runtime import Runtime

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


def check_api_enabled(runtime: Runtime) -> None:
    """With the API feature off, every OAuth endpoint answers as Totara's token endpoint."""
    if not runtime.current_settings().api_enabled:
        raise AccessDenied(API_DISABLED)


def required_param(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if value is None:
        raise InvalidRequest(f"Check the `{name}` parameter")
    return value


class FormEndpoint:
    """Raw ASGI app: POST a form, get JSON. Subclasses implement :meth:`handle`."""

    only_post: ClassVar[str]

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            self.answered(scope, InvalidRequest.error)
            await send_error(send, InvalidRequest(self.only_post), 405, [(b"allow", b"POST")])
            return
        try:
            body = await read_body(scope, receive, self.runtime.config.max_body_bytes)
            form = parse_form(body, header(scope, b"content-type"))
            payload = self.handle(scope, form, header(scope, b"authorization"))
        except BodyTooLarge as exc:
            self.answered(scope, InvalidRequest.error)
            await send_error(send, InvalidRequest(str(exc)), 413)
            return
        except OAuthError as exc:
            self.answered(scope, exc.error)
            challenge = [(b"www-authenticate", _CHALLENGE)] if exc.status == 401 else []
            await send_error(send, exc, exc.status, challenge)
            return
        except Exception:
            self.answered(scope, "server_error")
            raise
        self.answered(scope, None)
        await send_bytes(send, 200, orjson.dumps(payload), NO_STORE)

    def handle(self, scope: Scope, form: dict[str, str], authorization: str | None) -> Any:
        raise NotImplementedError

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
