"""The server log: JSON lines (or plain text) on stderr, one line per request plus every other
record, each carrying the id of the request it belongs to.

``extapi serve`` hands :func:`logging_config` to uvicorn, which applies it in every worker
before the app starts; uvicorn's own access log stays off, since :func:`log_request` writes
one line per request. Without that configuration (tests, an application embedding extapi)
the ``extapi.access`` logger is not enabled and no line is built.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import orjson

from extapi.ops.note import RequestNote
from extapi.ops.request_id import REQUEST_ID

__all__ = [
    "ACCESS_LOGGER",
    "JsonFormatter",
    "TextFormatter",
    "logging_config",
    "access_enabled",
    "log_request",
]

ACCESS_LOGGER = "extapi.access"
MAX_PATH = 1024  # characters of a path written to the log
MAX_OPERATIONS = 255  # as the request log keeps them

_access = logging.getLogger(ACCESS_LOGGER)
_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds; the seconds part is formatted once per second."""
    global _second
    whole = int(created)
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{int((created - whole) * 1000):03d}Z"


def _fields(record: logging.LogRecord) -> dict[str, Any] | None:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: timestamp, level, logger, message, the
    request id when the record was made during a request, and any exception's trace."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = _fields(record)
        if fields is not None:
            entry.update(fields)
        else:
            request_id = REQUEST_ID.get()
            if request_id is not None:
                entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # text orjson refuses (lone surrogates): the slower encoder takes it
            return json.dumps(entry, default=str)


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(32), 127)}
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-,()")
_IN_MESSAGE = frozenset({"method", "path", "status"})


def _text_value(value: object) -> str:
    text = str(value)
    if text and all(c in _PLAIN for c in text):
        return text
    return orjson.dumps(text).decode()


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE key=value ...``; control characters of the message are
    escaped, so that a record is one line (an exception's trace follows on its own lines)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().translate(_CONTROL)
        parts = [_timestamp(record.created), record.levelname, f"{record.name}:", message]
        fields = _fields(record)
        if fields is not None:
            parts += [f"{k}={_text_value(v)}" for k, v in fields.items() if k not in _IN_MESSAGE]
        else:
            request_id = REQUEST_ID.get()
            if request_id is not None:
                parts.append(f"request_id={request_id}")
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def logging_config(log_format: str, stream: Any = "ext://sys.stderr") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` configuration: every record, uvicorn's included,
    through one handler on ``stream`` in ``log_format`` (``json`` or ``text``); uvicorn's
    access log off."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"extapi": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "extapi", "stream": stream}
        },
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            ACCESS_LOGGER: {"handlers": [], "level": "INFO", "propagate": True},
        },
    }


def access_enabled() -> bool:
    """Whether request lines are written (cheap: the logging module caches the answer)."""
    return _access.isEnabledFor(logging.INFO)


def log_request(
    request_id: str,
    method: str,
    path: str,
    seconds: float,
    note: RequestNote,
    status: int,
    outcome: str,
) -> None:
    """The request's line: its id, method, path, status, duration, outcome, and the client
    and operation names when known."""
    path = path[:MAX_PATH]
    fields: dict[str, Any] = {
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000.0, 3),
        "outcome": outcome,
    }
    if note.client_id is not None:
        fields["client_id"] = note.client_id
    if note.names is not None:
        fields["operations"] = note.names()[:MAX_OPERATIONS]
    if note.error is not None:
        fields["error"] = note.error
    _access.handle(_AccessRecord((method, path, status), fields))


_START = logging._startTime  # type: ignore[attr-defined]


class _AccessRecord(logging.LogRecord):
    """A request line's record, made in a fraction of a standard record's time: nothing is
    looked up that the line does not show (caller's frame, thread and process names). The
    attributes handlers may read are all present."""

    def __init__(self, args: tuple[str, str, int], fields: dict[str, Any]) -> None:
        now = time.time_ns()
        self.name = ACCESS_LOGGER
        self.msg = "%s %s %d"
        self.args = args
        self.levelname = "INFO"
        self.levelno = logging.INFO
        self.pathname = __file__
        self.filename = "logs.py"
        self.module = "logs"
        self.exc_info = None
        self.exc_text = None
        self.stack_info = None
        self.lineno = 0
        self.funcName = "log_request"
        self.created = now / 1e9
        self.msecs = float((now % 1_000_000_000) // 1_000_000)
        self.relativeCreated = (self.created - _START) * 1000.0
        self.thread = None
        self.threadName = None
        self.processName = None
        self.process = None
        self.taskName = None
        self.fields = fields
