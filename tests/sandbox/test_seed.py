"""The sandbox seed file: its checks name the entry at fault, and it creates through the
services (so every rule of the API applies), on either database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from extapi.auth.secrets import SecretHasher
from extapi.db.tables import hierarchy_items, job_assignments, profile_data, users
from extapi.people.tenants import list_tenants
from extapi.runtime import Runtime
from extapi.sandbox.seed import EXAMPLE_SEED, SeedError, apply_seed, check_seed, load_seed
from extapi.settings.site import load_site_settings

HASHER = SecretHasher(b"seed-test")
MENU = {"shortname": "d", "name": "D", "type": "menu", "options": ["A"]}


def _apply(runtime: Runtime, data: dict[str, Any]) -> dict[str, Any]:
    with runtime.engine.begin() as conn:
        return dict(apply_seed(conn, HASHER, check_seed(data)))


def _seed_error(runtime: Runtime | None, data: dict[str, Any]) -> str:
    with pytest.raises(SeedError) as caught:
        if runtime is None:
            check_seed(data)
        else:
            _apply(runtime, data)
    return caught.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"people": []}, "Unknown seed section 'people'"),
        ({"users": {"username": "a"}}, "users: must be a list of entries ([[users]] in TOML)."),
        ({"users": ["ava"]}, "users[0]: each entry must be a table of keys and values."),
        (
            {"users": [{"username": "ava", "firstname": "A", "lastname": "N", "mail": "x"}]},
            "users[0] (ava): unknown key 'mail'",
        ),
        (
            {"users": [{"username": "ava", "firstname": "A"}]},
            "users[0] (ava): the key 'lastname' is required.",
        ),
        (
            {"clients": [{"name": "Sync", "enabled": "yes"}]},
            "clients[0] (Sync): 'enabled' must be true or false.",
        ),
        (
            {"profile_fields": [{"shortname": "d", "name": "D", "type": "text", "visible": True}]},
            "profile_fields[0] (d): 'visible' must be a whole number.",
        ),
        ({"settings": {"timezone": ["UTC"]}}, "settings: must be a table"),
    ],
)
def test_malformed_entries_are_refused_naming_the_entry(data: dict[str, Any], message: str) -> None:
    # given a seed with one malformed part
    # when it is checked
    # then the error names the part and what is wrong with it
    assert _seed_error(None, data).startswith(message)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"users": [{"username": "ava", "firstname": "A", "lastname": "N", "email": "ava"}]},
            "users[0] (ava): Invalid email format: ava",
        ),
        (
            {"users": [{"username": "ava", "firstname": "A", "lastname": "N", "tenant": "nope"}]},
            "users[0] (ava): Tenant 'nope' does not exist.",
        ),
        (
            {
                "frameworks": [{"kind": "team", "idnumber": "F", "fullname": "F"}],
            },
            "frameworks[0] (F): kind must be one of organisation, position, got 'team'.",
        ),
        (
            {"positions": [{"idnumber": "P", "fullname": "P", "framework": "missing"}]},
            "positions[0] (P): The position framework does not exist",
        ),
        (
            {
                "users": [{"username": "ava", "firstname": "A", "lastname": "N"}],
                "job_assignments": [{"user": "ava", "idnumber": "J", "position": "nope"}],
            },
            "job_assignments[0] (ava/J):",
        ),
        (
            {
                "profile_fields": [
                    {"shortname": "d", "name": "D", "type": "menu", "options": ["A"]}
                ],
                "users": [
                    {"username": "ava", "firstname": "A", "lastname": "N", "profile": {"d": "Z"}}
                ],
            },
            "users[0] (ava):",
        ),
        (
            {
                "users": [
                    {"username": "ava", "firstname": "A", "lastname": "N", "profile": {"x": "1"}}
                ]
            },
            "users[0] (ava): profile: no custom profile field 'x'.",
        ),
        ({"settings": {"timezone": "Mars/Base"}}, "settings.timezone: Unknown timezone"),
        (
            {"clients": [{"name": "Sync"}, {"name": "Sync"}]},
            "clients[1] (Sync): another client has the same name.",
        ),
    ],
)
def test_entries_the_services_refuse_are_reported_with_the_entry(
    runtime: Runtime, data: dict[str, Any], message: str
) -> None:
    # given a well-formed seed that breaks a rule of the services
    # when it is applied
    # then the services' reason comes back, prefixed with the entry
    assert _seed_error(runtime, data).startswith(message)


def test_a_refused_seed_writes_nothing(runtime: Runtime) -> None:
    # given a seed whose last entry is refused
    data = {
        "tenants": [{"idnumber": "acme", "name": "Acme"}],
        "users": [{"username": "ava", "firstname": "A", "lastname": "N", "email": "bad"}],
    }
    # when it is applied in one transaction
    _seed_error(runtime, data)
    # then the tenant before it was not kept either
    with runtime.engine.connect() as conn:
        assert list_tenants(conn) == []


def test_the_example_seed_creates_everything_it_lists(runtime: Runtime) -> None:
    # given the example seed shipped in the package
    seed = load_seed(EXAMPLE_SEED)
    # when it is applied
    with runtime.engine.begin() as conn:
        clients = apply_seed(conn, HASHER, seed)
    # then its users, positions, organisations, job assignments and profile values exist
    with runtime.engine.connect() as conn:
        usernames = set(conn.execute(select(users.c.username)).scalars())
        items = set(conn.execute(select(hierarchy_items.c.idnumber)).scalars())
        jobs = conn.execute(select(job_assignments.c.idnumber, job_assignments.c.manager_ja_id))
        values = set(conn.execute(select(profile_data.c.data)).scalars())
    assert {"ava.nguyen", "ben.okafor", "hr.sync.service"} <= usernames
    assert items == {"HQ", "ENG", "CTO", "DEV"}
    managed = {idnumber: manager for idnumber, manager in jobs}
    assert managed["AVA-1"] is None and managed["BEN-1"] is not None
    assert "Engineering" in values
    # and its client has a secret that is returned once
    assert list(clients) == ["HR sync"]
    assert len(clients["HR sync"].client_secret) >= 30


def test_settings_and_tenant_clients_are_seeded(runtime: Runtime) -> None:
    # given a seed with a site setting and a tenant client with a named service account
    data = {
        "settings": {"enable_introspection": True},
        "tenants": [{"idnumber": "acme", "name": "Acme"}],
        "users": [{"username": "acme.bot", "firstname": "A", "lastname": "B", "tenant": "acme"}],
        "clients": [{"name": "Acme sync", "tenant": "acme", "service_account": "acme.bot"}],
    }
    # when it is applied
    clients = _apply(runtime, data)
    # then the setting is on and the client belongs to the tenant
    with runtime.engine.connect() as conn:
        assert load_site_settings(conn).enable_introspection == 1
    assert clients["Acme sync"].tenant == "acme"
    assert clients["Acme sync"].service_account == "acme.bot"


def test_seed_files_are_read_as_toml_or_json(tmp_path: Path) -> None:
    # given the same seed as JSON, and a file that is not TOML
    as_json = tmp_path / "seed.json"
    as_json.write_text(json.dumps({"tenants": [{"idnumber": "t", "name": "T"}]}))
    broken = tmp_path / "seed.toml"
    broken.write_text("[[tenants]\n")
    # when they are loaded
    # then JSON is read, and the broken file and a missing one are refused by name
    assert load_seed(as_json)["tenants"] == [{"idnumber": "t", "name": "T"}]
    with pytest.raises(SeedError, match=r"seed.toml is not valid TOML"):
        load_seed(broken)
    with pytest.raises(SeedError, match=r"Can not read the seed file .*missing.toml"):
        load_seed(tmp_path / "missing.toml")
