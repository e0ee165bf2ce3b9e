"""The JSON object of each record type the command line prints.

A command that creates, changes or deletes a record prints the same object, with the same
fields, as the ``list --json`` of its kind, so scripts read one shape per record type."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from extapi.db.tables import site_admins, tenants
from extapi.people.profile_fields import FieldDefinition

__all__ = [
    "TENANT_FIELDS",
    "USER_FIELDS",
    "CLIENT_FIELDS",
    "ROLE_FIELDS",
    "ASSIGNMENT_FIELDS",
    "PROFILE_FIELD_FIELDS",
    "HIERARCHY_FIELDS",
    "tenant_view",
    "user_views",
    "client_view",
    "client_line",
    "role_view",
    "profile_field_view",
    "hierarchy_view",
]

TENANT_FIELDS = ("id", "idnumber", "name", "description", "suspended", "timecreated")
USER_FIELDS = (
    "id",
    "username",
    "idnumber",
    "email",
    "firstname",
    "lastname",
    "tenant",
    "auth",
    "country",
    "lang",
    "suspended",
    "deleted",
    "site_admin",
    "timecreated",
    "timemodified",
)
CLIENT_FIELDS = (
    "id",
    "client_id",
    "name",
    "description",
    "status",
    "tenant",
    "service_account",
    "rate_limit",
    "token_expiry",
    "error_response",
    "allowed_ips",
)
ROLE_FIELDS = ("id", "shortname", "name", "description", "archetype", "capabilities")
ASSIGNMENT_FIELDS = ("role", "user", "tenant", "held", "changed")
PROFILE_FIELD_FIELDS = ("id", "shortname", "name", "type", "visible", "locked", "options")
HIERARCHY_FIELDS = ("id", "kind", "idnumber", "fullname", "shortname")


def tenant_view(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in TENANT_FIELDS}


def user_views(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Users as printed: the tenant by idnumber, and whether each is a site administrator."""
    tenant_ids = {row["tenant_id"] for row in rows if row["tenant_id"] is not None}
    query = select(tenants.c.id, tenants.c.idnumber).where(tenants.c.id.in_(tenant_ids))
    idnumbers: dict[int, str] = {int(row.id): str(row.idnumber) for row in conn.execute(query)}
    admins = set(conn.execute(select(site_admins.c.user_id)).scalars())
    views = []
    for row in rows:
        extra = {
            "tenant": idnumbers.get(row["tenant_id"]),
            "site_admin": row["id"] in admins,
        }
        views.append({key: extra[key] if key in extra else row[key] for key in USER_FIELDS})
    return views


_ERROR_LEVELS = {None: "site", 0: "none", 1: "normal", 2: "developer"}


def client_view(row: dict[str, Any]) -> dict[str, Any]:
    debug = row["response_debug"]
    return {
        "id": row["id"],
        "client_id": row["client_id"],
        "name": row["name"],
        "description": row["description"],
        "status": "enabled" if row["status"] else "disabled",
        "tenant": row["tenant"],
        "service_account": row["service_account"],
        "rate_limit": row["client_rate_limit"],
        "token_expiry": row["default_token_expiry_time"],
        "error_response": _ERROR_LEVELS.get(debug, str(debug)),
        "allowed_ips": row["allowed_ips"],
    }


def client_line(view: dict[str, Any]) -> str:
    allowed = view["allowed_ips"]
    return (
        f"{view['client_id']}  {view['name']}  [{view['status']}]  service account: "
        f"{view['service_account'] or '-'}  tenant: {view['tenant'] or '-'}"
        + (f"  allowed IPs: {', '.join(allowed)}" if allowed else "")
    )


def role_view(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ROLE_FIELDS}


def profile_field_view(field: FieldDefinition) -> dict[str, Any]:
    return {
        "id": field.id,
        "shortname": field.shortname,
        "name": field.name,
        "type": field.datatype,
        "visible": field.visible,
        "locked": field.locked,
        "options": list(field.options),
    }


def hierarchy_view(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in HIERARCHY_FIELDS}
