"""``extapi serve --demo``: a small tenant-free site whose credentials are printed at start."""

from __future__ import annotations

from sqlalchemy import Connection, select

from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.auth.secrets import SecretHasher, random_string
from extapi.db.tables import api_clients, users
from extapi.people.users import (
    NewUser,
    create_user,
    get_user_by_username,
    make_site_admin,
    set_password,
)
from extapi.settings.site import load_site_settings

__all__ = ["seed_demo", "DEMO_CLIENT_NAME", "SERVICE_ACCOUNT", "DEMO_ADMIN"]

DEMO_ADMIN = "admin"

DEMO_CLIENT_NAME = "Demo HR sync"
SERVICE_ACCOUNT = "service.account"
PEOPLE = [
    ("ava.nguyen", "Ava", "Nguyen", "EMP001"),
    ("ben.okafor", "Ben", "Okafor", "EMP002"),
    ("chloe.martin", "Chloe", "Martin", "EMP003"),
    ("diego.alvarez", "Diego", "Alvarez", "EMP004"),
]


def _ensure_user(conn: Connection, username: str, first: str, last: str, idnumber: str) -> int:
    exists = select(users.c.id).where(users.c.username == username, users.c.deleted.is_(False))
    found = conn.execute(exists).scalar()
    if found is not None:
        return int(found)
    site = load_site_settings(conn)
    new = NewUser(username, f"{username}@example.com", first, last, idnumber=idnumber)
    return create_user(conn, new, site)


def seed_demo(conn: Connection, hasher: SecretHasher, host: str, port: int) -> str:
    """Create (or refresh) the demo data; returns instructions with fresh credentials.

    The secret of an existing demo client is rotated, because secrets are stored only as
    hashes and cannot be shown again.
    """
    for username, first, last, idnumber in PEOPLE:
        _ensure_user(conn, username, first, last, idnumber)
    account_id = _ensure_user(conn, SERVICE_ACCOUNT, "Service", "Account", "")
    assign_role(conn, "apiuser", account_id, None)
    existing = conn.execute(
        select(api_clients.c.client_id).where(api_clients.c.name == DEMO_CLIENT_NAME)
    ).scalar()
    if existing is None:
        site = load_site_settings(conn)
        new = clients.NewClient(DEMO_CLIENT_NAME, get_user_by_username(conn, SERVICE_ACCOUNT)["id"])
        row, secret = clients.add_client(conn, hasher, site, new)
        client_id = row["client_id"]
    else:
        client_id = existing
        clients.set_client_status(conn, client_id, True)
        _, secret = clients.rotate_secret(conn, hasher, client_id)
    admin_password = _refresh_admin(conn)
    base = f"http://{host}:{port}"
    return (
        "Demo site ready.\n"
        f"  client_id:     {client_id}\n"
        f"  client_secret: {secret}\n"
        f"Admin pages: {base}/login  (username {DEMO_ADMIN}, password {admin_password})\n"
        f"API documentation: {base}/totara/api/documentation/\n"
        "Get a token:\n"
        f"  curl -s -X POST '{base}/totara/oauth2/token.php' "
        f"-d 'grant_type=client_credentials&client_id={client_id}&client_secret={secret}'\n"
    )


def _refresh_admin(conn: Connection) -> str:
    """The demo administrator gets a new random password at every start."""
    password = random_string(20)
    admin_id = _ensure_user(conn, DEMO_ADMIN, "Demo", "Administrator", "")
    set_password(conn, admin_id, password)
    make_site_admin(conn, admin_id)
    return password
