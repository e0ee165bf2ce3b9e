"""Resolvers of the people area: thin calls into :mod:`extapi.people`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from extapi.access.principal import has_capability
from extapi.dates import format_date
from extapi.graphql.formats import format_cleaned, format_text
from extapi.graphql.loaders import BatchLoader
from extapi.graphql.paging import read_list
from extapi.graphql.php_text import clean_string
from extapi.graphql.resolvers.jobs import jobs_of_users_loader
from extapi.people import listing, profile_fields, rules, user_changes
from extapi.people.users import get_user
from extapi.people.visibility import (
    can_see,
    can_see_description,
    can_see_raw_description,
    full_name,
    users_with_roles,
)

__all__ = ["RESOLVERS"]

User = Mapping[str, Any]
FORMAT_NAMES = {0: "HTML", 1: "HTML", 2: "PLAIN", 4: "MARKDOWN", 5: "JSON_EDITOR"}
SITE_THEME = "ventura"


def _default_picture(info: GraphQLResolveInfo, size: str) -> str:
    """The site theme's picture for users without one: ``_s`` asks for the non-SVG image, the
    revision changes whenever theme caches are purged."""
    ctx = _context(info)
    return f"{ctx.base_url}/theme/image.php/_s/{SITE_THEME}/core/{ctx.site.themerev}/u/{size}"


def _context(info: GraphQLResolveInfo) -> Any:
    return info.context


def _role_holders(info: GraphQLResolveInfo) -> BatchLoader[bool]:
    ctx = _context(info)
    loader = ctx.loaders.get("role_holders")
    if loader is None:
        loader = BatchLoader(lambda ids: users_with_roles(ctx.conn, ids), False)
        ctx.loaders["role_holders"] = loader
    return loader


def _custom_fields(info: GraphQLResolveInfo) -> BatchLoader[list[dict[str, Any]]]:
    ctx = _context(info)
    loader = ctx.loaders.get("custom_fields")
    if loader is None:
        loader = BatchLoader(lambda ids: profile_fields.values_for_users(ctx.conn, ids), [])
        ctx.loaders["custom_fields"] = loader
    return loader


# --- queries and mutations --------------------------------------------------------------------
def resolve_users(_root: Any, info: GraphQLResolveInfo, query: Any = None) -> dict[str, Any]:
    ctx = _context(info)
    page = read_list(info, lambda wanted: listing.list_users(ctx.conn, ctx.actor, query, wanted))
    ids = [int(u["id"]) for u in page.items]
    _custom_fields(info).expect(ids)
    _role_holders(info).expect(ids)
    jobs_of_users_loader(info).expect(ids)
    return {"items": page.items, "total": page.total, "next_cursor": page.next_cursor}


def _written(info: GraphQLResolveInfo, conn: Any, user_id: int) -> dict[str, Any]:
    """The user as just written, read inside the mutation's own transaction."""
    _custom_fields(info).forget(user_id)
    _role_holders(info).forget(user_id)
    return {"user": get_user(conn, user_id)}


def resolve_create(_root: Any, info: GraphQLResolveInfo, input: Any) -> dict[str, Any]:
    ctx = _context(info)
    with ctx.transaction() as conn:
        return _written(info, conn, user_changes.create_user(conn, ctx.actor, input))


def resolve_update(
    _root: Any, info: GraphQLResolveInfo, input: Any, target_user: Any
) -> dict[str, Any]:
    ctx = _context(info)
    with ctx.transaction() as conn:
        return _written(info, conn, user_changes.update_user(conn, ctx.actor, target_user, input))


def resolve_delete(_root: Any, info: GraphQLResolveInfo, target_user: Any) -> dict[str, Any]:
    ctx = _context(info)
    with ctx.transaction() as conn:
        user_id = user_changes.delete_user(conn, ctx.actor, target_user)
    return {"user_id": user_id}


# --- core_user fields -------------------------------------------------------------------------
def _visible(info: GraphQLResolveInfo, user: User, field: str) -> bool:
    return can_see(_context(info).principal, user, field)


def _text_field(name: str) -> Callable[..., str | None]:
    """Totara's user type reads these fields as stored: their ``format`` argument is accepted
    and ignored (tags were already stripped when the value was saved)."""

    def resolve(user: User, info: GraphQLResolveInfo, format: str = "PLAIN") -> str | None:
        if not _visible(info, user, name):
            return None
        return user[name]

    return resolve


def _plain_field(name: str) -> Callable[..., Any]:
    def resolve(user: User, info: GraphQLResolveInfo) -> Any:
        return user[name] if _visible(info, user, name) else None

    return resolve


def _date_field(name: str) -> Callable[..., str | None]:
    def resolve(user: User, info: GraphQLResolveInfo, format: str = "TIMESTAMP") -> str | None:
        if not _visible(info, user, name):
            return None
        return format_date(int(user[name]) or None, format, _context(info).timezone)

    return resolve


def resolve_fullname(user: User, _info: GraphQLResolveInfo, format: str = "PLAIN") -> str:
    return format_cleaned(full_name(user), format)


def resolve_email(user: User, info: GraphQLResolveInfo) -> str | None:
    return (user["email"] or None) if _visible(info, user, "email") else None


def resolve_country(user: User, _info: GraphQLResolveInfo) -> str | None:
    return rules.country_name(user["country"]) if user["country"] else None


def _description_visible(info: GraphQLResolveInfo, user: User) -> bool:
    principal = _context(info).principal
    if user["id"] == principal.user_id or principal.is_site_admin:
        return True
    return can_see_description(_role_holders(info).load(int(user["id"])))


def resolve_description(user: User, info: GraphQLResolveInfo, format: str = "HTML") -> str | None:
    if not _description_visible(info, user):
        return None
    if format == "RAW" and not can_see_raw_description(_context(info).principal, user):
        return None
    description = user["description"]
    if description in (None, "", "0"):  # PHP's empty(): no description
        return None
    # Totara renders the description as HTML whatever its stored format says.
    return format_text(description, format)


def resolve_descriptionformat(user: User, info: GraphQLResolveInfo) -> str | None:
    if not _description_visible(info, user):
        return None
    return FORMAT_NAMES.get(int(user["descriptionformat"]), "HTML")


def _picture(size: str) -> Callable[..., str]:
    def resolve(_user: User, info: GraphQLResolveInfo) -> str:
        return _default_picture(info, size)

    return resolve


def resolve_picture_alt(user: User, _info: GraphQLResolveInfo, format: str = "PLAIN") -> str:
    """The stored alt text, else the full name; the ``format`` argument is ignored."""
    return str(user["imagealt"] or clean_string(full_name(user)))


def resolve_timezone(user: User, info: GraphQLResolveInfo) -> str | None:
    """The user's own timezone, or the site's for users who follow it ("99")."""
    if not _visible(info, user, "timezone"):
        return None
    own = user["timezone"]
    return _context(info).site.timezone if own in ("", rules.SITE_DEFAULT_TIMEZONE) else own


def resolve_interests(user: User, info: GraphQLResolveInfo) -> str | None:
    return (user["interests"] or None) if _visible(info, user, "interests") else None


def resolve_custom_fields(user: User, info: GraphQLResolveInfo) -> list[dict[str, Any]] | None:
    ctx = _context(info)
    # Fields visible to everyone show to anyone who can see the user; private ones to the user
    # and holders of moodle/user:viewalldetails; hidden ones to those holders only.
    sees_all = has_capability(ctx.principal, "moodle/user:viewalldetails", user["tenant_id"])
    shown = {profile_fields.VISIBLE_TO_ALL}
    if sees_all or user["id"] == ctx.principal.user_id:
        shown.add(profile_fields.VISIBLE_TO_USER)
    if sees_all:
        shown.add(profile_fields.NOT_VISIBLE)
    values = _custom_fields(info).load(int(user["id"]))
    return [
        {
            "shortname": v["shortname"],
            "data": v["data"],
            "data_format": v["dataformat"],
            "data_type": v["datatype"],
        }
        for v in values
        if v["visible"] in shown
    ]


def resolve_job_assignments(user: User, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """The user's job assignments in their sort order, loaded for the whole page at once."""
    return jobs_of_users_loader(info).load(int(user["id"]))


def resolve_card(user: User, info: GraphQLResolveInfo) -> dict[str, Any]:
    base = _context(info).base_url
    profile = f"{base}/user/profile.php?id={user['id']}"
    name = full_name(user)
    return {
        "profile_picture_url": _default_picture(info, "f1"),
        "profile_picture_alt": user["imagealt"] or name,
        "profile_url": profile,
        "display_fields": [
            {"associate_url": profile, "value": name, "is_custom": False, "label": "Full name"}
        ],
    }


def resolve_card_value(field: Mapping[str, Any], _info: Any, format: str = "PLAIN") -> Any:
    value = field["value"]
    if value in (None, "", "0"):
        return None
    return value if format == "RAW" else format_cleaned(str(value), format)


_TEXT = (
    "username",
    "firstname",
    "lastname",
    "middlename",
    "alternatename",
    "address",
    "phone1",
    "phone2",
    "department",
    "institution",
    "city",
    "url",
    "skype",
)
_PLAIN = ("idnumber", "firstnamephonetic", "lastnamephonetic", "lang", "theme")

RESOLVERS: dict[str, Callable[..., Any]] = {
    "Query.core_user_users": resolve_users,
    "Mutation.core_user_create_user": resolve_create,
    "Mutation.core_user_update_user": resolve_update,
    "Mutation.core_user_delete_user": resolve_delete,
    "core_user.fullname": resolve_fullname,
    "core_user.email": resolve_email,
    "core_user.country": resolve_country,
    "core_user.description": resolve_description,
    "core_user.descriptionformat": resolve_descriptionformat,
    "core_user.profileimageurl": _picture("f1"),
    "core_user.profileimageurlsmall": _picture("f2"),
    "core_user.profileimagealt": resolve_picture_alt,
    "core_user.interests": resolve_interests,
    "core_user.timezone": resolve_timezone,
    "core_user.suspended": _plain_field("suspended"),
    "core_user.firstaccess": _date_field("firstaccess"),
    "core_user.lastaccess": _date_field("lastaccess"),
    "core_user.custom_fields": resolve_custom_fields,
    "core_user.job_assignments": resolve_job_assignments,
    "core_user.card_display": resolve_card,
    "core_user_card_display_field.value": resolve_card_value,
    **{f"core_user.{name}": _text_field(name) for name in _TEXT},
    **{f"core_user.{name}": _plain_field(name) for name in _PLAIN},
}
