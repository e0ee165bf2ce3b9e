"""Creating, updating and deleting users through the API, with Totara's rules and messages.

Every function runs inside the caller's transaction and raises before writing anything it
has not validated, so a failed mutation changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, insert, select, update

from extapi.access.principal import Principal, has_capability
from extapi.db import revision
from extapi.db.tables import site_admins, tenants, users
from extapi.errors import (
    CodingError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from extapi.people import profile_fields, rules
from extapi.people.passwords import hash_password
from extapi.people.scope import REFERENCE, reachable_users
from extapi.people.users import (
    FORMAT_CODES,
    clashes_as_duplicates,
    soft_delete,
    validate_user_fields,
)
from extapi.settings.site import SiteSettings

__all__ = [
    "Actor",
    "NOT_FOUND",
    "ADMINS_ONLY",
    "create_user",
    "update_user",
    "delete_user",
    "find_user",
    "FORMAT_CODES",
]

NOT_FOUND = (
    "There was a problem finding a single user record match or you do not have sufficient "
    "capabilities."
)
ADMINS_ONLY = "Only administrators are allowed to modify other administrator accounts"
TEXT_FIELDS = (
    "firstname",
    "lastname",
    "idnumber",
    "middlename",
    "alternatename",
    "firstnamephonetic",
    "lastnamephonetic",
    "city",
    "url",
    "skype",
    "institution",
    "department",
    "phone1",
    "phone2",
    "address",
    "description",
)
REQUIRED = ("username", "email", "firstname", "lastname")


@dataclass(frozen=True)
class Actor:
    """Who is changing users: the service account, the site settings, its timezone."""

    principal: Principal
    site: SiteSettings
    timezone: str

    def can(self, capability: str, tenant_id: int | None = None) -> bool:
        return has_capability(self.principal, capability, tenant_id)


# --- finding users ----------------------------------------------------------------------------
REFERENCE_KEYS = ("id", "username", "idnumber", "email")


@lru_cache(maxsize=256)
def _reference_query(keys: tuple[str, ...], scope: ColumnElement[Any]) -> Select[Any]:
    """Built once per combination: a bulk sync resolves thousands of references, and building
    the statement costs more than running it."""
    return select(users).where(scope, *(getattr(users.c, k) == bindparam(k) for k in keys)).limit(2)


def find_user(conn: Connection, actor: Actor, reference: Mapping[str, Any]) -> dict[str, Any]:
    """The one live user the actor can reach that matches every given reference field."""
    given = {k: reference[k] for k in REFERENCE_KEYS if reference.get(k) not in (None, "")}
    if not given:
        raise NotFoundError(NOT_FOUND)
    scope = reachable_users(actor.principal, actor.site, REFERENCE)
    rows = conn.execute(_reference_query(tuple(given), scope), given).mappings().all()
    if len(rows) != 1:
        raise NotFoundError(NOT_FOUND)
    return dict(rows[0])


def _is_admin(conn: Connection, user_id: int) -> bool:
    query = select(site_admins.c.user_id).where(site_admins.c.user_id == user_id)
    return conn.execute(query).first() is not None


def _tenant_from_reference(conn: Connection, reference: Mapping[str, Any]) -> int:
    conditions = [
        getattr(tenants.c, key) == value
        for key, value in reference.items()
        if key in ("id", "idnumber") and value not in (None, "")
    ]
    rows = (
        conn.execute(select(tenants.c.id).where(*conditions).limit(2)).all() if conditions else []
    )
    if len(rows) != 1:
        raise ValidationError("Tenant reference must identify exactly one tenant.")
    return int(rows[0][0])


# --- validating values ------------------------------------------------------------------------
# Cleaning applied when saving, after validation (Moodle's PARAM_NOTAGS and PARAM_TEXT).
NOTAGS_FIELDS = (
    "firstname",
    "lastname",
    "middlename",
    "alternatename",
    "firstnamephonetic",
    "lastnamephonetic",
    "skype",
    "phone1",
    "phone2",
    "calendartype",
)
TEXT_CLEANED_FIELDS = ("institution", "department", "address", "city")
CHOICE_FIELDS = ("country", "timezone", "lang", "calendartype", "auth")


def _field_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of validated input, cleaned as Totara cleans them when saving."""
    values: dict[str, Any] = {}
    for field in (*TEXT_FIELDS, "username", "email", *CHOICE_FIELDS):
        if data.get(field) is not None:
            values[field] = data[field]
    for field in NOTAGS_FIELDS:
        if field in values:
            values[field] = rules.clean_notags(values[field])
    for field in TEXT_CLEANED_FIELDS:
        if field in values:
            values[field] = rules.clean_text(values[field])
    if "username" in values:
        rules.clean_username(values["username"])
    if data.get("descriptionformat") is not None:
        values["descriptionformat"] = FORMAT_CODES[data["descriptionformat"]]
    if data.get("theme") is not None:
        # Validated, then stored empty: users may not pick their own theme (Totara's default
        # for allowuserthemes, which extapi does not let a site change).
        values["theme"] = ""
    for flag in ("emailstop", "suspended", "force_password_change"):
        if data.get(flag) is not None:
            values[flag] = bool(data[flag])
    return values


def _custom_field_values(
    conn: Connection,
    actor: Actor,
    changes: list[Mapping[str, Any]] | None,
    target: Mapping[str, Any] | None,
) -> dict[int, tuple[str, int] | None]:
    """Validated custom field writes (None clears a value), checked entry by entry in input
    order, stopping at the first problem; a later entry for the same field replaces an earlier
    one."""
    if not changes:
        return {}
    defined = profile_fields.fields_by_shortname(conn)
    present = profile_fields.stored_field_ids(conn, target["id"]) if target else set()
    sees_hidden = actor.can("moodle/user:viewalldetails", target["tenant_id"] if target else None)
    writes: dict[int, tuple[str, int] | None] = {}
    for change in changes:
        deleting = bool(change.get("delete"))
        _check_delete_shape(change, deleting, creating=target is None)
        field = defined.get(change["shortname"])
        if field is None or (field.visible != profile_fields.VISIBLE_TO_ALL and not sees_hidden):
            raise ValidationError(profile_fields.NO_SUCH_FIELD)
        if deleting:
            if field.id not in present:
                raise ValidationError(
                    "Can not delete the custom field value, as the value has not been set "
                    "for target user."
                )
            writes[field.id] = None
            continue
        if field.locked and not actor.can("moodle/user:update", None):
            raise ValidationError(
                f"{field.shortname}: You do not have permission to set the value this locked "
                "custom field."
            )
        entry = profile_fields.FieldChange(
            field.shortname, change.get("data"), change.get("data_format")
        )
        profile_fields.check_input(field, entry)
        writes.pop(field.id, None)
        if entry.data is None and entry.data_format is None:
            continue  # Totara saves nothing for an entry without data
        writes[field.id] = profile_fields.stored_value(field, entry, actor.timezone)
    return writes


def _check_delete_shape(change: Mapping[str, Any], deleting: bool, creating: bool) -> None:
    """The checks Totara makes on an entry before it looks the field up."""
    if not deleting:
        return
    if creating:
        raise ValidationError("Can not delete custom field on creating.")
    if change.get("data") is not None or change.get("data_format") is not None:
        raise ValidationError(
            "Can not set data or data_format with deleting custom field on updating."
        )


def _password_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The password hash to store, for a validated password or a generated one."""
    if data.get("generate_password"):
        return {"password": hash_password(rules.generate_password())}
    if data.get("password") is None:
        return {}
    return {"password": hash_password(data["password"])}


def _check_password_given(data: Mapping[str, Any], creating: bool) -> None:
    """Checks Totara makes before validating the input: a password and a generated one at
    once, and (on create) a missing password key."""
    if data.get("password") is not None and data.get("generate_password"):
        which = "password" if creating else "new password"
        raise ValidationError(f"You cannot set {which} and generate password at the same time.")


# --- create -----------------------------------------------------------------------------------
def _check_create_rights(conn: Connection, actor: Actor, data: Mapping[str, Any]) -> int | None:
    if data.get("tenant") is None:
        if not actor.can("moodle/user:create"):
            raise PermissionDenied("You do not have capabilities to create a user.")
        return None
    tenant_id = _tenant_from_reference(conn, data["tenant"])
    own = actor.principal.tenant_id
    allowed = (
        actor.can("totara/tenant:usercreate", tenant_id) and own in (None, tenant_id)
        if own is not None
        else actor.can("moodle/user:create")
    )
    if not allowed:
        raise PermissionDenied("You do not have capabilities to create a user for the tenant.")
    return tenant_id


def _check_required(data: Mapping[str, Any]) -> None:
    """On create every required key must be given; the password may be left to generation."""
    required = REQUIRED if data.get("generate_password") else (*REQUIRED, "password")
    for field in required:
        if field not in data:
            raise CodingError(f"Required parameter - {field} not being passed")


def create_user(conn: Connection, actor: Actor, data: Mapping[str, Any]) -> int:
    tenant_id = _check_create_rights(conn, actor, data)
    _check_password_given(data, creating=True)
    _check_required(data)
    validate_user_fields(conn, data, None)
    custom = _custom_field_values(conn, actor, data.get("custom_fields"), None)
    values = _field_values(data)
    values.update(_password_values(data))
    now = int(time.time())
    site = actor.site
    row = {
        "auth": "manual",
        "lang": site.lang,
        "country": site.country,
        "timezone": "99",
        "maildisplay": site.defaultpreference_maildisplay,
        "descriptionformat": FORMAT_CODES["HTML"],
        **values,
        "tenant_id": tenant_id,
        "timecreated": now,
        "timemodified": now,
    }
    with clashes_as_duplicates(conn, row):
        user_id = int(conn.execute(insert(users), row).inserted_primary_key[0])
    profile_fields.apply_changes(conn, user_id, custom)
    return user_id


# --- update -----------------------------------------------------------------------------------
def _check_update_rights(
    conn: Connection, actor: Actor, target: Mapping[str, Any], data: Mapping[str, Any]
) -> None:
    context = target["tenant_id"]
    if not (
        actor.can("moodle/user:update", context) or actor.can("moodle/user:editprofile", context)
    ):
        raise PermissionDenied("You do not have capabilities to update a user.")
    auth = rules.auth_plugin(target["auth"])
    if not auth.can_edit_profile:
        raise PermissionDenied("The authentication method does not support editing profile.")
    changes_login = (
        data.get("username") is not None and data["username"] != target["username"]
    ) or (data.get("auth") is not None and data["auth"] != target["auth"])
    if changes_login and not actor.can("moodle/user:update"):
        raise PermissionDenied("You do not have capabilities to update username or auth plugin.")
    if data.get("tenant") is not None and not actor.can("totara/tenant:manageparticipants"):
        raise PermissionDenied("You do not have capabilities to update user tenancy membership.")
    _check_password_rights(conn, actor, target, data, auth)
    _check_suspend_rights(conn, actor, target, data)
    if _is_admin(conn, target["id"]) and not actor.principal.is_site_admin:
        # Not a check of Totara's update mutation, which lets any client with the
        # capabilities rename a site administrator or switch them to "No login": Moodle's
        # rule for its own profile pages, with its text (extapi's service accounts are
        # never site administrators).
        raise PermissionDenied(ADMINS_ONLY)


def _check_password_rights(
    conn: Connection,
    actor: Actor,
    target: Mapping[str, Any],
    data: Mapping[str, Any],
    auth: rules.AuthPlugin,
) -> None:
    if data.get("password") is None and not data.get("generate_password"):
        return
    if not auth.can_change_password:
        raise PermissionDenied("The authentication method does not support password changes.")
    if _is_admin(conn, target["id"]):
        raise PermissionDenied("You can not update password for the admin user.")
    _check_password_given(data, creating=False)
    if not actor.can("moodle/user:managelogin", target["tenant_id"]):
        raise PermissionDenied("You do not have capabilities to update a user password.")


def _check_suspend_rights(
    conn: Connection, actor: Actor, target: Mapping[str, Any], data: Mapping[str, Any]
) -> None:
    if data.get("suspended") is None:
        return
    if _is_admin(conn, target["id"]):
        raise PermissionDenied("The admin user cannot be suspended.")
    if target["id"] == actor.principal.user_id and data["suspended"]:
        raise PermissionDenied(
            "A service account user is not allowed to suspend itself when making a request."
        )
    if not (actor.can("moodle/user:update") and actor.can("moodle/user:managelogin")):
        raise PermissionDenied("You do not have capabilities to suspend a user.")


def update_user(
    conn: Connection, actor: Actor, reference: Mapping[str, Any], data: Mapping[str, Any]
) -> int:
    target = find_user(conn, actor, reference)
    _check_update_rights(conn, actor, target, data)
    validate_user_fields(conn, data, target["id"])
    custom = _custom_field_values(conn, actor, data.get("custom_fields"), target)
    values = _field_values(data)
    if data.get("tenant") is not None:
        values["tenant_id"] = _tenant_from_reference(conn, data["tenant"])
    values.update(_password_values(data))
    values["timemodified"] = int(time.time())
    with clashes_as_duplicates(conn, values, target["id"]):
        conn.execute(update(users).where(users.c.id == target["id"]).values(**values))
    profile_fields.apply_changes(conn, target["id"], custom)
    if _affects_access(target, values):
        revision.bump(conn)
    return int(target["id"])


def _affects_access(target: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Changes that could make a service account invalid must reach every worker at once."""
    return any(key in values and values[key] != target[key] for key in ("suspended", "tenant_id"))


# --- delete -----------------------------------------------------------------------------------
def delete_user(conn: Connection, actor: Actor, reference: Mapping[str, Any]) -> int:
    target = find_user(conn, actor, reference)
    if target["id"] == actor.principal.user_id:
        raise PermissionDenied(
            "A service account user is not allowed to delete itself when making a request."
        )
    if not actor.can("moodle/user:delete", target["tenant_id"]):
        raise PermissionDenied("You do not have capabilities to delete a user.")
    if _is_admin(conn, target["id"]):
        raise PermissionDenied("For deleting a user: Admin user can not be specified for User.")
    soft_delete(conn, target["id"])
    return int(target["id"])
