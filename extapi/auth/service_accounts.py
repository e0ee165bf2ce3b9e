"""Is a user fit to be an API client's service account? Totara's checks, in Totara's order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["VALID", "account_status", "STATUS_MESSAGES"]

NO_USER: Final = "NO_USER"
ADMIN: Final = "ADMIN"
SUSPENDED: Final = "SUSPENDED"
DELETED: Final = "DELETED"
WRONG_TENANT: Final = "WRONG_TENANT"
TENANT_SUSPENDED: Final = "TENANT_SUSPENDED"
VALID: Final = "VALID"

# Human wording for admin pages and the CLI.
STATUS_MESSAGES: Final[dict[str, str]] = {
    NO_USER: "The user account was not found",
    ADMIN: "The service account can not be a site administrator",
    SUSPENDED: "This user account has been suspended",
    DELETED: "This user account has been deleted",
    WRONG_TENANT: "This user account has the wrong tenant membership",
    TENANT_SUSPENDED: "This user account belongs to a suspended tenant",
    VALID: "Valid",
}


def account_status(
    user: Mapping[str, Any] | None, is_site_admin: bool, client_tenant_id: int | None
) -> str:
    """One of the status codes above; a system client needs a user outside every tenant and
    a tenant client a member of its own tenant. extapi has no guest account, so Totara's
    GUEST status cannot occur."""
    if user is None:
        return NO_USER
    if is_site_admin:
        return ADMIN
    if user["suspended"]:
        return SUSPENDED
    if user["deleted"]:
        return DELETED
    if user["tenant_id"] != client_tenant_id:
        return WRONG_TENANT
    return VALID
