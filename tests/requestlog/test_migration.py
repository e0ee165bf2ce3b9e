"""Migration 0008: the request log's detail columns, its partial indexes and each usage
minute's budget, added to a log that already holds rows, and taken away again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from extapi.db.engine import make_engine
from extapi.db.migrate import alembic_config, current_revision, head_revision, migrate
from tests.conftest import BACKENDS
from tests.support.databases import empty_postgres_database


@pytest.fixture(params=BACKENDS)
def engine_at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = make_engine(url)
        command.upgrade(alembic_config(engine), "0007")
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("postgres_session_url")
    with empty_postgres_database(server, "migration") as url:
        engine = make_engine(url)
        command.upgrade(alembic_config(engine), "0007")
        yield engine
        engine.dispose()


def _seed_old_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_clients (client_id, name, description, secret_hash, status, "
                "time_created, time_modified) VALUES ('c1', 'Old', '', 'x', true, 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO api_request_log (client_id, time, operations, complexity, status, "
                "outcome, duration_ms) SELECT id, 100, 'Old', 7, 200, 'success', 1.0 "
                "FROM api_clients"
            )
        )


def test_old_rows_keep_and_gain_empty_details_and_back(engine_at_0007: Engine) -> None:
    # given a database at 0007 whose log holds a row
    engine = engine_at_0007
    _seed_old_rows(engine)
    # when the database is brought to the head
    migrate(engine)
    assert current_revision(engine) == head_revision(engine)
    # then the old row is kept, with no details, and the new columns and indexes exist
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT operations, request_id, variables, errors FROM api_request_log")
        ).one()
        assert tuple(row) == ("Old", None, None, None)
    found = inspect(engine)
    indexes = {i["name"] for i in found.get_indexes("api_request_log")}
    assert {"ix_api_request_log_client_failed", "ix_api_request_log_failed"} <= indexes
    assert "budget" in {c["name"] for c in found.get_columns("api_usage_minutes")}
    # and when it is taken back to 0007, the row stays and the additions go
    command.downgrade(alembic_config(engine), "0007")
    found = inspect(engine)
    assert "request_id" not in {c["name"] for c in found.get_columns("api_request_log")}
    assert "budget" not in {c["name"] for c in found.get_columns("api_usage_minutes")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT operations FROM api_request_log")).scalar() == "Old"
