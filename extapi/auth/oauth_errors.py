"""OAuth 2.0 token endpoint errors, one class per RFC 6749 section 5.2 code.

Descriptions and hints are the ones Totara's OAuth library sends, so clients that match on
them keep working; the HTTP statuses follow the RFC (Totara sends 200).
"""

from __future__ import annotations

from typing import ClassVar

from extapi.errors import ExtapiError

__all__ = [
    "OAuthError",
    "InvalidRequest",
    "InvalidClient",
    "UnsupportedGrantType",
    "InvalidScope",
    "AccessDenied",
    "UnauthorizedClient",
]


class OAuthError(ExtapiError):
    error: ClassVar[str]
    description: ClassVar[str]
    status: int = 400

    def __init__(self, hint: str | None = None) -> None:
        super().__init__(self.description)
        self.hint = hint

    def body(self) -> dict[str, str]:
        payload = {"error": self.error, "error_description": self.description}
        if self.hint:
            payload["hint"] = self.hint
        payload["message"] = self.description
        return payload


class InvalidRequest(OAuthError):
    error = "invalid_request"
    description = (
        "The request is missing a required parameter, includes an invalid parameter value, "
        "includes a parameter more than once, or is otherwise malformed."
    )


class InvalidClient(OAuthError):
    error = "invalid_client"
    description = "Client authentication failed"
    status = 401


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"
    description = "The authorization grant type is not supported by the authorization server."

    def __init__(self, hint: str | None = "Check that all required parameters have been provided"):
        super().__init__(hint)


class InvalidScope(OAuthError):
    error = "invalid_scope"
    description = "The requested scope is invalid, unknown, or malformed"


class AccessDenied(OAuthError):
    error = "access_denied"
    description = "The resource owner or authorization server denied the request."
    status = 403


class UnauthorizedClient(OAuthError):
    """An authenticated client calling from an address outside its IP allow-list. The status
    and the detail follow the client's error level (see :mod:`extapi.auth.allow_lists`): 404
    "Not Found" at None, 403 "Forbidden" otherwise, the address as ``hint`` at Developer."""

    error = "unauthorized_client"
    description = "Forbidden"

    def __init__(self, status: int, hint: str | None, client_pk: int, label: str) -> None:
        super().__init__(hint)
        self.status = status
        self.client_pk = client_pk
        self.label = label  # the request log's name for the refused request

    def body(self) -> dict[str, str]:
        text = "Not Found" if self.status == 404 else self.description
        payload = {"error": self.error, "error_description": text}
        if self.hint:
            payload["hint"] = self.hint
        payload["message"] = text
        return payload
