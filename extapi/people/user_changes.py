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

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, insert, select, update

from extapi.access.principal import Principal, has_capability
from extapi.db import revision
from extapi.db.tables import site_admins, tenants, users
from extapi.errors import NotFoundError, PermissionDenied, ValidationError
from extapi.people import profile_fields, rules
from extapi.people.passwords import hash_password
from extapi.people.scope import REFERENCE, reachable_users
from extapi.people.users import soft_delete
from extapi.settings.site import SiteSettings

__all__ = [
    "Actor",
    "NOT_FOUND",
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
# core_format names and Moodle's stored FORMAT_* codes
FORMAT_CODES = {"HTML": 1, "PLAIN": 2, "MARKDOWN": 4, "JSON_EDITOR": 5}
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
_CLASHES = select(users.c.id, users.c.username, users.c.idnumber, users.c.email).where(
    (users.c.username == bindparam("username"))
    | (users.c.idnumber == bindparam("idnumber"))
    | (func.lower(users.c.email) == bindparam("email"))
)


def _check_unique(conn: Connection, values: Mapping[str, Any], except_id: int | None) -> None:
    """Username, idnumber and email clashes in one indexed read, reported in Totara's order.

    Deleted users keep no username, idnumber or email (see soft_delete), so every row counts.
    """
    username, idnumber, email = values.get("username"), values.get("idnumber"), values.get("email")
    if not (username or idnumber or email):
        return
    params = {
        "username": username or None,
        "idnumber": idnumber or None,
        "email": email.lower() if email else None,
    }
    clashes = [r for r in conn.execute(_CLASHES, params) if r.id != except_id]
    if username and any(r.username == username for r in clashes):
        raise ValidationError(f"Username already exists: {username}")
    if idnumber and any(r.idnumber == idnumber for r in clashes):
        raise ValidationError(f"Idnumber already exists: {idnumber}")
    if email and any(r.email.lower() == email.lower() for r in clashes):
        raise ValidationError(f"Email address already exists: {email}")


def _clean_fields(
    conn: Connection, data: Mapping[str, Any], except_id: int | None
) -> dict[str, Any]:
    """Column values for the given input fields, checked in Totara's order."""
    values: dict[str, Any] = {}
    for field in REQUIRED:
        if field in data:
            values[field] = rules.require_not_blank(field, data[field])
    for field in (*TEXT_FIELDS, "username", "email"):
        if data.get(field) is not None:
            text = values.get(field, data[field])
            if field in rules.MAX_LENGTHS:
                rules.check_length(field, text)
            values[field] = text
    if "username" in values:
        values["username"] = rules.clean_username(values["username"])
    if "email" in values:
        values["email"] = rules.clean_email(values["email"])
    _check_unique(conn, values, except_id)
    _clean_choices(data, values)
    return values


def _clean_choices(data: Mapping[str, Any], values: dict[str, Any]) -> None:
    if data.get("url") is not None:
        values["url"] = rules.clean_url(data["url"])
    if data.get("descriptionformat") is not None:
        if data["descriptionformat"] not in FORMAT_CODES:
            raise ValidationError("Unsupported descriptionformat")
        values["descriptionformat"] = FORMAT_CODES[data["descriptionformat"]]
    cleaners = {
        "country": rules.clean_country,
        "timezone": rules.clean_timezone,
        "lang": rules.clean_lang,
        "theme": rules.clean_theme,
        "calendartype": rules.clean_calendartype,
    }
    for field, clean in cleaners.items():
        if data.get(field) is not None:
            values[field] = clean(data[field])
    if data.get("auth") is not None:
        values["auth"] = rules.auth_plugin(data["auth"]).name
    for flag in ("emailstop", "suspended", "force_password_change"):
        if data.get(flag) is not None:
            values[flag] = bool(data[flag])


def _custom_field_values(
    conn: Connection,
    actor: Actor,
    changes: list[Mapping[str, Any]] | None,
    target: Mapping[str, Any] | None,
) -> dict[int, tuple[str, int] | None]:
    """Validated custom field writes (None deletes), last entry per shortname winning."""
    if not changes:
        return {}
    defined = profile_fields.fields_by_shortname(conn)
    latest = {c["shortname"]: c for c in changes}
    present = profile_fields.stored_field_ids(conn, target["id"]) if target else set()
    target_tenant = target["tenant_id"] if target else None
    sees_hidden = actor.can("moodle/user:viewalldetails", target_tenant)
    cleaned: dict[int, tuple[str, int] | None] = {}
    errors: list[str] = []
    for shortname, change in latest.items():
        field = defined.get(shortname)
        if field is None or (field.visible != profile_fields.VISIBLE_TO_ALL and not sees_hidden):
            raise ValidationError(profile_fields.NO_SUCH_FIELD)
        if change.get("delete"):
            _check_deletion(change, field, present, target)
            cleaned[field.id] = None
            continue
        if field.locked and not actor.can("moodle/user:update", None):
            errors.append(f"{shortname}: This field is locked and can not be changed.")
            continue
        try:
            cleaned[field.id] = profile_fields.clean_value(
                field,
                profile_fields.FieldChange(
                    shortname, change.get("data"), change.get("data_format")
                ),
                actor.timezone,
            )
        except ValidationError as exc:
            errors.append(f"{shortname}: {exc.message}")
    if errors:
        raise ValidationError("Custom field errors: \n" + "\n".join(errors) + "\n")
    return cleaned


def _check_deletion(
    change: Mapping[str, Any],
    field: profile_fields.FieldDefinition,
    present: set[int],
    target: Mapping[str, Any] | None,
) -> None:
    if target is None:
        raise ValidationError("Can not delete custom field on creating.")
    if change.get("data") is not None or change.get("data_format") is not None:
        raise ValidationError(
            "Can not set data or data_format with deleting custom field on updating."
        )
    if field.id not in present:
        raise ValidationError(
            "Can not delete the custom field value, as the value has not been set for target user."
        )


def _password_values(
    data: Mapping[str, Any], auth: rules.AuthPlugin, creating: bool
) -> dict[str, Any]:
    password, generate = data.get("password"), bool(data.get("generate_password"))
    if password is not None and generate:
        which = "password" if creating else "new password"
        raise ValidationError(f"You cannot set {which} and generate password at the same time.")
    if generate:
        password = rules.generate_password()
    if password is None:
        if creating and auth.can_create_password:
            raise ValidationError("Password cannot be blank")
        return {}
    if creating and not auth.can_create_password:
        raise ValidationError("The authentication plugin dose not support password creation.")
    return {"password": hash_password(rules.check_password(password))}


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


def create_user(conn: Connection, actor: Actor, data: Mapping[str, Any]) -> int:
    tenant_id = _check_create_rights(conn, actor, data)
    values = _clean_fields(conn, data, None)
    auth = rules.auth_plugin(values.get("auth", "manual"))
    values.update(_password_values(data, auth, creating=True))
    custom = _custom_field_values(conn, actor, data.get("custom_fields"), None)
    now = int(time.time())
    site = actor.site
    row = {
        "auth": auth.name,
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
    if data.get("password") is not None and data.get("generate_password"):
        raise ValidationError("You cannot set new password and generate password at the same time.")
    if not actor.can("moodle/user:managelogin", target["tenant_id"]):
        raise PermissionDenied("You do not have capabilities to update a user password.")


def _check_suspend_rights(
    conn: Connection, actor: Actor, target: Mapping[str, Any], data: Mapping[str, Any]
) -> None:
    if data.get("suspended") is None:
        return
    if _is_admin(conn, target["id"]):
        raise PermissionDenied("The admin user cannot be suspended.")
    if target["id"] == actor.principal.user_id:
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
    values = _clean_fields(conn, data, target["id"])
    if data.get("tenant") is not None:
        values["tenant_id"] = _tenant_from_reference(conn, data["tenant"])
    auth = rules.auth_plugin(values.get("auth", target["auth"]))
    values.update(_password_values(data, auth, creating=False))
    custom = _custom_field_values(conn, actor, data.get("custom_fields"), target)
    values["timemodified"] = int(time.time())
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
