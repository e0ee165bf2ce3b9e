"""Which user fields a service account may see. Hidden fields resolve to null."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from extapi.access.principal import Principal, has_capability
from extapi.db.tables import role_assignments

__all__ = [
    "can_see",
    "can_see_description",
    "can_see_raw_description",
    "full_name",
    "users_with_roles",
    "PUBLIC_FIELDS",
]
_WHITESPACE = re.compile(r"\s+")

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


def can_see_description(holds_role: bool) -> bool:
    """Whether another user's profile description shows to a caller who can reach the user
    (the user and site admins always see it).

    Totara shows it only for users who hold a role somewhere (its default
    ``profilesforenrolledusersonly``); no user field is hidden by default.
    """
    return holds_role


def users_with_roles(conn: Connection, user_ids: Iterable[int]) -> dict[int, bool]:
    """Which of the users hold at least one role assignment, in one statement."""
    ids = list(user_ids)
    if not ids:
        return {}
    query = select(role_assignments.c.user_id).where(role_assignments.c.user_id.in_(ids))
    return {int(user_id): True for user_id in conn.execute(query.distinct()).scalars()}


def full_name(user: Mapping[str, Any]) -> str:
    """First and last name as Totara shows them: white space runs made one space, ends trimmed."""
    return _WHITESPACE.sub(" ", f"{user['firstname']} {user['lastname']}").strip()
