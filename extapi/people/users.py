"""Users: the accounts that people and service accounts sign in as.

This module holds what the platform needs (creating users from the CLI, suspending, soft
deletion, site administrators); the API's user services build on it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from extapi.db import revision
from extapi.db.tables import IDNUMBER_TRIM, site_admins, users
from extapi.db.unique import clashes_reported
from extapi.errors import ConflictError, NotFoundError, ValidationError
from extapi.people.passwords import hash_password
from extapi.settings.site import SiteSettings

__all__ = [
    "NewUser",
    "create_user",
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

_USERNAME = re.compile(r"^[a-z0-9_\-.@]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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


def _validate(conn: Connection, new: NewUser) -> None:
    if not new.username or not _USERNAME.match(new.username):
        raise ValidationError(
            "Username may contain only lower-case letters, digits and the characters _ - . @"
        )
    if len(new.username) > 100:
        raise ValidationError("Username must not exceed 100 characters.")
    if not new.firstname.strip() or not new.lastname.strip():
        raise ValidationError("First name and last name are required.")
    if not _EMAIL.match(new.email) or len(new.email) > 100:
        raise ValidationError(f"Invalid email address: {new.email}")
    clash = first_duplicate(conn, {field: getattr(new, field) for field in UNIQUE_FIELDS})
    if clash is not None:
        raise clash


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
    _validate(conn, new)
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
        "lang": site.lang,
        "country": site.country,
        "tenant_id": new.tenant_id,
        "timecreated": now,
        "timemodified": now,
    }
    with clashes_as_duplicates(conn, row):
        user_id = conn.execute(insert(users), row).inserted_primary_key[0]
    revision.bump(conn)
    return int(user_id)


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
