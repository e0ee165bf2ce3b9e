"""Tenant isolation of the user services, seen through the GraphQL API.

A tenant client must never see, change or delete a user outside its own tenant: not in
``core_user_users`` (items or ``total``), not by any kind of reference in
``core_user_update_user`` or ``core_user_delete_user``. A system client sees everyone, unless
tenant isolation is on, when it *lists* only users outside tenants but can still reach a tenant
user by reference.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from starlette.testclient import TestClient

from extapi.db.tables import users
from extapi.people.user_changes import NOT_FOUND
from extapi.people.users import set_suspended
from extapi.runtime import Runtime
from extapi.settings.site import set_setting
from tests.factories import ApiClient, fetch_token, graphql, make_api_client, make_tenant, make_user

LIST_QUERY = """
query ($query: core_user_users_query) {
  core_user_users(query: $query) {
    total
    next_cursor
    items { id username idnumber suspended }
  }
}
"""
UPDATE_CITY = """
mutation ($target: core_user_user_reference!, $city: String) {
  core_user_update_user(target_user: $target, input: {city: $city}) {
    user { id username idnumber city }
  }
}
"""
DELETE_USER = """
mutation ($target: core_user_user_reference!) {
  core_user_delete_user(target_user: $target) { user_id }
}
"""
STATUSES = ("ALL", "ACTIVE", "SUSPENDED")
REFERENCE_KINDS = ("id", "username", "idnumber", "email")
# Every example of the property test names its objects with a fresh number, so examples that
# share the test function's database never see each other's users as their own.
_example_numbers = itertools.count(1)


# --- helpers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    id: int
    username: str
    idnumber: str
    email: str
    tenant_id: int | None
    suspended: bool


@dataclass
class World:
    """What one example created: its tenants, people, and clients with their tokens."""

    tenant_ids: list[int]
    people: list[Person] = field(default_factory=list)
    clients: dict[int, ApiClient] = field(default_factory=dict)  # tenant id -> tenant client
    tokens: dict[int, str] = field(default_factory=dict)  # tenant id -> token
    system_client: ApiClient | None = None

    def members(self, tenant_id: int | None) -> list[Person]:
        return [p for p in self.people if p.tenant_id == tenant_id]

    def outsiders(self, tenant_id: int) -> list[Person]:
        return [p for p in self.people if p.tenant_id != tenant_id]


def add_person(
    runtime: Runtime, world: World, name: str, tenant_id: int | None, suspended: bool = False
) -> Person:
    user_id = make_user(runtime, name, idnumber=f"id-{name}", tenant_id=tenant_id)
    if suspended:
        with runtime.engine.begin() as conn:
            set_suspended(conn, user_id, True)
    person = Person(user_id, name, f"id-{name}", f"{name}@example.com", tenant_id, suspended)
    world.people.append(person)
    return person


def add_service_account(runtime: Runtime, world: World, client: ApiClient) -> Person:
    row = db_row(runtime, client.user_id)
    # Service accounts have no idnumber; references by idnumber are not drawn for them.
    person = Person(client.user_id, row["username"], "", row["email"], client.tenant_id, False)
    world.people.append(person)
    return person


def db_row(runtime: Runtime, user_id: int) -> dict[str, Any]:
    with runtime.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).mappings().one()
    return dict(row)


def list_all(
    http: TestClient, token: str, status: str | None = None, limit: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every item of ``core_user_users`` following cursors to the end, and each raw response."""
    query: dict[str, Any] = {"pagination": {} if limit is None else {"limit": limit}}
    if status is not None:
        query["filters"] = {"status": status}
    items: list[dict[str, Any]] = []
    bodies: list[dict[str, Any]] = []
    for _ in range(100):
        body = graphql(http, token, {"query": LIST_QUERY, "variables": {"query": query}}).json()
        assert "errors" not in body, body
        bodies.append(body)
        page = body["data"]["core_user_users"]
        items.extend(page["items"])
        if not page["next_cursor"]:
            return items, bodies
        query = {**query, "pagination": {"cursor": page["next_cursor"]}}
    raise AssertionError("the cursor walk did not end")


def reference(person: Person, kind: str) -> dict[str, Any]:
    return {kind: getattr(person, kind)}


def reported_user_ids(payload: Any) -> set[int]:
    """The ids of every user a response names (``id`` of a user object, or ``user_id``)."""
    found: set[int] = set()
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key in ("id", "user_id") and value is not None:
                found.add(int(value))
            else:
                found |= reported_user_ids(value)
    elif isinstance(payload, list):
        for value in payload:
            found |= reported_user_ids(value)
    return found


def assert_leaks_nothing(body: dict[str, Any], world: World, tenant_id: int) -> None:
    """No user of another tenant or outside tenants: neither by id nor by any identifier."""
    own_ids = {p.id for p in world.members(tenant_id)}
    assert reported_user_ids(body.get("data")) <= own_ids, body
    text = json.dumps(body)
    for other in world.outsiders(tenant_id):
        for identifier in (other.username, other.idnumber, other.email):
            if identifier:
                assert json.dumps(identifier) not in text, (identifier, body)


def assert_not_found(body: dict[str, Any]) -> None:
    assert body.get("data") is None, body
    assert body["errors"][0]["debugMessage"] == NOT_FOUND, body


# --- the property -----------------------------------------------------------------------------
@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[list[bool]], list[bool]]:
    """Suspension flags of the users of 1-3 tenants (0-4 each) and of 0-3 users outside."""
    tenants = draw(st.lists(st.lists(st.booleans(), max_size=4), min_size=1, max_size=3))
    outside = draw(st.lists(st.booleans(), max_size=3))
    return tenants, outside


def build_world(
    runtime: Runtime, http: TestClient, tenants: list[list[bool]], outside: list[bool]
) -> World:
    n = next(_example_numbers)
    tenant_ids = [make_tenant(runtime, f"iso{n}-t{i}") for i in range(len(tenants))]
    world = World(tenant_ids)
    for tenant_id, flags in zip(tenant_ids, tenants, strict=True):
        for j, suspended in enumerate(flags):
            add_person(runtime, world, f"iso{n}-t{tenant_id}-u{j}", tenant_id, suspended)
    for j, suspended in enumerate(outside):
        add_person(runtime, world, f"iso{n}-out-u{j}", None, suspended)
    for tenant_id in tenant_ids:
        client = make_api_client(runtime, tenant_id=tenant_id)
        world.clients[tenant_id] = client
        add_service_account(runtime, world, client)
    world.system_client = make_api_client(runtime)
    add_service_account(runtime, world, world.system_client)
    for tenant_id, client in world.clients.items():
        world.tokens[tenant_id] = fetch_token(http, client)
    return world


def check_listing(http: TestClient, world: World, tenant_id: int, status: str, limit: int) -> None:
    # when the tenant client walks every page with this filter
    items, bodies = list_all(http, world.tokens[tenant_id], status, limit)
    # then it gets exactly its own tenant's matching users, once each, and the right total
    wanted = {
        p.id
        for p in world.members(tenant_id)
        if status == "ALL" or p.suspended == (status == "SUSPENDED")
    }
    ids = [int(item["id"]) for item in items]
    assert len(ids) == len(set(ids)), ids
    assert set(ids) == wanted
    for body in bodies:
        assert body["data"]["core_user_users"]["total"] == len(wanted)
        assert_leaks_nothing(body, world, tenant_id)


def check_update(
    runtime: Runtime,
    http: TestClient,
    world: World,
    tenant_id: int,
    target: Person,
    kind: str,
    city: str,
) -> None:
    before = db_row(runtime, target.id)
    # when the tenant client changes the target's city by this reference
    variables = {"target": reference(target, kind), "city": city}
    body = graphql(
        http, world.tokens[tenant_id], {"query": UPDATE_CITY, "variables": variables}
    ).json()
    # then a user of its own tenant changes, any other is "not found" and stays as it was
    assert_leaks_nothing(body, world, tenant_id)
    if target.tenant_id == tenant_id:
        assert "errors" not in body, body
        assert int(body["data"]["core_user_update_user"]["user"]["id"]) == target.id
        assert db_row(runtime, target.id)["city"] == city
    else:
        assert_not_found(body)
        assert db_row(runtime, target.id) == before


def check_delete(
    runtime: Runtime, http: TestClient, world: World, tenant_id: int, target: Person, kind: str
) -> None:
    before = db_row(runtime, target.id)
    # when the tenant client tries to delete a user outside its tenant
    variables = {"target": reference(target, kind)}
    body = graphql(
        http, world.tokens[tenant_id], {"query": DELETE_USER, "variables": variables}
    ).json()
    # then it is told the user was not found, and the row is untouched
    assert_leaks_nothing(body, world, tenant_id)
    assert_not_found(body)
    assert db_row(runtime, target.id) == before


def kinds_for(person: Person) -> list[str]:
    return [k for k in REFERENCE_KINDS if k != "idnumber" or person.idnumber]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(layout=layouts(), data=st.data())
def test_tenant_clients_never_reach_other_tenants(runtime, http, layout, data):
    # given tenants with (some suspended) users, users outside tenants, a client per tenant
    # and a system client
    tenants, outside = layout
    world = build_world(runtime, http, tenants, outside)
    # when a random sequence of requests comes from randomly chosen tenant clients
    for step in range(data.draw(st.integers(1, 6), label="steps")):
        tenant_id = data.draw(st.sampled_from(world.tenant_ids), label="caller")
        action = data.draw(st.sampled_from(("list", "update", "delete")), label="action")
        # then each response respects the tenant boundary (checked inside each helper)
        if action == "list":
            status = data.draw(st.sampled_from(STATUSES), label="status")
            limit = data.draw(st.integers(1, 3), label="limit")
            check_listing(http, world, tenant_id, status, limit)
        elif action == "update":
            target = data.draw(st.sampled_from(world.people), label="target")
            kind = data.draw(st.sampled_from(kinds_for(target)), label="kind")
            check_update(runtime, http, world, tenant_id, target, kind, f"City {step}")
        else:
            target = data.draw(st.sampled_from(world.outsiders(tenant_id)), label="target")
            kind = data.draw(st.sampled_from(kinds_for(target)), label="kind")
            check_delete(runtime, http, world, tenant_id, target, kind)


# --- examples ---------------------------------------------------------------------------------
def two_tenants(runtime: Runtime, http: TestClient) -> World:
    """Two tenants with two users each (one suspended in the first), two users outside."""
    tenant_a, tenant_b = make_tenant(runtime), make_tenant(runtime)
    world = World([tenant_a, tenant_b])
    add_person(runtime, world, "anna", tenant_a)
    add_person(runtime, world, "arno", tenant_a, suspended=True)
    add_person(runtime, world, "bella", tenant_b)
    add_person(runtime, world, "boris", tenant_b)
    add_person(runtime, world, "olga", None)
    add_person(runtime, world, "oscar", None)
    for tenant_id in world.tenant_ids:
        world.clients[tenant_id] = make_api_client(runtime, tenant_id=tenant_id)
        add_service_account(runtime, world, world.clients[tenant_id])
        world.tokens[tenant_id] = fetch_token(http, world.clients[tenant_id])
    world.system_client = make_api_client(runtime)
    add_service_account(runtime, world, world.system_client)
    return world


def test_tenant_client_lists_only_its_tenant_including_itself(runtime, http):
    # given two tenants, users outside tenants, and a client in the first tenant
    world = two_tenants(runtime, http)
    tenant_a = world.tenant_ids[0]
    token = world.tokens[tenant_a]
    # when it lists every user, whatever the suspension state
    items, bodies = list_all(http, token, "ALL")
    # then it gets its tenant's users and its own service account, and total counts only them
    expected = {p.id for p in world.members(tenant_a)}
    assert world.clients[tenant_a].user_id in expected
    assert {int(i["id"]) for i in items} == expected
    assert {i["username"] for i in items} == {p.username for p in world.members(tenant_a)}
    assert bodies[0]["data"]["core_user_users"]["total"] == 3
    assert_leaks_nothing(bodies[0], world, tenant_a)


def test_tenant_client_total_follows_the_status_filter(runtime, http):
    # given a tenant with one active user, one suspended user and the service account
    world = two_tenants(runtime, http)
    tenant_a = world.tenant_ids[0]
    # when it lists active and then suspended users
    active, active_bodies = list_all(http, world.tokens[tenant_a], "ACTIVE")
    suspended, suspended_bodies = list_all(http, world.tokens[tenant_a], "SUSPENDED")
    # then each list and total hold only that tenant's matching users
    service_account = next(p for p in world.people if p.id == world.clients[tenant_a].user_id)
    assert {i["username"] for i in active} == {"anna", service_account.username}
    assert active_bodies[0]["data"]["core_user_users"]["total"] == 2
    assert [i["username"] for i in suspended] == ["arno"]
    assert suspended_bodies[0]["data"]["core_user_users"]["total"] == 1


def test_system_client_lists_everyone(runtime, http):
    # given two tenants, users outside tenants, and a system client
    world = two_tenants(runtime, http)
    assert world.system_client is not None
    token = fetch_token(http, world.system_client)
    # when it lists every user
    items, bodies = list_all(http, token, "ALL", limit=3)
    # then it sees every tenant's users, the users outside tenants and every service account
    expected = {p.id for p in world.people}
    assert {int(i["id"]) for i in items} == expected
    assert bodies[0]["data"]["core_user_users"]["total"] == len(expected) == 9


def test_isolated_system_client_lists_only_users_outside_tenants(runtime, http):
    # given tenant isolation is on
    world = two_tenants(runtime, http)
    assert world.system_client is not None
    with runtime.engine.begin() as conn:
        set_setting(conn, "tenantsisolated", "1")
    token = fetch_token(http, world.system_client)
    # when the system client lists every user
    items, bodies = list_all(http, token, "ALL")
    # then it gets only the users outside tenants (its own service account among them)
    expected = {p.id for p in world.members(None)}
    assert {int(i["id"]) for i in items} == expected
    assert bodies[0]["data"]["core_user_users"]["total"] == len(expected) == 3


def test_isolated_system_client_still_updates_a_tenant_user_by_reference(runtime, http):
    # given tenant isolation is on and a user inside a tenant
    world = two_tenants(runtime, http)
    assert world.system_client is not None
    with runtime.engine.begin() as conn:
        set_setting(conn, "tenantsisolated", "1")
    token = fetch_token(http, world.system_client)
    bella = next(p for p in world.people if p.username == "bella")
    for kind in REFERENCE_KINDS:
        # when the system client changes her city by each kind of reference
        variables = {"target": reference(bella, kind), "city": f"Wellington {kind}"}
        body = graphql(http, token, {"query": UPDATE_CITY, "variables": variables}).json()
        # then the change is made
        assert "errors" not in body, body
        assert body["data"]["core_user_update_user"]["user"]["username"] == "bella"
        assert db_row(runtime, bella.id)["city"] == f"Wellington {kind}"


def test_tenant_client_cannot_update_or_delete_other_tenants_users(runtime, http):
    # given two tenants and users outside tenants
    world = two_tenants(runtime, http)
    tenant_a = world.tenant_ids[0]
    for target in world.outsiders(tenant_a):
        for kind in kinds_for(target):
            # when the first tenant's client aims at a user it must not reach
            # then both mutations fail as "not found" and change nothing
            check_update(runtime, http, world, tenant_a, target, kind, "Nowhere")
            check_delete(runtime, http, world, tenant_a, target, kind)


def test_tenant_client_updates_its_own_users_by_any_reference(runtime, http):
    # given a tenant with a user
    world = two_tenants(runtime, http)
    tenant_a = world.tenant_ids[0]
    anna = next(p for p in world.people if p.username == "anna")
    for kind in REFERENCE_KINDS:
        # when its client changes her city by each kind of reference
        # then it succeeds (checked inside)
        check_update(runtime, http, world, tenant_a, anna, kind, f"Auckland {kind}")
