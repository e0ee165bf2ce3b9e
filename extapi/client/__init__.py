"""A Python client for any Totara-compatible External API: extapi, or Totara itself.

``Client`` (blocking) and ``AsyncClient`` (asyncio) share one implementation of every
decision (:mod:`extapi.client.protocol`); they differ only in how they send requests and
wait. Needs ``httpx`` (``pip install 'extapi[client]'``).
"""

from extapi.client.aio import AsyncClient
from extapi.client.errors import (
    ApiDisabledError,
    ApiError,
    AuthenticationError,
    ComplexityError,
    InvalidClientError,
    InvalidTokenError,
    OperationError,
    RateLimitedError,
    ResolverError,
    TokenExpiredError,
    TransportError,
    UnknownFieldError,
    ValidationError,
)
from extapi.client.models import JobAssignment, Organisation, Position, User
from extapi.client.operations import largest_page
from extapi.client.protocol import Operation, RateLimitInfo, Result
from extapi.client.sync import Client
from extapi.client.tokens import Token

__all__ = [
    "Client",
    "AsyncClient",
    "Operation",
    "Result",
    "RateLimitInfo",
    "Token",
    "User",
    "JobAssignment",
    "Organisation",
    "Position",
    "largest_page",
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
]
