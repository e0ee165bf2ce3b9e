"""The SQL behind a flush: the log rows in one statement, each client's last use, pruning."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import BigInteger, Connection, bindparam, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.elements import BindParameter

from extapi.db.tables import api_clients, api_request_log, api_usage_minutes
from extapi.requestlog.outcomes import ERROR, IP_NOT_ALLOWED, RATE_LIMITED, REFUSED

__all__ = ["Row", "write_rows", "prune", "OPERATIONS_MAX", "COMPLEXITY_MAX"]

# (client db id, unix time, operations, complexity, HTTP status, outcome, duration in ms,
#  the client's per-minute budget then, request id, variables text, errors text): the last
#  three may be None (see extapi.requestlog.details for the texts).
Row = tuple[int, int, str, int, int, str, float, int, str | None, str | None, str | None]

OPERATIONS_MAX = 255
COMPLEXITY_MAX = 2_147_483_647  # the column is a 32-bit integer; max_query_complexity is not

_last: BindParameter[int] = bindparam("last", type_=BigInteger)
# A client's last use only moves forward: several workers flush in no particular order. The
# row is updated (and so locked) even when the time stays, so that a client deleted by another
# transaction cannot disappear between this update and the insert below (PostgreSQL).
_TOUCH = (
    update(api_clients)
    .where(api_clients.c.id == bindparam("client"))
    .values(
        time_last_used=case(
            (api_clients.c.time_last_used.is_(None), _last),
            (api_clients.c.time_last_used < _last, _last),
            else_=api_clients.c.time_last_used,
        )
    )
)
_EXISTING = select(api_clients.c.id).where(api_clients.c.id.in_(bindparam("ids", expanding=True)))
_COLUMNS = (
    "client_id, time, operations, complexity, status, outcome, duration_ms, "
    "request_id, variables, errors"
)
# All rows go in as one statement with one JSON parameter. Row by row (executemany) the
# driver releases the GIL around every row, and under load each release costs a wait for the
# serving thread to hand the GIL back: 10,000 rows then took seconds and slowed every request.
_INSERT_SQL = {
    "sqlite": f"""
        INSERT INTO api_request_log ({_COLUMNS})
        SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
               json_extract(value, '$[2]'), json_extract(value, '$[3]'),
               json_extract(value, '$[4]'), json_extract(value, '$[5]'),
               json_extract(value, '$[6]'), json_extract(value, '$[8]'),
               json_extract(value, '$[9]'), json_extract(value, '$[10]')
        FROM json_each(?)
    """,
    "postgresql": f"""
        INSERT INTO api_request_log ({_COLUMNS})
        SELECT (r->>0)::integer, (r->>1)::bigint, r->>2, (r->>3)::integer,
               (r->>4)::smallint, r->>5, (r->>6)::double precision, r->>8, r->>9, r->>10
        FROM json_array_elements(%s::json) AS r
    """,
}
# Outcomes counted as errors in the per-minute sums.
FAILED_OUTCOMES = frozenset({ERROR, IP_NOT_ALLOWED, REFUSED})
_PRUNE = delete(api_request_log).where(api_request_log.c.time < bindparam("cutoff"))
_PRUNE_MINUTES = delete(api_usage_minutes).where(
    api_usage_minutes.c.minute < bindparam("cutoff_minute")
)
_SUMS = ("points", "requests", "errors", "rate_limited")
# A minute's budget is the lowest written for it: workers flush in no particular order.
_BUDGET = api_usage_minutes.c.budget


def _fitted(row: Row) -> Row:
    """``row`` cut to its columns: a label past 255 characters, a cost past 32 bits."""
    cost = min(max(row[3], 0), COMPLEXITY_MAX)
    return (*row[:2], row[2][:OPERATIONS_MAX], cost, *row[4:])


def write_rows(conn: Connection, rows: Sequence[Row]) -> int:
    """Store ``rows`` and move each client's ``time_last_used``, in the caller's transaction.

    Rows of clients deleted since the request are skipped. Returns the rows written. The site
    revision is not bumped: nothing cached depends on these columns.
    """
    if not rows:
        return 0
    latest: dict[int, int] = {}
    for row in rows:
        if row[1] > latest.get(row[0], -1):
            latest[row[0]] = row[1]
    # Rows are locked in client order (and below in client and minute order), so that two
    # workers flushing at once can not deadlock on PostgreSQL.
    conn.execute(_TOUCH, [{"client": c, "last": t} for c, t in sorted(latest.items())])
    existing = set(conn.execute(_EXISTING, {"ids": list(latest)}).scalars())
    kept = [
        row if len(row[2]) <= OPERATIONS_MAX and 0 <= row[3] <= COMPLEXITY_MAX else _fitted(row)
        for row in rows
        if row[0] in existing
    ]
    if kept:
        conn.exec_driver_sql(_INSERT_SQL[conn.dialect.name], (orjson.dumps(kept).decode(),))
        _roll_up(conn, kept)
    return len(kept)


def _minute_sums(rows: Sequence[Row]) -> list[dict[str, int | None]]:
    sums: dict[tuple[int, int], list[int]] = {}
    budgets: dict[tuple[int, int], int] = {}
    for row in rows:
        client_id, time, _ops, complexity, _status, outcome, _ms, budget = row[:8]
        key = (client_id, time // 60)
        entry = sums.get(key)
        if entry is None:
            entry = sums[key] = [0, 0, 0, 0]
            budgets[key] = budget
        elif budget > 0 and (budget < budgets[key] or budgets[key] <= 0):
            budgets[key] = budget  # 0: not known
        limited = outcome == RATE_LIMITED
        entry[0] += 0 if limited else complexity  # a refused request is not charged
        entry[1] += 1
        entry[2] += outcome in FAILED_OUTCOMES  # refused (address, account) counts too
        entry[3] += limited
    return [
        {
            "client_id": c,
            "minute": m,
            **dict(zip(_SUMS, values, strict=True)),
            "budget": budgets[(c, m)] if budgets[(c, m)] > 0 else None,
        }
        for (c, m), values in sorted(sums.items())
    ]


def _roll_up(conn: Connection, rows: Sequence[Row]) -> None:
    """Add the rows to their clients' per-minute sums (one upsert per client and minute)."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(api_usage_minutes)
    excluded = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=["client_id", "minute"],
        set_={
            **{name: api_usage_minutes.c[name] + excluded[name] for name in _SUMS},
            "budget": case(
                (_BUDGET.is_(None), excluded.budget),
                (excluded.budget < _BUDGET, excluded.budget),
                else_=_BUDGET,
            ),
        },
    )
    conn.execute(upsert, _minute_sums(rows))


def prune(conn: Connection, cutoff: int) -> int:
    """Delete the rows logged before ``cutoff`` (unix seconds), and the per-minute sums of
    the minutes before it; returns how many log rows went."""
    conn.execute(_PRUNE_MINUTES, {"cutoff_minute": cutoff // 60})
    return int(conn.execute(_PRUNE, {"cutoff": cutoff}).rowcount or 0)
