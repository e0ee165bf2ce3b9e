"""RequestLog: batching, retention, the memory bound and failures, on real databases."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from extapi.auth import clients
from extapi.db.engine import make_engine
from extapi.db.tables import api_usage_minutes
from extapi.requestlog.buffer import RequestLog
from extapi.runtime import Runtime
from tests.factories import make_api_client
from tests.requestlog.support import last_used, stored_rows

NOW = 1_800_000_000  # a fixed clock: 2027-01-15 08:00 UTC
HOUR = 3600


def _record(log: RequestLog, client_pk: int, at: int, operations: str = "op") -> None:
    log.record(client_pk, operations, 7, 200, "success", 1.5, at)


@pytest.fixture
def log(runtime: Runtime) -> RequestLog:
    """A log kept for 24 hours, writing to the test database."""
    return RequestLog(runtime.engine, retention_hours=24)


def test_flush_writes_the_buffer_in_one_go(runtime, log):
    # given three buffered requests of one client
    client = make_api_client(runtime)
    for n in range(3):
        _record(log, client.id, NOW + n, f"op{n}")
    # when the log is flushed
    written = log.flush(NOW + 5)
    # then all three are stored, the buffer is empty and the client's last use is the latest
    assert written == 3
    assert log.pending() == 0
    assert [r["operations"] for r in stored_rows(runtime)] == ["op0", "op1", "op2"]
    assert last_used(runtime, client.id) == NOW + 2


def test_last_use_never_moves_back(runtime, log):
    # given a client last used at NOW (flushed by one worker)
    client = make_api_client(runtime)
    _record(log, client.id, NOW)
    log.flush(NOW)
    # when another worker flushes an older request afterwards
    late = RequestLog(runtime.engine, retention_hours=24)
    _record(late, client.id, NOW - 30)
    late.flush(NOW)
    # then the last use stays at NOW
    assert last_used(runtime, client.id) == NOW


def test_pruning_deletes_only_rows_past_the_retention(runtime, log):
    # given rows from 25 hours ago, 23 hours ago and now, in a log kept for 24 hours
    client = make_api_client(runtime)
    for age in (25 * HOUR, 23 * HOUR, 0):
        _record(log, client.id, NOW - age, f"{age // HOUR}h")
    # when the log is flushed
    log.flush(NOW)
    # then the row past the retention is gone and the others stay
    assert [r["operations"] for r in stored_rows(runtime)] == ["23h", "0h"]


def test_pruning_runs_at_most_once_a_minute(runtime, log):
    # given a flush that just pruned
    client = make_api_client(runtime)
    log.flush(NOW)
    # when a row past the retention arrives and the log is flushed 30 s later
    _record(log, client.id, NOW - 30 * HOUR)
    log.flush(NOW + 30)
    # then it stays until a flush a minute after the last pruning
    assert len(stored_rows(runtime)) == 1
    log.flush(NOW + 61)
    assert stored_rows(runtime) == []


def test_the_buffer_keeps_the_newest_rows_within_its_bound(runtime):
    # given a log bounded to three rows
    client = make_api_client(runtime)
    log = RequestLog(runtime.engine, retention_hours=24, limit=3)
    # when five requests arrive before a flush
    for n in range(5):
        _record(log, client.id, NOW + n, f"op{n}")
    # then the two oldest were dropped and counted
    assert (log.pending(), log.dropped) == (3, 2)
    log.flush(NOW + 5)
    assert [r["operations"] for r in stored_rows(runtime)] == ["op2", "op3", "op4"]


def test_a_failed_flush_keeps_the_rows_within_the_bound(runtime, tmp_path: Path, caplog):
    # given a log whose database cannot be opened (a directory that does not exist)
    client = make_api_client(runtime)
    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'log.db'}")
    log = RequestLog(broken, retention_hours=24, limit=4)
    for n in range(3):
        _record(log, client.id, NOW + n, f"op{n}")
    # when it flushes
    with caplog.at_level(logging.WARNING, logger="extapi.requestlog"):
        assert log.flush(NOW + 5) == 0
    # then a warning is logged and the rows are kept
    assert "could not write 3 rows" in caplog.text
    assert log.pending() == 3
    # and when more arrive than the bound holds, the oldest are dropped
    for n in range(3, 6):
        _record(log, client.id, NOW + n, f"op{n}")
    assert log.flush(NOW + 6) == 0
    assert (log.pending(), log.dropped) == (4, 2)
    # and once the database is back, the kept rows are written in order
    log.engine = runtime.engine
    assert log.flush(NOW + 7) == 4
    assert [r["operations"] for r in stored_rows(runtime)] == ["op2", "op3", "op4", "op5"]
    broken.dispose()


def test_rows_of_a_deleted_client_do_not_break_the_flush(runtime, log):
    # given buffered rows of two clients, one of which is then deleted
    kept = make_api_client(runtime, name="Kept")
    gone = make_api_client(runtime, name="Gone")
    _record(log, kept.id, NOW, "kept")
    _record(log, gone.id, NOW, "gone")
    with runtime.engine.begin() as conn:
        clients.delete_client(conn, gone.client_id)
    # when the log is flushed
    written = log.flush(NOW + 1)
    # then the remaining client's row is stored and the deleted client's is skipped
    assert written == 1
    assert [r["operations"] for r in stored_rows(runtime)] == ["kept"]
    assert log.pending() == 0


def test_deleting_a_client_deletes_its_log(runtime, log):
    # given logged requests of two clients
    kept = make_api_client(runtime, name="Kept")
    gone = make_api_client(runtime, name="Gone")
    _record(log, kept.id, NOW, "kept")
    _record(log, gone.id, NOW, "gone")
    log.flush(NOW)
    # when one client is deleted
    with runtime.engine.begin() as conn:
        clients.delete_client(conn, gone.client_id)
    # then its rows and per-minute sums go with it
    assert [r["operations"] for r in stored_rows(runtime)] == ["kept"]
    with runtime.engine.connect() as conn:
        sums = conn.execute(select(api_usage_minutes.c.client_id)).scalars().all()
    assert sums == [kept.id]


def test_values_are_fitted_to_their_columns(runtime, log):
    # given a request with a very long label and a cost above a 32-bit integer
    client = make_api_client(runtime)
    log.record(client.id, "x" * 1000, 2**40, 200, "success", 0.25, NOW)
    # when it is written
    log.flush(NOW)
    row = stored_rows(runtime)[0]
    # then it fits
    assert (len(row["operations"]), row["complexity"]) == (255, 2**31 - 1)
    assert row["duration_ms"] == pytest.approx(0.25)


def test_a_disabled_log_records_nothing(runtime):
    client = make_api_client(runtime)
    log = RequestLog(runtime.engine, retention_hours=24, enabled=False)
    _record(log, client.id, NOW)
    assert log.pending() == 0


def test_two_workers_flushing_at_once_do_not_deadlock(runtime, caplog):
    # given two workers' logs holding the same two clients in opposite orders
    first, second = make_api_client(runtime, name="A"), make_api_client(runtime, name="B")
    workers = [RequestLog(runtime.engine, retention_hours=24) for _ in range(2)]
    caplog.set_level(logging.WARNING, logger="extapi.requestlog")
    for round_ in range(40):
        _record(workers[0], first.id, NOW + round_)
        _record(workers[0], second.id, NOW + round_)
        _record(workers[1], second.id, NOW + round_)
        _record(workers[1], first.id, NOW + round_)
        # when both flush at the same moment
        threads = [threading.Thread(target=w.flush, args=(NOW + round_,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # then every row was written at the first try, with no warning
    assert len(stored_rows(runtime)) == 160
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_batch_the_database_refuses_is_dropped_and_the_log_goes_on(runtime, log):
    # given a row the database refuses (a status beyond its column), then a good row
    client = make_api_client(runtime)
    log.record(client.id, "bad", 7, 2**40, "success", 1.0, NOW)
    log.flush(NOW)
    _record(log, client.id, NOW + 1, "good")
    # when the log is flushed again
    log.flush(NOW + 1)
    # then the good row is stored and nothing waits: the refused batch was dropped and
    # counted (or, on a database that does not check, stored)
    assert "good" in [r["operations"] for r in stored_rows(runtime)]
    assert log.pending() == 0
    assert log.dropped + len(stored_rows(runtime)) == 2
