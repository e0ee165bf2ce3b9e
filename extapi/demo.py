"""``extapi serve --demo``: a seeded demo site whose credentials stay the same across restarts.

The database keeps only hashes of the demo client's secret and the administrator's password,
so the plain values are kept in a small file readable only by its owner,
``.extapi-demo.json`` (next to a SQLite database file, else in the working directory). At
each start the values in the file are used again when the database still accepts them;
otherwise new ones are made, stored (hashed) and written to the file.

The site itself (:data:`DEMO_SITE`, two tenants, organisations, positions, twenty people
with job assignments and managers, five custom profile fields) is seeded once: a database
that already holds the first demo tenant is left as it is.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, make_url, select

from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.auth.secrets import SecretHasher
from extapi.db.tables import api_clients, tenants, users
from extapi.people.passwords import verify_password
from extapi.people.rules import generate_password
from extapi.people.users import NewUser, create_user, make_site_admin, set_password
from extapi.runtime import describe_database
from extapi.sandbox.seed import apply_seed, check_seed
from extapi.settings.site import load_site_settings

__all__ = [
    "DEMO_ADMIN",
    "DEMO_CLIENT_NAME",
    "DEMO_FILE_NAME",
    "DEMO_SITE",
    "SERVICE_ACCOUNT",
    "DemoCredentials",
    "credentials_path",
    "instructions",
    "instructions_text",
    "seed_demo",
]

DEMO_ADMIN = "admin"
DEMO_CLIENT_NAME = "Demo HR sync"
SERVICE_ACCOUNT = "service.account"
DEMO_FILE_NAME = ".extapi-demo.json"
DEMO_SITE = Path(__file__).with_name("demo_site.toml")


@dataclass(frozen=True)
class DemoCredentials:
    """What the demo prints, as kept in the credentials file."""

    database: str
    client_id: str
    client_secret: str
    admin_username: str
    admin_password: str


def credentials_path(database_url: str) -> Path:
    """Next to a SQLite database file; in the working directory for any other database."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(str(parsed.database)).resolve().parent / DEMO_FILE_NAME
    return Path.cwd() / DEMO_FILE_NAME


def _database_key(database_url: str) -> str:
    """Which database the file's values belong to: a SQLite file's full path, another
    database's URL without its password."""
    return describe_database(database_url)


def _read(path: Path, database: str) -> DemoCredentials | None:
    """The file's values for this database; None when missing, unreadable or another's."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stored = DemoCredentials(**{key: str(data[key]) for key in DemoCredentials.__annotations__})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return stored if stored.database == database else None


def _write(path: Path, credentials: DemoCredentials) -> None:
    """Replace the file in one step, readable and writable by the owner only."""
    handle, temporary = tempfile.mkstemp(prefix=".extapi-demo-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(credentials), out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _seed_site(conn: Connection, hasher: SecretHasher) -> None:
    seed = check_seed(tomllib.loads(DEMO_SITE.read_text(encoding="utf-8")))
    marker = seed["tenants"][0]["idnumber"]
    if conn.execute(select(tenants.c.id).where(tenants.c.idnumber == marker)).first() is None:
        apply_seed(conn, hasher, seed)


def _user_id(conn: Connection, username: str) -> int | None:
    query = select(users.c.id).where(users.c.username == username, users.c.deleted.is_(False))
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def _ensure_user(conn: Connection, username: str, first: str, last: str) -> int:
    found = _user_id(conn, username)
    if found is not None:
        return found
    new = NewUser(username, f"{username}@example.com", first, last)
    return create_user(conn, new, load_site_settings(conn))


def _demo_client(
    conn: Connection, hasher: SecretHasher, stored: DemoCredentials | None
) -> tuple[str, str]:
    """The demo client's id and secret: the stored secret when it still verifies."""
    account_id = _ensure_user(conn, SERVICE_ACCOUNT, "Service", "Account")
    assign_role(conn, "apiuser", account_id, None)
    existing = conn.execute(
        select(api_clients.c.client_id)
        .where(api_clients.c.name == DEMO_CLIENT_NAME)
        .order_by(api_clients.c.id)
    ).scalar()
    if existing is None:
        new = clients.NewClient(DEMO_CLIENT_NAME, account_id)
        row, secret = clients.add_client(conn, hasher, load_site_settings(conn), new)
        return str(row["client_id"]), secret
    clients.set_client_status(conn, existing, True)
    if stored is not None and stored.client_id == existing:
        row = clients.credentials_row(conn, existing)
        if hasher.matches(stored.client_secret, row.secret_hash):
            return existing, stored.client_secret
    _, secret = clients.rotate_secret(conn, hasher, existing)
    return existing, secret


def _demo_admin(conn: Connection, stored: DemoCredentials | None) -> str:
    """The administrator's password: the stored one when it still signs in."""
    admin_id = _ensure_user(conn, DEMO_ADMIN, "Demo", "Administrator")
    make_site_admin(conn, admin_id)
    current = conn.execute(select(users.c.password).where(users.c.id == admin_id)).scalar()
    if stored is not None and verify_password(current or "", stored.admin_password):
        return stored.admin_password
    password = generate_password()
    set_password(conn, admin_id, password)
    return password


def seed_demo(
    conn: Connection, hasher: SecretHasher, database_url: str, path: Path | None = None
) -> DemoCredentials:
    """Seed the demo site (once) and return its credentials, kept in ``path`` (by default
    :func:`credentials_path`), which is rewritten only when they change."""
    path = credentials_path(database_url) if path is None else path
    database = _database_key(database_url)
    stored = _read(path, database)
    _seed_site(conn, hasher)
    client_id, secret = _demo_client(conn, hasher, stored)
    password = _demo_admin(conn, stored)
    credentials = DemoCredentials(database, client_id, secret, DEMO_ADMIN, password)
    if credentials != stored:
        _write(path, credentials)
    return credentials


def instructions(credentials: DemoCredentials, base: str, path: Path) -> dict[str, Any]:
    """What to print at start: the credentials, where they are kept, how to use them."""
    return {
        **asdict(credentials),
        "credentials_file": str(path),
        "admin_url": f"{base}/login",
        "documentation_url": f"{base}/totara/api/documentation/",
        "token_url": f"{base}/totara/oauth2/token.php",
        "graphql_url": f"{base}/api/graphql.php",
    }


def instructions_text(shown: dict[str, Any]) -> str:
    return (
        "Demo site ready (the same credentials at every start; they are kept in "
        f"{shown['credentials_file']}).\n"
        f"  client_id:     {shown['client_id']}\n"
        f"  client_secret: {shown['client_secret']}\n"
        f"Admin pages: {shown['admin_url']}  (username {shown['admin_username']}, "
        f"password {shown['admin_password']})\n"
        f"API documentation: {shown['documentation_url']}\n"
        "Get a token:\n"
        f"  curl -s -X POST '{shown['token_url']}' -d 'grant_type=client_credentials"
        f"&client_id={shown['client_id']}&client_secret={shown['client_secret']}'\n"
    )
