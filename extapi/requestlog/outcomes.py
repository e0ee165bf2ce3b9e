"""How a logged request ended."""

from __future__ import annotations

__all__ = ["SUCCESS", "ERROR", "RATE_LIMITED"]

SUCCESS = "success"
ERROR = "error"  # any response of the request carried GraphQL errors
RATE_LIMITED = "rate_limited"  # answered 429
