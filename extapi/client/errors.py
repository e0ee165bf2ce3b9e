"""The client's exceptions, and the one place that decides which of them an answer means.

Totara answers almost everything with HTTP 200 and hides the reason of most errors behind
``Internal server error``; the real text is in ``debugMessage`` only at the Normal and Developer
error levels. Callers should never have to read that text to know what went wrong, so
:func:`classify_error` turns one GraphQL error object (plus the HTTP status and headers) into an
exception class. It is the only code in the client allowed to look at message texts.

The rules, in order:

1. The token text ``Missing, expired or invalid access token`` or Totara 19's ``api_access``
   category; or, when the answer gives no reason (error level None), extapi's
   ``WWW-Authenticate`` challenge with ``error="invalid_token"`` or HTTP 401: the token was
   refused. The server uses the same answer for an expired token as for an
   unknown or revoked one, so the client decides with what it knows itself: when its own clock
   says the token's lifetime (``expires_in``) has run out, it is :class:`TokenExpiredError`,
   otherwise :class:`InvalidTokenError`.
2. Totara's other authentication texts (no Authorization header, no service account, an
   invalid service account ...), or any other challenge:
   :class:`AuthenticationError`.
3. ``Feature api is not available.`` (HTTP 400): :class:`ApiDisabledError`.
4. Category ``query_complexity``: :class:`ComplexityError`; category ``graphql`` or
   ``request``: :class:`ValidationError`.
5. Anything else (an operation's own failure, such as ``Username already exists``, masked as
   an internal error): :class:`ResolverError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "ApiError",
    "AuthenticationError",
    "TokenExpiredError",
    "InvalidTokenError",
    "InvalidClientError",
    "RateLimitedError",
    "ComplexityError",
    "ValidationError",
    "ResolverError",
    "OperationError",
    "ApiDisabledError",
    "TransportError",
    "UnknownFieldError",
    "classify_error",
    "is_token_refusal",
    "token_endpoint_error",
]

TOKEN_REFUSED = "Missing, expired or invalid access token"
AUTH_TEXTS = (
    "Missing or invalid HTTP request headers",
    "The request did not contain the required Authorization header",
    "Couldn't identify OAuth2 client provider for this request",
    "Couldn't identify API client for this request",
    "Couldn't identify API user for this request",
    "API user is invalid",
    "Authentication error",
)
FEATURE_OFF = "Feature api is not available."
# The client's clock and the server's whole seconds may disagree by this much about expiry.
EXPIRY_ALLOWANCE_SECONDS = 1.0


class ApiError(Exception):
    """Base class of everything the client raises about an answer (or a missing one).

    ``message`` is what the server said (``Internal server error`` for masked errors),
    ``debug_message`` the real reason when the server's error level shows it, ``category``
    the GraphQL ``extensions.category``, ``path`` the failing field's path, ``status`` the HTTP
    status, and ``errors`` every error object of the answer.
    """

    def __init__(
        self,
        message: str,
        *,
        category: str | None = None,
        debug_message: str | None = None,
        path: Sequence[str | int] | None = None,
        status: int | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(debug_message or message)
        self.message = message
        self.category = category
        self.debug_message = debug_message
        self.path = list(path) if path is not None else None
        self.status = status
        self.errors = list(errors)

    @property
    def reason(self) -> str:
        """The most precise text available: the debug message, else the message."""
        return self.debug_message or self.message


class AuthenticationError(ApiError):
    """The request could not be tied to a working client and service account."""


class TokenExpiredError(AuthenticationError):
    """The access token was refused after its lifetime ran out (by the client's clock)."""


class InvalidTokenError(AuthenticationError):
    """The access token was refused while it should still be valid: revoked, unknown, or its
    client disabled."""


class InvalidClientError(AuthenticationError):
    """The token endpoint refused the client id and secret (``invalid_client``)."""


class ApiDisabledError(ApiError):
    """The site has the API switched off."""


class RateLimitedError(ApiError):
    """HTTP 429, still refused after the allowed retries. ``retry_after`` is the server's
    ``Retry-After`` in seconds (None when it sent none, as Totara does)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ComplexityError(ApiError):
    """The query costs more than the site's maximum query complexity."""


class ValidationError(ApiError):
    """The document or its variables were refused before anything ran."""


class ResolverError(ApiError):
    """An operation ran and failed, such as ``Username already exists``."""


OperationError = ResolverError


class TransportError(ApiError):
    """No usable answer: the connection failed, or the server answered 5xx or not JSON."""


class UnknownFieldError(ValueError):
    """A helper was asked for a field its type does not have (raised before any request)."""


def _debug_message(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    found = error.get("debugMessage")
    if found is None and isinstance(extensions, Mapping):
        found = extensions.get("debugMessage")
    return found if isinstance(found, str) else None


def _category(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    category = extensions.get("category") if isinstance(extensions, Mapping) else None
    return category if isinstance(category, str) else None


def _challenge(headers: Mapping[str, str]) -> str | None:
    return headers.get("www-authenticate")


def _texts(error: Mapping[str, Any] | None) -> tuple[str, str]:
    if error is None:
        return ("", "")
    return (str(error.get("message", "")), _debug_message(error) or "")


def is_token_refusal(
    error: Mapping[str, Any] | None, status: int, headers: Mapping[str, str]
) -> bool:
    """True when the answer says the access token itself was refused (renewing may help).
    A reason in the text wins; without one (error level None) the challenge header decides."""
    texts = _texts(error)
    if any(t.startswith(TOKEN_REFUSED) for t in texts):
        return True
    if error is not None and _category(error) == "api_access":
        return True
    if any(t.startswith(AUTH_TEXTS) for t in texts):
        return False
    challenge = _challenge(headers)
    if challenge is not None:
        return "invalid_token" in challenge
    return status == 401


def _is_authentication(error: Mapping[str, Any], status: int, headers: Mapping[str, str]) -> bool:
    if status == 401 or _challenge(headers) is not None:
        return True
    return any(t.startswith(AUTH_TEXTS) for t in _texts(error))


def classify_error(
    error: Mapping[str, Any],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    token_expired: bool = False,
    errors: Sequence[Mapping[str, Any]] = (),
) -> ApiError:
    """The exception for one GraphQL error object; see the module's rules.

    ``token_expired`` says whether the client's own clock had passed the token's expiry when
    the answer arrived (only consulted for a refused token)."""
    headers = headers or {}
    message = str(error.get("message", ""))
    path = error.get("path")
    kw: dict[str, Any] = {
        "category": _category(error),
        "debug_message": _debug_message(error),
        "path": path if isinstance(path, list) else None,
        "status": status,
        "errors": errors or [error],
    }
    cls: type[ApiError]
    if is_token_refusal(error, status, headers):
        cls = TokenExpiredError if token_expired else InvalidTokenError
    elif _is_authentication(error, status, headers):
        cls = AuthenticationError
    elif message == FEATURE_OFF:
        cls = ApiDisabledError
    elif kw["category"] == "query_complexity":
        cls = ComplexityError
    elif kw["category"] in ("graphql", "request"):
        cls = ValidationError
    else:
        cls = ResolverError
    return cls(message, **kw)


def token_endpoint_error(body: Mapping[str, Any], status: int) -> ApiError:
    """The exception for an OAuth 2 error answer of the token endpoint."""
    code = str(body.get("error", ""))
    description = str(body.get("error_description") or body.get("message") or code)
    hint = body.get("hint")
    kw: dict[str, Any] = {
        "category": code,
        "debug_message": f"{description} ({hint})" if hint else None,
        "status": status,
        "errors": [dict(body)],
    }
    if code == "invalid_client":
        return InvalidClientError(description, **kw)
    if code == "access_denied":
        return ApiDisabledError(description, **kw)
    return AuthenticationError(description, **kw)
