"""Reading an HR feed (CSV or JSON lines) into people, through the column mapping.

Each row becomes a :class:`Person` or a :class:`RowError` carrying the row's line number in
the file (a CSV row's first line, for fields spanning lines). A bad row is never partly used:
it is reported and left out whole. Only what can be checked without the server is checked
here (required values, formats, duplicates); :mod:`extapi.hrsync.plan` checks the rest
(unknown positions, organisations and managers).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from extapi.errors import ValidationError
from extapi.hrsync.config import REQUIRED_USER_FIELDS, SyncConfig

__all__ = ["Person", "Job", "RowError", "Feed", "FeedError", "read_feed", "parse_feed", "FORMATS"]

FORMATS = ("csv", "jsonl")
_USERNAME = re.compile(r"^[a-z0-9_.@+-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE_FIELDS = ("start_date", "end_date")


class FeedError(ValidationError):
    """The feed as a whole can not be read (missing file, missing columns, wrong format)."""


@dataclass(frozen=True)
class Job:
    """The job assignment a row asks for. ``fields`` holds the mapped columns (an empty value
    clears the field); ``manager`` is the manager's key, empty for none, None when unmapped."""

    idnumber: str
    fields: dict[str, str]
    manager: str | None


@dataclass(frozen=True)
class Person:
    line: int
    key: str
    user: dict[str, str]
    custom: dict[str, str]
    job: Job | None

    @property
    def username(self) -> str:
        return self.user["username"]


@dataclass(frozen=True)
class RowError:
    """A row left out: its line, its key when one could be read, and why."""

    line: int
    key: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "key": self.key, "error": self.message}


@dataclass
class Feed:
    people: list[Person] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    def keys(self) -> set[str]:
        """Every key the feed names, bad rows included: those people are not leavers."""
        return {p.key for p in self.people} | {e.key for e in self.errors if e.key}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, str):
        return value.strip()
    raise ValueError("values must be text, numbers, true/false or null")


def _check_date(value: str, name: str) -> None:
    if value:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
        if len(value) != 10:
            raise ValueError(f"{name}: {value!r} is not a date (YYYY-MM-DD)")


def _person(line: int, row: Mapping[str, Any], config: SyncConfig) -> Person:
    def get(column: str) -> str:
        return _text(row.get(column))

    user = {name: get(column) for name, column in config.user.items()}
    for column in config.columns():
        if _CONTROL.search(get(column)):
            raise ValueError(f"{column!r} holds a control character")
    for name in (config.key, *REQUIRED_USER_FIELDS):
        if not user.get(name):
            raise ValueError(f"{name} ({config.user[name]!r}) is empty")
    username = user["username"]
    if not _USERNAME.match(username):
        raise ValueError(
            f"username {username!r} must be lower case, without spaces "
            "(letters, digits and _ . @ + -)"
        )
    if not _EMAIL.match(user["email"]):
        raise ValueError(f"email {user['email']!r} is not an email address")
    if user.get("country") and not _COUNTRY.match(user["country"]):
        raise ValueError(f"country {user['country']!r} must be a two-letter upper-case code")
    custom = {name: get(column) for name, column in config.custom_fields.items()}
    job = None
    if config.has_job:
        values = {name: get(column) for name, column in config.job.items()}
        idnumber = values.pop("idnumber")
        manager = values.pop("manager", None)
        for name in _DATE_FIELDS:
            _check_date(values.get(name, ""), name)
        if idnumber:
            if manager == user[config.key]:
                raise ValueError("a person can not be their own manager")
            job = Job(idnumber, values, manager)
        elif any(values.values()) or manager:
            raise ValueError(
                f"job values given without a job idnumber ({config.job['idnumber']!r})"
            )
    return Person(line, user[config.key], user, custom, job)


def _collect(rows: Iterator[tuple[int, Mapping[str, Any] | str]], config: SyncConfig) -> Feed:
    """Build people from ``(line, row or reason)`` pairs, reporting duplicates."""
    feed = Feed()
    seen: dict[str, dict[str, int]] = {"key": {}, "username": {}, "idnumber": {}}
    for line, row in rows:
        feed.rows += 1
        if isinstance(row, str):
            feed.errors.append(RowError(line, None, row))
            continue
        key = _text(row.get(config.user[config.key])) if _safe(row, config) else ""
        try:
            person = _person(line, row, config)
        except ValueError as exc:
            feed.errors.append(RowError(line, key or None, str(exc)))
            continue
        clash = _duplicate(person, seen)
        if clash:
            feed.errors.append(RowError(line, person.key, clash))
            continue
        feed.people.append(person)
    return feed


def _safe(row: Mapping[str, Any], config: SyncConfig) -> bool:
    try:
        _text(row.get(config.user[config.key]))
    except ValueError:
        return False
    return True


def _duplicate(person: Person, seen: dict[str, dict[str, int]]) -> str | None:
    values = {
        "key": person.key,
        "username": person.username,
        "idnumber": person.user.get("idnumber", ""),
    }
    for kind, value in values.items():
        if value and value in seen[kind]:
            name = "key" if kind == "key" else kind
            return f"duplicate {name} {value!r} (first on line {seen[kind][value]})"
    for kind, value in values.items():
        if value:
            seen[kind][value] = person.line
    return None


def _csv_rows(text: str, config: SyncConfig) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = reader.fieldnames or []
    missing = sorted(config.columns() - set(header))
    if missing:
        raise FeedError(f"The feed has no column {missing[0]!r} (the mapping names it).")
    previous = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield previous + 1, f"unreadable CSV: {exc}"
            # The reader may not count the line it gave up on.
            previous = max(reader.line_num, previous + 1)
            continue
        start, previous = previous + 1, reader.line_num
        if None in row or any(v is None for v in row.values()):
            yield start, f"expected {len(header)} values, got another number"
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # a blank line
        yield start, row


def _jsonl_rows(text: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc}"
            continue
        if not isinstance(value, dict):
            yield number, "each line must be a JSON object"
            continue
        yield number, value


def parse_feed(text: str, fmt: str, config: SyncConfig) -> Feed:
    """People and bad rows of a feed given as text (``fmt`` is ``csv`` or ``jsonl``)."""
    if fmt == "csv":
        return _collect(_csv_rows(text, config), config)
    if fmt == "jsonl":
        return _collect(_jsonl_rows(text), config)
    raise FeedError(f"Unknown feed format {fmt!r}; use one of {', '.join(FORMATS)}.")


def guess_format(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"


def read_feed(path: str | Path, config: SyncConfig, fmt: str | None = None) -> Feed:
    """Read a feed file (UTF-8, a byte-order mark allowed); the format defaults to the
    file name's (``.jsonl``/``.ndjson`` JSON lines, anything else CSV)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FeedError(f"Can not read the feed {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise FeedError(f"The feed {path} is not UTF-8: {exc}") from None
    return parse_feed(text, fmt or guess_format(path), config)
