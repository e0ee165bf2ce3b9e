"""`extapi serve --demo`: a useful seeded site, with credentials that survive a restart."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import Connection, func, select

from extapi.db import tables
from extapi.demo import DEMO_FILE_NAME, credentials_path, seed_demo
from tests.factories import TOKEN_PATH, graphql

STATUS_OK = {"data": {"totara_webapi_status": {"status": "ok"}}}
COUNTED = (
    tables.tenants,
    tables.users,
    tables.api_clients,
    tables.profile_fields,
    tables.profile_data,
    tables.hierarchy_frameworks,
    tables.hierarchy_items,
    tables.job_assignments,
    tables.role_assignments,
    tables.site_admins,
)


def _counts(conn: Connection) -> dict[str, int]:
    return {
        table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
        for table in COUNTED
    }


def _status_with(http, client_id: str, secret: str) -> dict:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = http.post(TOKEN_PATH, data=form)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    return graphql(http, token, {"query": "{ totara_webapi_status { status } }"}).json()


@pytest.fixture
def seed(runtime, database_url, tmp_path: Path):
    """Seed the demo as `serve --demo` does at each start; the credentials file in tmp_path."""
    path = tmp_path / DEMO_FILE_NAME

    def start():  # type: ignore[no-untyped-def]
        with runtime.engine.begin() as conn:
            return seed_demo(conn, runtime.hasher, database_url, path)

    start.path = path  # type: ignore[attr-defined]
    return start


def test_demo_seeds_tenants_people_jobs_and_profile_fields(seed, runtime):
    # when the demo is seeded
    seed()
    with runtime.engine.connect() as conn:
        tenant_names = conn.execute(select(tables.tenants.c.idnumber)).scalars().all()
        per_tenant = dict(
            conn.execute(
                select(tables.users.c.tenant_id, func.count()).group_by(tables.users.c.tenant_id)
            ).all()
        )
        managed = conn.execute(
            select(func.count()).where(tables.job_assignments.c.manager_ja_id.is_not(None))
        ).scalar_one()
        depth = conn.execute(select(func.max(tables.hierarchy_items.c.depth))).scalar_one()
        kinds = conn.execute(select(tables.hierarchy_frameworks.c.kind)).scalars().all()
        fields = conn.execute(select(func.count()).select_from(tables.profile_fields)).scalar()
        valued = conn.execute(
            select(func.count(func.distinct(tables.profile_data.c.field_id)))
        ).scalar()
        counts = _counts(conn)
    # then there are two tenants, each with people, and people outside tenants
    assert sorted(tenant_names) == ["contoso", "northwind"]
    assert len(per_tenant) == 3 and all(n >= 4 for n in per_tenant.values())
    assert counts["users"] >= 20
    # an organisation and a position framework, with a hierarchy three levels deep
    assert sorted(kinds) == ["organisation", "position"]
    assert depth >= 3
    # job assignments for everyone, most with a manager
    assert counts["job_assignments"] >= 20 and managed >= 15
    # and five custom profile fields, each with values
    assert fields == 5 and valued == 5


def test_demo_credentials_stay_the_same_across_restarts(seed, runtime, http):
    # given a demo site started once
    first = seed()
    path: Path = seed.path
    with runtime.engine.connect() as conn:
        before = _counts(conn)
    # then its credentials are kept in a file only the owner may read or write
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["client_secret"] == first.client_secret
    # when the server starts again
    second = seed()
    # then the same credentials are printed, they work, and nothing was added twice
    assert second == first
    assert _status_with(http, second.client_id, second.client_secret) == STATUS_OK
    signed_in = http.post(
        "/login",
        data={"username": second.admin_username, "password": second.admin_password},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    with runtime.engine.connect() as conn:
        assert _counts(conn) == before


def test_a_secret_the_database_no_longer_accepts_is_replaced(seed, runtime, http):
    # given a demo site whose client secret was rotated and admin password changed elsewhere
    first = seed()
    from extapi.auth.clients import rotate_secret
    from extapi.people.users import get_user_by_username, set_password

    with runtime.engine.begin() as conn:
        rotate_secret(conn, runtime.hasher, first.client_id)
        set_password(conn, get_user_by_username(conn, "admin")["id"], "Other-pass-1")
    # when the server starts again
    second = seed()
    # then new working credentials are made, for the same client, and written to the file
    assert second.client_id == first.client_id
    assert second.client_secret != first.client_secret
    assert second.admin_password not in (first.admin_password, "Other-pass-1")
    assert _status_with(http, second.client_id, second.client_secret) == STATUS_OK
    assert json.loads(seed.path.read_text())["client_secret"] == second.client_secret
    assert stat.S_IMODE(seed.path.stat().st_mode) == 0o600


def test_a_file_for_another_database_is_not_used(seed, tmp_path: Path):
    # given a credentials file written for another database
    first = seed()
    data = json.loads(seed.path.read_text())
    seed.path.write_text(json.dumps({**data, "database": "somewhere else"}))
    # when the demo starts, then the secret is replaced (it can not be known to match)
    second = seed()
    assert second.client_secret != first.client_secret
    assert json.loads(seed.path.read_text())["database"] == second.database


def test_the_credentials_file_sits_next_to_a_sqlite_database(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert credentials_path(f"sqlite:///{tmp_path}/data/x.db") == tmp_path / "data" / DEMO_FILE_NAME
    assert credentials_path("sqlite:///extapi.db") == tmp_path / DEMO_FILE_NAME
    assert credentials_path("postgresql://u:p@db/extapi") == tmp_path / DEMO_FILE_NAME
