"""Which user fields a service account may see. Hidden fields resolve to null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from extapi.access.principal import Principal, has_capability

__all__ = ["can_see", "can_see_raw_description", "PUBLIC_FIELDS"]

# Shown to anyone who can see the user at all; the rest needs moodle/user:viewalldetails.
PUBLIC_FIELDS = frozenset(
    {
        "id",
        "fullname",
        "firstname",
        "lastname",
        "middlename",
        "alternatename",
        "firstnamephonetic",
        "lastnamephonetic",
        "profileimageurl",
        "profileimageurlsmall",
        "profileimagealt",
        "card_display",
        "country",
        "city",
        "timezone",
        "lang",
        "theme",
        "description",
        "descriptionformat",
    }
)
MAIL_VISIBLE_TO_ALL = 1


def can_see(principal: Principal, user: Mapping[str, Any], field: str) -> bool:
    if user["id"] == principal.user_id:
        return True
    if field == "email":
        # Totara shows an address only to its owner or when its owner made it public; the API
        # User role never qualifies otherwise (observed on Totara 17.3).
        return bool(user["maildisplay"] == MAIL_VISIBLE_TO_ALL)
    if field in PUBLIC_FIELDS:
        return True
    return has_capability(principal, "moodle/user:viewalldetails", user["tenant_id"])


def can_see_raw_description(principal: Principal, user: Mapping[str, Any]) -> bool:
    context = user["tenant_id"]
    return user["id"] == principal.user_id or (
        has_capability(principal, "moodle/user:update", context)
        or has_capability(principal, "moodle/user:editprofile", context)
    )
