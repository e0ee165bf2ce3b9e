"""Reading the request log page by page: filters, keyset pages (newest first) and one
request in full.

Pages are cut by keyset, ``(time, id)`` below the last row shown, never by OFFSET: a page
deep in a big log costs what the first one does. Filters on the outcome use the partial
indexes on unsuccessful requests (see :data:`extapi.db.tables.FAILED`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, TextClause, and_, func, or_, select, text

from extapi.db.tables import FAILED, api_clients, api_request_log
from extapi.errors import ValidationError
from extapi.requestlog.listed import REQUEST_COLUMNS, LoggedTime
from extapi.requestlog.outcomes import FILTERS

__all__ = [
    "PAGE_SIZE",
    "LogFilter",
    "Cursor",
    "LogEntry",
    "LogPage",
    "parse_filter",
    "log_page",
    "log_entry",
]

PAGE_SIZE = 50
OPERATION_MAX = 100
_BIGINT = 2**63 - 1
_CURSOR = re.compile(r"(\d{1,19})-(\d{1,19})")
# What <input type="datetime-local"> sends, with or without seconds; read as UTC.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?")

_log = api_request_log.c
_clients = api_clients.c
_LISTED = (*REQUEST_COLUMNS, _clients.client_id, _clients.name)
_DETAILS = (_log.request_id, _log.variables, _log.errors)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the (time, id) of its last row."""

    time: int
    id: int

    def __str__(self) -> str:
        return f"{self.time}-{self.id}"

    @classmethod
    def parse(cls, raw: str) -> Cursor:
        found = _CURSOR.fullmatch(raw)
        if found is None or int(found[1]) > _BIGINT or int(found[2]) > _BIGINT:
            raise ValidationError("The page position is not valid: go back to the first page.")
        return cls(int(found[1]), int(found[2]))


@dataclass(frozen=True)
class LogFilter:
    outcome: str = "all"
    operation: str = ""
    since: int | None = None  # unix seconds, inclusive
    until: int | None = None  # unix seconds, exclusive
    raw: dict[str, str] = field(default_factory=dict)  # as typed, to show in the form

    @property
    def active(self) -> bool:
        return (
            self.outcome != "all"
            or bool(self.operation)
            or self.since is not None
            or (self.until is not None)
        )

    def query(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The filter's query parameters (the empty ones left out), plus ``extra``."""
        params = {k: v for k, v in self.raw.items() if v and not (k == "outcome" and v == "all")}
        return {**params, **(extra or {})}


def _moment(raw: str, label: str) -> int | None:
    if not raw:
        return None
    if _MOMENT.fullmatch(raw) is None:
        raise ValidationError(f"{label} must be a date and time such as 2026-12-05T14:30 (UTC).")
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "T")).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError(f"{label} is not a real date and time.") from None
    return int(moment.timestamp())


def parse_filter(params: Any) -> LogFilter:
    """The filter of a log page's query string; ValidationError saying what is wrong."""
    raw = {
        name: str(params.get(name, "")).strip()
        for name in ("outcome", "operation", "since", "until")
    }
    outcome = raw["outcome"] or "all"
    if outcome not in FILTERS:
        raise ValidationError("Outcome must be one of: " + ", ".join(FILTERS) + ".")
    operation = raw["operation"]
    if len(operation) > OPERATION_MAX or "\x00" in operation:
        raise ValidationError(
            f"The operation name to look for may have at most {OPERATION_MAX} characters."
        )
    since = _moment(raw["since"], "From")
    until = _moment(raw["until"], "To")
    if since is not None and until is not None and until <= since:
        raise ValidationError("To must be later than From.")
    raw["outcome"] = outcome
    return LogFilter(outcome, operation, since, until, raw)


@dataclass(frozen=True)
class LogEntry(LoggedTime):
    id: int
    time: int
    operations: str
    complexity: int
    status: int
    outcome: str
    duration_ms: float
    client_id: str  # the client's public id
    client_name: str
    request_id: str | None = None
    variables: str | None = None
    errors: list[dict[str, str]] | None = None
    errors_raw: str | None = None  # when the stored text was cut and no longer parses

    @property
    def variables_shown(self) -> str | None:
        """The variables indented for reading (as stored when the text was cut)."""
        if self.variables is None:
            return None
        try:
            value = orjson.loads(self.variables)
        except orjson.JSONDecodeError:
            return self.variables
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()

    @property
    def href(self) -> str:
        return f"/admin/clients/{self.client_id}/requests/{self.id}"


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    next: Cursor | None  # where the next (older) page starts; None on the last page


def _conditions(flt: LogFilter, client_pk: int | None) -> list[ColumnElement[bool] | TextClause]:
    conditions: list[ColumnElement[bool] | TextClause] = []
    if client_pk is not None:
        conditions.append(_log.client_id == client_pk)
    outcomes = FILTERS[flt.outcome]
    if outcomes is not None:
        # Stated word for word as in the partial indexes, so that SQLite uses them too.
        conditions.append(text(FAILED))
        conditions.append(_log.outcome.in_(outcomes))
    if flt.operation:
        conditions.append(
            func.lower(_log.operations).contains(flt.operation.lower(), autoescape=True)
        )
    if flt.since is not None:
        conditions.append(_log.time >= flt.since)
    if flt.until is not None:
        conditions.append(_log.time < flt.until)
    return conditions


def log_page(
    conn: Connection,
    flt: LogFilter,
    client_pk: int | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> LogPage:
    """One page of the log (one client's, or every client's), newest first."""
    conditions = _conditions(flt, client_pk)
    if before is not None:
        conditions.append(
            or_(_log.time < before.time, and_(_log.time == before.time, _log.id < before.id))
        )
    query = (
        select(*_LISTED)
        .join_from(api_request_log, api_clients, _log.client_id == _clients.id)
        .where(*conditions)
        .order_by(_log.time.desc(), _log.id.desc())
        .limit(size + 1)
    )
    rows = conn.execute(query).all()
    entries = [_entry(row) for row in rows[:size]]
    last = entries[-1] if len(rows) > size else None
    return LogPage(entries, None if last is None else Cursor(last.time, last.id))


def _entry(row: Any, details: bool = False) -> LogEntry:
    entry_id, time, operations, complexity, status, outcome, ms, client_id, name = row[:9]
    base: dict[str, Any] = {}
    if details:
        request_id, variables, errors = row[9:12]
        parsed, raw = _errors(errors)
        base = {"request_id": request_id, "variables": variables, "errors": parsed}
        base["errors_raw"] = raw
    return LogEntry(
        int(entry_id),
        int(time),
        operations,
        int(complexity),
        int(status),
        outcome,
        float(ms),
        client_id,
        name,
        **base,
    )


def _errors(stored: str | None) -> tuple[list[dict[str, str]] | None, str | None]:
    """The stored errors as a list, or (when the text was cut) the text itself."""
    if stored is None:
        return None, None
    try:
        value = orjson.loads(stored)
    except orjson.JSONDecodeError:
        return None, stored
    if not isinstance(value, list):
        return None, stored
    return [e for e in value if isinstance(e, dict)], None


def log_entry(conn: Connection, client_pk: int, entry_id: int) -> LogEntry | None:
    """One request of the client, with what the log keeps of it; None when there is none
    (or it has been pruned)."""
    if not 0 < entry_id <= _BIGINT:
        return None
    query = (
        select(*_LISTED, *_DETAILS)
        .join_from(api_request_log, api_clients, _log.client_id == _clients.id)
        .where(_log.id == entry_id, _log.client_id == client_pk)
    )
    row = conn.execute(query).first()
    return None if row is None else _entry(row, details=True)
