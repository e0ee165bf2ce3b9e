"""Headers every web page carries, and a cap on request bodies, as one ASGI middleware."""

from __future__ import annotations

from extapi.http import Message, Receive, Scope, Send

__all__ = ["SecureHeaders", "BodyLimit", "NoNulBytes", "CSP", "csp_with_style_nonce"]

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def csp_with_style_nonce(nonce: str) -> str:
    """The same policy, also allowing ``<style>`` elements that carry ``nonce`` (new for each
    response). For the explorer's code editor, which writes its stylesheet into the page at
    run time; every script is still a file under /static."""
    return CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")


_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
_NO_STORE = (b"cache-control", b"no-store")


class SecureHeaders:
    """Adds the security headers to every response; pages other than static files are
    never cached, since they show credentials and personal data."""

    def __init__(self, app: object, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[operator]
            return
        cacheable = scope["path"].startswith(self.static_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in _HEADERS if h[0] not in names]
                if not cacheable and b"cache-control" not in names:
                    extra.append(_NO_STORE)
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)  # type: ignore[operator]


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, whether announced by
    Content-Length or streamed."""

    def __init__(self, app: object, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[operator]
            return
        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await _too_large(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)  # type: ignore[operator]
        except _TooLarge:
            if not started:
                await _too_large(send)


class _TooLarge(Exception):
    pass


class NoNulBytes:
    """Refuses with 400 a path or query string holding a NUL character, which no page needs
    and PostgreSQL can not store or compare (it would end in a 500)."""

    def __init__(self, app: object) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").lower()
            if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
                await _plain(send, 400, b"The address holds a NUL character.")
                return
        await self.app(scope, receive, send)  # type: ignore[operator]


async def _too_large(send: Send) -> None:
    await _plain(send, 413, b"Request body too large.")


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
