"""Small factories for test data, going through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from starlette.testclient import TestClient

from extapi.access.roles import assign_role
from extapi.auth import clients
from extapi.people.tenants import add_tenant
from extapi.people.users import NewUser, create_user
from extapi.runtime import Runtime
from extapi.settings.site import load_site_settings

__all__ = [
    "ApiClient",
    "make_user",
    "make_tenant",
    "make_api_client",
    "fetch_token",
    "graphql",
    "masked_error",
    "TOKEN_PATH",
]

TOKEN_PATH = "/totara/oauth2/token.php"
GRAPHQL_PATH = "/api/graphql.php"
_counter = itertools.count(1)


@dataclass(frozen=True)
class ApiClient:
    id: int
    client_id: str
    secret: str
    user_id: int
    tenant_id: int | None


def make_tenant(runtime: Runtime, idnumber: str | None = None) -> int:
    idnumber = idnumber or f"tenant{next(_counter)}"
    with runtime.engine.begin() as conn:
        return add_tenant(conn, f"Tenant {idnumber}", idnumber)


def make_user(runtime: Runtime, username: str | None = None, **fields: Any) -> int:
    username = username or f"user{next(_counter)}"
    with runtime.engine.begin() as conn:
        new = NewUser(
            username=username,
            email=fields.pop("email", f"{username}@example.com"),
            firstname=fields.pop("firstname", "Test"),
            lastname=fields.pop("lastname", username.capitalize()),
            **fields,
        )
        return create_user(conn, new, load_site_settings(conn))


def make_api_client(
    runtime: Runtime,
    tenant_id: int | None = None,
    enabled: bool = True,
    name: str = "Test client",
    role: str | None = "apiuser",
) -> ApiClient:
    """A client whose service account is a new user holding ``role``."""
    user_id = make_user(runtime, tenant_id=tenant_id)
    with runtime.engine.begin() as conn:
        if role:
            assign_role(conn, role, user_id, tenant_id)
        new = clients.NewClient(name, user_id, tenant_id, enabled=enabled)
        row, secret = clients.add_client(conn, runtime.hasher, load_site_settings(conn), new)
    return ApiClient(int(row["id"]), row["client_id"], secret, user_id, tenant_id)


def fetch_token(http: TestClient, client: ApiClient) -> str:
    response = http.post(
        TOKEN_PATH,
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.secret,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def graphql(
    http: TestClient, token: str | None, body: Any, headers: dict[str, str] | None = None
) -> Any:
    """POST a JSON body to the GraphQL endpoint; returns the httpx response."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    return http.post(GRAPHQL_PATH, json=body, headers=all_headers)


def masked_error(reason: str) -> dict[str, Any]:
    """Totara's envelope for a hidden error at the Normal level: the reason in both places."""
    return {
        "errors": [
            {
                "debugMessage": reason,
                "message": "Internal server error",
                "extensions": {"category": "internal", "debugMessage": reason},
            }
        ],
        "error": "Internal server error",
    }
