"""API clients: a name, credentials, a service account, settings, a status."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    Select,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from extapi.addresses import address_list
from extapi.auth.secrets import SecretHasher, new_client_id, new_client_secret
from extapi.auth.service_accounts import VALID, account_status
from extapi.db import revision
from extapi.db.tables import (
    access_tokens,
    api_client_settings,
    api_clients,
    api_request_log,
    api_usage_minutes,
    tenants,
    users,
)
from extapi.errors import ConflictError, NotFoundError, ValidationError
from extapi.people.users import is_site_admin
from extapi.settings.site import MAX_INT, SiteSettings

__all__ = [
    "NewClient",
    "ClientSettingsChange",
    "add_client",
    "list_clients",
    "EVERY_TENANT",
    "get_client",
    "set_client_status",
    "delete_client",
    "rotate_secret",
    "update_client_settings",
    "check_service_account",
    "service_account_status",
    "update_client",
    "exceeds_site_limit",
    "RATE_LIMIT_WARNING",
    "credentials_row",
    "listing_query",
    "client_dict",
]

RATE_LIMIT_WARNING = (
    "This client's rate limit exceeds the site limit, so the site limit is being enforced."
)
NAME_MAX = 75
DESCRIPTION_MAX = 1024


@dataclass
class NewClient:
    name: str
    user_id: int | None
    tenant_id: int | None = None
    description: str = ""
    enabled: bool = True


@dataclass
class ClientSettingsChange:
    rate_limit: int | None = None
    token_expiry: int | None = None
    # "site" clears the override; None leaves it as it is.
    response_debug: int | str | None = None
    # The IP allow-list: entries as text or items; "" or [] clears it; None leaves it.
    allowed_ips: str | list[str] | None = None


def _validate_text(name: str, description: str) -> None:
    if not name.strip():
        raise ValidationError("Name is required.")
    if len(name) > NAME_MAX:
        raise ValidationError(f"Name must not exceed {NAME_MAX} characters.")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(f"Description must not exceed {DESCRIPTION_MAX} characters.")


def _account(conn: Connection, user_id: int | None) -> Mapping[str, Any] | None:
    if user_id is None:
        return None
    found = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
    return None if found is None else dict(found)


def service_account_status(conn: Connection, user_id: int | None, tenant_id: int | None) -> str:
    """Totara's status code for ``user_id`` as the service account of a ``tenant_id`` client."""
    user = _account(conn, user_id)
    return account_status(user, user is not None and is_site_admin(conn, user["id"]), tenant_id)


def check_service_account(conn: Connection, user_id: int | None, tenant_id: int | None) -> None:
    """Raise Totara's errors unless the user may serve a client of ``tenant_id``."""
    user = _account(conn, user_id)
    if user is not None and tenant_id is not None and user["tenant_id"] != tenant_id:
        raise ValidationError("The user does not belong to the tenant.")
    admin = user is not None and is_site_admin(conn, user["id"])
    status = account_status(user, admin, tenant_id)
    if status != VALID:
        raise ValidationError(f"The user is not valid. The status is {status}")


def _tenant_suspended(conn: Connection, tenant_id: int | None) -> bool:
    if tenant_id is None:
        return False
    row = conn.execute(select(tenants.c.suspended).where(tenants.c.id == tenant_id)).first()
    if row is None:
        raise NotFoundError(f"Tenant {tenant_id} does not exist.")
    return bool(row[0])


def _unused_client_id(conn: Connection) -> str:
    for _ in range(5):
        candidate = new_client_id()
        taken = select(api_clients.c.id).where(api_clients.c.client_id == candidate)
        if conn.execute(taken).first() is None:
            return candidate
    raise ConflictError("Could not generate a unique client id; try again.")


def add_client(
    conn: Connection, hasher: SecretHasher, site: SiteSettings, new: NewClient
) -> tuple[dict[str, Any], str]:
    """Create a client; returns its row and the plain secret, which is never stored."""
    _validate_text(new.name, new.description)
    if new.enabled and _tenant_suspended(conn, new.tenant_id):
        raise ValidationError("An enabled client can not be added to a suspended tenant.")
    check_service_account(conn, new.user_id, new.tenant_id)
    secret, now = new_client_secret(), int(time.time())
    values = {
        "client_id": _unused_client_id(conn),
        "secret_hash": hasher.digest(secret),
        "name": new.name.strip(),
        "description": new.description,
        "tenant_id": new.tenant_id,
        "user_id": new.user_id,
        "status": new.enabled,
        "time_created": now,
        "time_modified": now,
    }
    pk = conn.execute(insert(api_clients).values(**values)).inserted_primary_key[0]
    conn.execute(
        insert(api_client_settings).values(
            client_id=pk,
            client_rate_limit=site.client_rate_limit,
            default_token_expiry_time=site.default_token_expiration,
            response_debug=None,
            allowed_ips="",
        )
    )
    revision.bump(conn)
    return get_client(conn, str(values["client_id"])), secret


_CLIENT_COLUMNS = [
    api_clients.c.id,
    api_clients.c.client_id,
    api_clients.c.name,
    api_clients.c.description,
    api_clients.c.status,
    api_clients.c.tenant_id,
    api_clients.c.user_id,
    api_clients.c.time_created,
    api_clients.c.time_last_used,
    api_client_settings.c.client_rate_limit,
    api_client_settings.c.default_token_expiry_time,
    api_client_settings.c.response_debug,
    api_client_settings.c.allowed_ips,
    users.c.username.label("service_account"),
    tenants.c.idnumber.label("tenant"),
    tenants.c.name.label("tenant_name"),
    tenants.c.suspended.label("tenant_suspended"),
]


def _client_query() -> Select[Any]:
    return (
        select(*_CLIENT_COLUMNS)
        .join(api_client_settings, api_client_settings.c.client_id == api_clients.c.id)
        .outerjoin(users, users.c.id == api_clients.c.user_id)
        .outerjoin(tenants, tenants.c.id == api_clients.c.tenant_id)
    )


EVERY_TENANT = -1


def listing_query(tenant_id: int | None = EVERY_TENANT) -> Select[Any]:
    """The statement behind :func:`list_clients`, for callers that add columns to it."""
    query = _client_query().order_by(api_clients.c.id)
    if tenant_id is None:
        query = query.where(api_clients.c.tenant_id.is_(None))
    elif tenant_id != EVERY_TENANT:
        query = query.where(api_clients.c.tenant_id == tenant_id)
    return query


def list_clients(conn: Connection, tenant_id: int | None = EVERY_TENANT) -> list[dict[str, Any]]:
    """Every client, or only the system clients (``None``), or one tenant's."""
    return [client_dict(r) for r in conn.execute(listing_query(tenant_id)).mappings()]


def get_client(conn: Connection, client_id: str) -> dict[str, Any]:
    row = (
        conn.execute(_client_query().where(api_clients.c.client_id == client_id)).mappings().first()
    )
    if row is None:
        raise NotFoundError(f"API client '{client_id}' does not exist.")
    return client_dict(row)


def client_dict(row: RowMapping) -> dict[str, Any]:
    """A client's row, its IP allow-list as a list of entries ([] when it has none)."""
    client = dict(row)
    stored = client["allowed_ips"]
    client["allowed_ips"] = stored.split(",") if stored else []
    return client


_CREDENTIALS = (
    select(
        api_clients.c.id,
        api_clients.c.secret_hash,
        api_clients.c.status,
        api_client_settings.c.default_token_expiry_time,
        api_client_settings.c.response_debug,
        api_client_settings.c.allowed_ips,
    )
    .join(api_client_settings, api_client_settings.c.client_id == api_clients.c.id)
    .where(api_clients.c.client_id == bindparam("client_id"))
)


def credentials_row(conn: Connection, client_id: str) -> Any:
    """What the token endpoint needs to authenticate a client, or None for an unknown id."""
    return conn.execute(_CREDENTIALS, {"client_id": client_id}).first()


def update_client(
    conn: Connection, client_id: str, name: str, description: str, user_id: int | None
) -> dict[str, Any]:
    """Change what an admin may edit after creation: name, description, service account.
    The tenant never changes; the service account is validated against it again."""
    client = get_client(conn, client_id)
    _validate_text(name, description)
    if user_id != client["user_id"]:
        check_service_account(conn, user_id, client["tenant_id"])
    conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client["id"])
        .values(
            name=name.strip(),
            description=description,
            user_id=user_id,
            time_modified=int(time.time()),
        )
    )
    revision.bump(conn)
    return get_client(conn, client_id)


def exceeds_site_limit(client: Mapping[str, Any], site: SiteSettings) -> bool:
    """True when the site's client limit, not the client's own, is the one enforced."""
    return int(client["client_rate_limit"]) > site.client_rate_limit


def set_client_status(conn: Connection, client_id: str, enabled: bool) -> dict[str, Any]:
    client = get_client(conn, client_id)
    if enabled and _tenant_suspended(conn, client["tenant_id"]):
        raise ValidationError("A client in a suspended tenant can not be enabled.")
    conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client["id"])
        .values(status=enabled, time_modified=int(time.time()))
    )
    revision.bump(conn)
    return get_client(conn, client_id)


def delete_client(conn: Connection, client_id: str) -> dict[str, Any]:
    """Remove a client with its settings, every token it was issued and its request log."""
    client = get_client(conn, client_id)
    conn.execute(delete(access_tokens).where(access_tokens.c.client_id == client["id"]))
    conn.execute(delete(api_request_log).where(api_request_log.c.client_id == client["id"]))
    conn.execute(delete(api_usage_minutes).where(api_usage_minutes.c.client_id == client["id"]))
    conn.execute(delete(api_client_settings).where(api_client_settings.c.client_id == client["id"]))
    conn.execute(delete(api_clients).where(api_clients.c.id == client["id"]))
    revision.bump(conn)
    return client


def rotate_secret(
    conn: Connection, hasher: SecretHasher, client_id: str
) -> tuple[dict[str, Any], str]:
    """Replace the secret and revoke every token issued under the old one."""
    client = get_client(conn, client_id)
    secret = new_client_secret()
    conn.execute(
        update(api_clients)
        .where(api_clients.c.id == client["id"])
        .values(secret_hash=hasher.digest(secret), time_modified=int(time.time()))
    )
    conn.execute(delete(access_tokens).where(access_tokens.c.client_id == client["id"]))
    revision.bump(conn)
    return client, secret


def _debug_level(value: int | str) -> int | None:
    names = {"site": None, "none": 0, "normal": 1, "developer": 2}
    if isinstance(value, str):
        if value.lower() not in names:
            raise ValidationError("Error response must be one of: site, none, normal, developer.")
        return names[value.lower()]
    if value not in (0, 1, 2):
        raise ValidationError("Error response must be 0 (none), 1 (normal) or 2 (developer).")
    return value


def update_client_settings(
    conn: Connection, client_id: str, change: ClientSettingsChange
) -> dict[str, Any]:
    """Change a client's settings. Moving the site revision makes every worker read the
    client's row again on its next request, so a new allow-list applies at once."""
    client = get_client(conn, client_id)
    values: dict[str, Any] = {}
    if change.rate_limit is not None:
        if change.rate_limit < 0:
            raise ValidationError("Can not set it to negative")
        if change.rate_limit > MAX_INT:
            raise ValidationError(f"The rate limit must be {MAX_INT} or less.")
        values["client_rate_limit"] = change.rate_limit
    if change.token_expiry is not None:
        if change.token_expiry < 0:
            raise ValidationError("Can not set it to negative")
        if change.token_expiry > MAX_INT:
            raise ValidationError(f"Duration must be {MAX_INT} seconds or less")
        values["default_token_expiry_time"] = change.token_expiry
    if change.response_debug is not None:
        values["response_debug"] = _debug_level(change.response_debug)
    if change.allowed_ips is not None:
        values["allowed_ips"] = ",".join(address_list(change.allowed_ips).entries)
    if values:
        conn.execute(
            update(api_client_settings)
            .where(api_client_settings.c.client_id == client["id"])
            .values(**values)
        )
        revision.bump(conn)
    return get_client(conn, client_id)
