"""The server log: JSON lines (or plain text) on stderr, one line per request plus every other
record, each carrying the id of the request it belongs to.

``extapi serve`` hands :func:`logging_config` to uvicorn, which applies it in every worker
before the app starts; uvicorn's own access log stays off, since :func:`log_request` writes
one line per request. Request lines are queued and written in batches (see
:class:`_RequestLines`); with that configuration they go straight to the
:class:`LineHandler` (the logging module's record, handler and formatter steps cost several
times the line itself), with any other configuration of ``extapi.access`` they are records
like any other. Without configuration (tests, an application embedding extapi) the
``extapi.access`` logger is not enabled and no line is built.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Any

import orjson

from extapi.ops.note import RequestNote
from extapi.ops.request_id import REQUEST_ID

__all__ = [
    "ACCESS_LOGGER",
    "JsonFormatter",
    "TextFormatter",
    "LineHandler",
    "logging_config",
    "access_enabled",
    "log_request",
    "flush_request_lines",
]

ACCESS_LOGGER = "extapi.access"
MAX_PATH = 1024  # characters of a path written to the log
MAX_OPERATIONS = 255  # as the request log keeps them
FLUSH_DELAY_SECONDS = 0.1  # request lines wait at most this long to be written together
MAX_PENDING = 1000  # or until this many wait

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


def _request_message(fields: dict[str, Any]) -> str:
    return f"{fields['method']} {fields['path']} {fields['status']}"


class LineFormatter(logging.Formatter):
    """A formatter that can also write a request line without a record."""

    def request_line(self, created: float, fields: dict[str, Any]) -> str:
        raise NotImplementedError

    def entry_line(self, entry: _Entry) -> str:
        """The line of a queued request (see :func:`log_request`)."""
        return self.request_line(entry[0], _fields_of(entry))


class JsonFormatter(LineFormatter):
    """One JSON object per record, on one line: timestamp, level, logger, message, the
    request id when the record was made during a request, and any exception's trace."""

    def entry_line(self, entry: _Entry) -> str:
        # The line's own keys, then the fields put straight into the same object: this runs
        # for every request, and building two dicts cost half as much again.
        created, _id, method, path, _seconds, status = entry[:6]
        line: dict[str, Any] = {
            "timestamp": _timestamp(created),
            "level": "INFO",
            "logger": ACCESS_LOGGER,
            "message": f"{method} {path[:MAX_PATH]} {status}",
        }
        return _json(_fields_of(entry, line))

    def request_line(self, created: float, fields: dict[str, Any]) -> str:
        entry = {
            "timestamp": _timestamp(created),
            "level": "INFO",
            "logger": ACCESS_LOGGER,
            "message": _request_message(fields),
            **fields,
        }
        return _json(entry)

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
        return _json(entry)


def _json(entry: dict[str, Any]) -> str:
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


class TextFormatter(LineFormatter):
    """``TIME LEVEL LOGGER: MESSAGE key=value ...``; control characters of the message are
    escaped, so that a record is one line (an exception's trace follows on its own lines)."""

    def request_line(self, created: float, fields: dict[str, Any]) -> str:
        message = _request_message(fields).translate(_CONTROL)
        parts = [_timestamp(created), "INFO", f"{ACCESS_LOGGER}:", message]
        parts += [f"{k}={_text_value(v)}" for k, v in fields.items() if k not in _IN_MESSAGE]
        return " ".join(parts)

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


class LineHandler(logging.StreamHandler):
    """A stream handler that also takes request lines already formatted."""

    def write_line(self, line: str) -> None:
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line + self.terminator)
                self.stream.flush()
            except (OSError, ValueError):  # the stream is gone: a log line never fails a request
                pass


def logging_config(log_format: str, stream: Any = "ext://sys.stderr") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` configuration: every record, uvicorn's included,
    through one handler on ``stream`` in ``log_format`` (``json`` or ``text``); uvicorn's
    access log off."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = f"{LineHandler.__module__}.{LineHandler.__qualname__}"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"extapi": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": {"class": handler, "formatter": "extapi", "stream": stream}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            ACCESS_LOGGER: {"handlers": ["stderr"], "level": "INFO", "propagate": False},
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
    """Queue the request's line: its id, method, path, status, duration, outcome, and the
    client and operation names when known. Only plain values are kept, so that nothing of
    the request stays alive until the line is written."""
    names = None if note.names is None else note.names()
    _lines.add(
        (
            time.time(),
            request_id,
            method,
            path,
            seconds,
            status,
            outcome,
            note.client_id,
            names,
            note.error,
        )
    )


def flush_request_lines() -> None:
    """Write the queued request lines now (at shutdown; tests)."""
    _lines.flush()


# (end time, request id, method, path, seconds, status, outcome, client id, operation names,
# OAuth error code)
_Entry = tuple[float, str, str, str, float, int, str, str | None, str | None, str | None]


class _RequestLines:
    """Request lines, written in batches at most :data:`FLUSH_DELAY_SECONDS` after their
    request.

    A request only queues its figures; a callback of the event loop formats and writes the
    queued lines together, with one write. Amid a request's own work the same formatting
    costs several times as much (its code and data are no longer in the processor's caches),
    which would be a visible share of a fast request. A server that is killed loses at most
    the last tenth of a second of lines; one that stops cleanly writes them all.
    """

    def __init__(self) -> None:
        self._pending: deque[_Entry] = deque()
        self._scheduled: asyncio.AbstractEventLoop | None = None  # the loop that will flush

    def add(self, entry: _Entry) -> None:
        pending = self._pending
        pending.append(entry)
        if len(pending) >= MAX_PENDING:
            self.flush()
            return
        scheduled = self._scheduled
        if scheduled is not None and not scheduled.is_closed():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop here: write at once
            self.flush()
            return
        self._scheduled = loop
        loop.call_later(FLUSH_DELAY_SECONDS, self.flush)

    def flush(self) -> None:
        # Cleared before the queue is read: a line queued meanwhile schedules another flush.
        self._scheduled = None
        pending = self._pending
        if not pending:
            return
        handler = _direct_handler()
        formatter = None if handler is None else handler.formatter
        lines = []
        while True:
            try:
                entry = pending.popleft()
            except IndexError:
                break
            if isinstance(formatter, LineFormatter):
                lines.append(formatter.entry_line(entry))
            else:
                created, fields = entry[0], _fields_of(entry)
                args = (fields["method"], fields["path"], fields["status"])
                _access.handle(_AccessRecord(created, args, fields))
        if lines and handler is not None:
            handler.write_line("\n".join(lines))


def _fields_of(entry: _Entry, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request's fields, added to ``into`` when given (after what it holds)."""
    _created, request_id, method, path, seconds, status, outcome, client, names, error = entry
    fields: dict[str, Any] = {} if into is None else into
    fields["request_id"] = request_id
    fields["method"] = method
    fields["path"] = path[:MAX_PATH]
    fields["status"] = status
    fields["duration_ms"] = round(seconds * 1000.0, 3)
    fields["outcome"] = outcome
    if client is not None:
        fields["client_id"] = client
    if names is not None:
        fields["operations"] = names[:MAX_OPERATIONS]
    if error is not None:
        fields["error"] = error
    return fields


_lines = _RequestLines()


def _direct_handler() -> LineHandler | None:
    """The handler of `extapi serve`'s configuration, when it alone takes request lines
    (without filters, with one of the formatters here); None for any other setup."""
    handlers = _access.handlers
    if _access.propagate or _access.filters or len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is not LineHandler
        or handler.filters
        or handler.level > logging.INFO
        or not isinstance(handler.formatter, LineFormatter)
    ):
        return None
    return handler


_START = logging._startTime  # type: ignore[attr-defined]


class _AccessRecord(logging.LogRecord):
    """A request line's record, made in a fraction of a standard record's time: nothing is
    looked up that the line does not show (caller's frame, thread and process names). The
    attributes handlers may read are all present."""

    def __init__(self, created: float, args: tuple[str, str, int], fields: dict[str, Any]) -> None:
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
        self.created = created
        self.msecs = float(int((created - int(created)) * 1000))
        self.relativeCreated = (self.created - _START) * 1000.0
        self.thread = None
        self.threadName = None
        self.processName = None
        self.process = None
        self.taskName = None
        self.fields = fields
