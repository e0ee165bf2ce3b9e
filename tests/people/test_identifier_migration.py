"""The migration that makes the database enforce unique usernames, idnumbers and e-mail
addresses: on a database that already holds clashes it refuses, listing them, and changes
nothing; once they are fixed it applies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from extapi.cli import cli
from extapi.db.engine import make_engine
from extapi.db.migrate import alembic_config, current_revision, head_revision, migrate
from extapi.db.tables import users
from extapi.errors import MigrationRefused
from tests.conftest import BACKENDS
from tests.support.databases import empty_postgres_database

REVISION = "0007"


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    server = request.getfixturevalue("postgres_session_url")
    with empty_postgres_database(server, "migration") as url:
        yield url


def _go_before(engine: Engine) -> None:
    """Bring the database to the revision this migration follows, from either side."""
    config = alembic_config(engine)
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    if current_revision(engine) is None:
        command.upgrade(config, before)
    else:
        command.downgrade(config, before)


@pytest.fixture
def old_engine(empty_url: str) -> Iterator[Engine]:
    """A database at the revision before this migration."""
    engine = make_engine(empty_url)
    _go_before(engine)
    yield engine
    engine.dispose()


def _add(engine: Engine, username: str, **fields: Any) -> int:
    now = int(time.time())
    row = {
        "username": username,
        "email": f"{username}@example.com",
        "firstname": "Old",
        "lastname": "Data",
        "timecreated": now,
        "timemodified": now,
        **fields,
    }
    with engine.begin() as conn:
        return int(conn.execute(insert(users), row).inserted_primary_key[0])


def test_clashes_already_stored_are_listed_and_nothing_changes(old_engine, empty_url):
    # given users that already share a username, an e-mail address and an idnumber
    a = _add(old_engine, "dup", email="a@example.com")
    b = _add(old_engine, "dup", email="b@example.com")
    c = _add(old_engine, "c", email="same@example.com")
    d = _add(old_engine, "d", email="same@example.com", idnumber="ID-1")
    e = _add(old_engine, "e", idnumber="ID-1")
    # and users that may share: blank and zero idnumbers, cleared e-mail addresses of the deleted
    for name in ("z1", "z2"):
        _add(old_engine, name, idnumber="0")
        _add(old_engine, f"{name}.blank", idnumber=" ")
        _add(old_engine, f"deleted.{name}", email="", deleted=True)
    before = current_revision(old_engine)
    # when the database is migrated
    with pytest.raises(MigrationRefused) as refused:
        migrate(old_engine)
    # then it refuses, naming every clash and the users involved, and what to do
    message = refused.value.message
    assert f"username 'dup': users {a}, {b}" in message
    assert f"email 'same@example.com': users {c}, {d}" in message
    assert f"idnumber 'ID-1': users {d}, {e}" in message
    assert "'0'" not in message and "deleted" not in message
    assert "extapi migrate" in message
    # and the database is left as it was
    assert current_revision(old_engine) == before
    # and the command line says the same on stderr, without a traceback
    env = {"EXTAPI_DATABASE_URL": empty_url, "EXTAPI_SECRET_KEY": "test"}
    result = CliRunner().invoke(cli, ["migrate"], env=env)
    assert result.exit_code == 1
    assert f"username 'dup': users {a}, {b}" in result.stderr
    assert "Traceback" not in result.output


def test_once_fixed_the_database_enforces_uniqueness(old_engine):
    # given a clash that an administrator has fixed
    _add(old_engine, "dup")
    second = _add(old_engine, "dup", email="second@example.com")
    with pytest.raises(MigrationRefused):
        migrate(old_engine)
    with old_engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == second).values(username="dup2"))
    # when the database is migrated again, then it reaches the newest revision
    migrate(old_engine)
    assert current_revision(old_engine) == head_revision(old_engine)
    # and the database itself now refuses every kind of clash
    for clash in (
        {"username": "dup"},
        {"username": "new1", "email": "dup@example.com"},
        {"username": "new2", "idnumber": "X"},
    ):
        if "idnumber" in clash:
            _add(old_engine, "holder", idnumber="X")
        with pytest.raises(IntegrityError):
            _add(old_engine, **clash)
    # but PHP-empty idnumbers may still be shared
    _add(old_engine, "zero1", idnumber="0")
    _add(old_engine, "zero2", idnumber="0")
    with old_engine.connect() as conn:
        assert conn.execute(select(users.c.id).where(users.c.idnumber == "0")).all()


def test_the_migration_can_be_undone(old_engine):
    migrate(old_engine)
    _go_before(old_engine)
    _add(old_engine, "dup")
    _add(old_engine, "dup", email="other@example.com")  # allowed again
