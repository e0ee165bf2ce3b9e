"""What every list of logged requests reads and shows: the columns of one request and its
time written out in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from extapi.db.tables import api_request_log

__all__ = ["REQUEST_COLUMNS", "utc_text", "LoggedTime"]

_log = api_request_log.c
# In this order: id, time, operations, complexity, status, outcome, duration_ms.
REQUEST_COLUMNS = (
    _log.id,
    _log.time,
    _log.operations,
    _log.complexity,
    _log.status,
    _log.outcome,
    _log.duration_ms,
)


def utc_text(seconds: int, pattern: str) -> str:
    """``seconds`` (unix time) in UTC, formatted with the strftime ``pattern``."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime(pattern)


class LoggedTime:
    """The time of a logged request (unix seconds in ``time``) as the pages show it."""

    time: int

    @property
    def iso_time(self) -> str:
        """The time in UTC, ISO 8601: "2026-11-27T05:17:03Z"."""
        return utc_text(self.time, "%Y-%m-%dT%H:%M:%SZ")

    @property
    def shown_time(self) -> str:
        return utc_text(self.time, "%Y-%m-%d %H:%M:%S UTC")
