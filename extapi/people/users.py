"""Users: the accounts that people and service accounts sign in as.

This module holds what the platform needs (creating users from the CLI, suspending, soft
deletion, site administrators); the API's user services build on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from extapi.db import revision
from extapi.db.tables import IDNUMBER_TRIM, site_admins, users
from extapi.db.unique import clashes_reported
from extapi.errors import CodingError, ConflictError, NotFoundError, ValidationError
from extapi.people import rules
from extapi.people.passwords import hash_password
from extapi.settings.site import SiteSettings

__all__ = [
    "NewUser",
    "create_user",
    "change_user",
    "CHANGEABLE_FIELDS",
    "validate_user_fields",
    "FORMAT_CODES",
    "get_user",
    "get_user_by_username",
    "set_suspended",
    "soft_delete",
    "make_site_admin",
    "set_password",
    "is_site_admin",
    "list_users",
    "UNIQUE_FIELDS",
    "is_checked",
    "identifier_taken",
    "duplicate",
    "first_duplicate",
    "clashes_as_duplicates",
]


@dataclass
class NewUser:
    username: str
    email: str
    firstname: str
    lastname: str
    password: str | None = None
    idnumber: str = ""
    tenant_id: int | None = None
    auth: str = "manual"
    # None: the site's default
    country: str | None = None
    lang: str | None = None


# --- the rules for a user's fields ------------------------------------------------------------
def _exists(conn: Connection, field: str, value: str, except_id: int | None) -> bool:
    """The look-up for clashes; the database's unique indexes back it under concurrency."""
    return identifier_taken(conn, field, value, except_id)


# core_format names and Moodle's stored FORMAT_* codes
FORMAT_CODES = {"HTML": 1, "PLAIN": 2, "MARKDOWN": 4, "JSON_EDITOR": 5}
_BLANK_CHECKED = ("firstname", "lastname", "username", "email")


def _check_unique(conn: Connection, data: Mapping[str, Any], except_id: int | None) -> None:
    """Username and idnumber clashes, compared exactly; values PHP's empty() takes as empty
    after trimming are not looked up (so "" and "0" never clash)."""
    for field in ("username", "idnumber"):
        value = data.get(field)
        if value is None or not is_checked(value):
            continue
        if _exists(conn, field, value, except_id):
            _clash(conn, data, except_id, field)


def _clash(
    conn: Connection, data: Mapping[str, Any], except_id: int | None, field: str
) -> NoReturn:
    """Report ``field``'s clash, unless an identifier Totara checks before it clashes now.

    Each look-up reads the latest committed rows, so a user created by a concurrent request
    between two look-ups can clash with a field already passed. Looking the earlier fields up
    again gives the answer Totara's order gives for what is stored now, whenever the other
    request committed."""
    raise first_duplicate(conn, data, except_id) or duplicate(field, data[field])


def _check_email(conn: Connection, data: Mapping[str, Any], except_id: int | None) -> None:
    """Well-formed, and no other user has exactly this address (case counts)."""
    email = data.get("email")
    if email is None:
        return
    rules.clean_email(email)
    if _exists(conn, "email", email, except_id):
        _clash(conn, data, except_id, "email")


def validate_user_fields(conn: Connection, data: Mapping[str, Any], except_id: int | None) -> None:
    """Totara's input checks for a user's core fields, in its order; values are not changed.

    The one set of rules for every way a user is created or changed: the API, the command
    line and the admin pages. ``except_id`` is the user being changed (None on create)."""
    _check_unique(conn, data, except_id)
    if data.get("url") is not None:
        rules.clean_url(data["url"])
    if data.get("descriptionformat") is not None and data["descriptionformat"] not in FORMAT_CODES:
        raise CodingError("Unsupported descriptionformat")
    for field in _BLANK_CHECKED:
        if field in data:
            rules.require_not_blank(field, data[field])
    for field in rules.MAX_LENGTHS:
        if data.get(field) is not None:
            rules.check_length(field, data[field])
    if "password" in data:
        if data["password"] in (None, ""):
            raise CodingError("Password cannot be blank")
        rules.check_password(data["password"])
    _check_email(conn, data, except_id)
    _check_choices(data)


def _check_choices(data: Mapping[str, Any]) -> None:
    """Values from fixed lists, matched exactly (no case folding before the check)."""
    checks = {
        "country": rules.clean_country,
        "timezone": rules.clean_timezone,
        "lang": rules.clean_lang,
        "theme": rules.clean_theme,
        "calendartype": rules.clean_calendartype,
    }
    for field, check in checks.items():
        if data.get(field) is not None:
            check(data[field])
    if data.get("auth") is not None and not rules.auth_plugin(data["auth"]).can_change_password:
        # Totara's text (and typo) for any plugin that keeps no passwords.
        raise ValidationError("The authentication plugin dose not support password creation.")


def _new_user_fields(new: NewUser) -> dict[str, Any]:
    """A new user from the command line or the admin pages, as the API would be given it."""
    data: dict[str, Any] = {
        "username": new.username,
        "email": new.email,
        "firstname": new.firstname,
        "lastname": new.lastname,
        "idnumber": new.idnumber,
    }
    if new.password:
        data["password"] = new.password
    for field in ("country", "lang"):
        if getattr(new, field) is not None:
            data[field] = getattr(new, field)
    return data


# --- unique identifiers -----------------------------------------------------------------------
UNIQUE_FIELDS = ("username", "idnumber", "email")
"""Identifiers no two users may share, in the order Totara checks them."""
_UNIQUE_INDEXES = {f"uq_users_{field}": field for field in UNIQUE_FIELDS}


def is_checked(value: str) -> bool:
    """Whether a value is looked up for clashes at all: not when PHP's empty() takes it as
    empty once trimmed ("", "0", " 0 "), as Totara skips those (the database's partial index
    on idnumbers leaves out the same values)."""
    return value.strip(IDNUMBER_TRIM) not in ("", "0")


def identifier_taken(
    conn: Connection, field: str, value: str, except_id: int | None = None
) -> bool:
    """Does a user other than ``except_id`` hold ``value`` as ``field``? Compared exactly, as
    Totara compares (deleted users hold none: deleting releases them)."""
    column = getattr(users.c, field)
    query = select(users.c.id).where(column == value)
    if except_id is not None:
        query = query.where(users.c.id != except_id)
    return conn.execute(query.limit(1)).first() is not None


def duplicate(field: str, value: str) -> ConflictError:
    """Totara's error for a username, idnumber or e-mail address another user holds."""
    if field == "email":
        return ConflictError(f"Email address already exists: {value}")
    return ConflictError(f"{field.capitalize()} already exists: {value}")


def first_duplicate(
    conn: Connection, values: Mapping[str, Any], except_id: int | None = None
) -> ConflictError | None:
    """The error for the first identifier among ``values``, in Totara's order, that a user
    other than ``except_id`` holds; None when none is taken."""
    for field in UNIQUE_FIELDS:
        value = values.get(field)
        if (
            value is not None
            and is_checked(value)
            and identifier_taken(conn, field, value, except_id)
        ):
            return duplicate(field, value)
    return None


def clashes_as_duplicates(
    conn: Connection, values: Mapping[str, Any], except_id: int | None = None
) -> AbstractContextManager[None]:
    """Around a write of ``values`` to the users table (of user ``except_id``, when it is an
    update): when a unique index refuses it, because another request took an identifier
    after it was looked up, raise the error the look-up would have raised.

    A request may clash on several identifiers (a retried create clashes on all); it is told
    of the first in Totara's order, as the look-up would. SQLite undoes only the refused
    statement, so the identifiers are looked up again. PostgreSQL runs nothing more in the
    transaction, but it tries unique indexes in the order they were created, which is
    Totara's order, so the one it names is the first."""

    def explain(index: str) -> ConflictError | None:
        field = _UNIQUE_INDEXES.get(index)
        if field is None or field not in values:
            return None
        found = None
        if conn.dialect.name == "sqlite":
            found = first_duplicate(conn, values, except_id)
        return found or duplicate(field, values[field])

    return clashes_reported(explain)


def create_user(conn: Connection, new: NewUser, site: SiteSettings) -> int:
    new.username = new.username.strip().lower()
    new.email = new.email.strip()
    validate_user_fields(conn, _new_user_fields(new), None)
    rules.clean_username(new.username)
    now = int(time.time())
    row = {
        "auth": new.auth,
        "username": new.username,
        "password": hash_password(new.password) if new.password else "",
        "idnumber": new.idnumber,
        "firstname": new.firstname.strip(),
        "lastname": new.lastname.strip(),
        "email": new.email,
        "maildisplay": site.defaultpreference_maildisplay,
        "lang": site.lang if new.lang is None else new.lang,
        "country": site.country if new.country is None else new.country,
        "tenant_id": new.tenant_id,
        "timecreated": now,
        "timemodified": now,
    }
    with clashes_as_duplicates(conn, row):
        user_id = conn.execute(insert(users), row).inserted_primary_key[0]
    revision.bump(conn)
    return int(user_id)


CHANGEABLE_FIELDS = ("email", "firstname", "lastname", "password", "idnumber", "country", "lang")
"""What the command line and the admin pages may change in a user, with the API's checks."""


def change_user(conn: Connection, user_id: int, changes: Mapping[str, str]) -> None:
    """Change some of :data:`CHANGEABLE_FIELDS`, checked as the API checks an update."""
    unknown = set(changes) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise CodingError(f"Unknown user fields: {', '.join(sorted(unknown))}")
    validate_user_fields(conn, changes, user_id)
    values: dict[str, Any] = {
        field: value.strip() if field in ("email", "firstname", "lastname") else value
        for field, value in changes.items()
        if field != "password"
    }
    if "password" in changes:
        values["password"] = hash_password(changes["password"])
    values["timemodified"] = int(time.time())
    with clashes_as_duplicates(conn, values, user_id):
        conn.execute(update(users).where(users.c.id == user_id).values(**values))
    revision.bump(conn)


_BY_ID = select(users).where(users.c.id == bindparam("user_id"))


def get_user(conn: Connection, user_id: int) -> dict[str, Any]:
    row = conn.execute(_BY_ID, {"user_id": user_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"User {user_id} does not exist.")
    return dict(row)


def get_user_by_username(conn: Connection, username: str) -> dict[str, Any]:
    row = (
        conn.execute(
            select(users).where(
                (users.c.username == username.strip().lower()) & users.c.deleted.is_(False)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"User '{username}' does not exist.")
    return dict(row)


def list_users(conn: Connection) -> list[dict[str, Any]]:
    query = select(users).where(users.c.deleted.is_(False)).order_by(users.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def set_suspended(conn: Connection, user_id: int, suspended: bool) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(suspended=suspended, timemodified=int(time.time()))
    )
    revision.bump(conn)


def soft_delete(conn: Connection, user_id: int) -> None:
    """Mark a user deleted. The row stays so that history still resolves, but its username,
    idnumber and email are released (as Moodle does) so they can be used again."""
    # Imported here: the job assignment rules build on this module's users.
    from extapi.org.jobs import delete_for_user

    delete_for_user(conn, user_id)  # managers' staff counts and references follow, as in Totara
    now = int(time.time())
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            deleted=True,
            suspended=False,
            username=f"deleted.{user_id}.{now}",
            idnumber="",
            email="",
            password="",
            timemodified=now,
        )
    )
    conn.execute(delete(site_admins).where(site_admins.c.user_id == user_id))
    revision.bump(conn)


def set_password(conn: Connection, user_id: int, password: str) -> None:
    """Store a new password hash (the CLI's way to reset an administrator's password)."""
    if not password:
        raise ValidationError("Password cannot be blank")
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password=hash_password(password), timemodified=int(time.time()))
    )


def make_site_admin(conn: Connection, user_id: int) -> None:
    if not is_site_admin(conn, user_id):
        conn.execute(insert(site_admins).values(user_id=user_id))
        revision.bump(conn)


def is_site_admin(conn: Connection, user_id: int) -> bool:
    query = select(site_admins.c.user_id).where(site_admins.c.user_id == user_id)
    return conn.execute(query).first() is not None
