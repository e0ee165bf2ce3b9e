"""How a logged request ended."""

from __future__ import annotations

__all__ = ["SUCCESS", "ERROR", "RATE_LIMITED", "IP_NOT_ALLOWED"]

SUCCESS = "success"
ERROR = "error"  # any response of the request carried GraphQL errors
RATE_LIMITED = "rate_limited"  # answered 429
IP_NOT_ALLOWED = "ip_not_allowed"  # refused: the address is not in the client's allow-list
