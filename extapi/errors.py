"""The one hierarchy of domain errors.

Each error carries the exact client-facing text (Totara's wording where Totara has one) and a
GraphQL ``category``. Whether the text reaches a client verbatim or is masked as
``Internal server error`` is decided in one place, :mod:`extapi.graphql.errors`.
"""

from __future__ import annotations

__all__ = [
    "ExtapiError",
    "ConfigError",
    "MigrationRefused",
    "NotFoundError",
    "ValidationError",
    "ConflictError",
    "CodingError",
    "CODING_ERROR_PREFIX",
    "PermissionDenied",
    "AuthenticationError",
    "RequestError",
    "ClientSafeError",
]


class ExtapiError(Exception):
    """Base class: ``message`` is the precise reason, ``category`` the GraphQL category."""

    category = "internal"
    client_safe = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ExtapiError):
    """The process environment or a command-line value is unusable."""


class MigrationRefused(ExtapiError):
    """The database holds data the newer schema can not take; the message says what to fix."""


class NotFoundError(ExtapiError):
    """A referenced record does not exist (or is invisible to the actor)."""


class ValidationError(ExtapiError):
    """Input breaks a rule; the message says which."""


class ConflictError(ValidationError):
    """Input clashes with existing data (a duplicate idnumber, username ...)."""


CODING_ERROR_PREFIX = "Coding error detected, it must be fixed by a programmer: "


class CodingError(ValidationError):
    """Totara's ``coding_exception``: the reason is always shown after a fixed prefix.

    ``hint`` keeps the bare reason for code that needs it without the prefix.
    """

    def __init__(self, hint: str) -> None:
        super().__init__(CODING_ERROR_PREFIX + hint)
        self.hint = hint


class PermissionDenied(ExtapiError):
    """The acting principal lacks a capability."""


class AuthenticationError(ExtapiError):
    """A GraphQL request could not be tied to a valid client and service account."""


class RequestError(ExtapiError):
    """The GraphQL request body has the wrong shape (Totara's request-level errors)."""


class ClientSafeError(ExtapiError):
    """An error whose message is always shown to the client, at every error level."""

    client_safe = True

    def __init__(self, message: str, category: str = "graphql") -> None:
        super().__init__(message)
        self.category = category
