"""How a logged request ended."""

from __future__ import annotations

__all__ = ["SUCCESS", "ERROR", "RATE_LIMITED", "IP_NOT_ALLOWED", "REFUSED", "FILTERS"]

SUCCESS = "success"
ERROR = "error"  # any response of the request carried GraphQL errors
RATE_LIMITED = "rate_limited"  # answered 429
IP_NOT_ALLOWED = "ip_not_allowed"  # refused: the address is not in the client's allow-list
# refused: the client's token is valid but its service account or tenant is not usable, or the
# client is disabled
REFUSED = "refused"

# The request log pages' outcome filters: name -> the outcomes each picks (None: every one).
FILTERS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "errors": (ERROR,),
    "rate_limited": (RATE_LIMITED,),
    "refused": (REFUSED, IP_NOT_ALLOWED),
}
