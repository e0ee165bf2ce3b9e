"""Rendering and parsing of the ``core_date`` scalar and ``core_date_format`` enum.

Output shapes follow the English language pack of Moodle/Totara, so they are built from
constants here instead of relying on ``strftime`` and the process locale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from extapi.errors import CodingError

FORMATS: tuple[str, ...] = (
    "TIMESTAMP",
    "ISO8601",
    "DAYDATETIME",
    "TIME",
    "TIMESHORT",
    "DATE",
    "DATESHORT",
    "DATELONG",
    "DATETIME",
    "DATETIMESHORT",
    "DATETIMELONG",
    "DATETIMESECONDS",
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Last second of year 9999: anything later cannot be represented by ``datetime``.
_MAX_TIMESTAMP = 253402300799

_DIGITS = re.compile(r"[0-9]+")
_ISO = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.[0-9]+)?)?"
    r"(?P<offset>Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)

_INVALID = "Invalid date format"


@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """Return the tzinfo for an IANA name, falling back to UTC when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        return UTC


def _hour12(moment: datetime) -> str:
    return str(moment.hour % 12 or 12)


def _ampm(moment: datetime) -> str:
    return "AM" if moment.hour < 12 else "PM"


def _offset(moment: datetime) -> str:
    """PHP's ``O``: signed hours and minutes without a colon, seconds dropped."""
    delta = moment.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _iso8601(m: datetime) -> str:
    return f"{m:%Y-%m-%dT%H:%M:%S}{_offset(m)}"


def _time(m: datetime) -> str:
    return f"{_hour12(m)}:{m.minute:02d} {_ampm(m)}"


def _time_short(m: datetime) -> str:
    return f"{m.hour:02d}:{m.minute:02d}"


def _date_short(m: datetime) -> str:
    return f"{m.day} {_MONTHS[m.month - 1]}"


def _date(m: datetime) -> str:
    return f"{_date_short(m)} {m.year}"


def _date_numeric(m: datetime) -> str:
    return f"{m.day}/{m.month:02d}/{m.year:04d}"


def _day_date_time(m: datetime) -> str:
    return f"{_WEEKDAYS[m.weekday()]}, {_date(m)}, {_time(m)}"


def _date_time(m: datetime) -> str:
    return f"{_date(m)}, {_time(m)}"


def _date_time_short(m: datetime) -> str:
    return f"{m.day}/{m.month:02d}/{m.year % 100:02d}, {_time_short(m)}"


def _date_time_long(m: datetime) -> str:
    return f"{_date_numeric(m)}, {_time_short(m)}"


def _date_time_seconds(m: datetime) -> str:
    """``%d %b %Y at %H:%M:%S``: the short month name, the day without a leading zero."""
    return f"{m.day} {_MONTHS[m.month - 1][:3]} {m.year} at {_time_short(m)}:{m.second:02d}"


_RENDERERS: dict[str, Callable[[datetime], str]] = {
    "ISO8601": _iso8601,
    "DAYDATETIME": _day_date_time,
    "TIME": _time,
    "TIMESHORT": _time_short,
    "DATE": _date,
    "DATESHORT": _date_short,
    "DATELONG": _date_numeric,
    "DATETIME": _date_time,
    "DATETIMESHORT": _date_time_short,
    "DATETIMELONG": _date_time_long,
    "DATETIMESECONDS": _date_time_seconds,
}


INVALID_FORMAT = "Invalid format given"


def format_date(timestamp: int | None, fmt: str | None, tz: str) -> str | None:
    """Render a unix timestamp in ``fmt`` for a viewer in timezone ``tz``.

    ``None`` and ``0`` mean "no date" in Totara, so they render as ``None``. A format the
    formatter does not know (``null``, the only one a client can send besides the enum's) is
    refused first, whatever the value, as Totara's date formatter refuses it.
    """
    if fmt != "TIMESTAMP" and fmt not in _RENDERERS:
        raise CodingError(INVALID_FORMAT)
    if not timestamp:
        return None
    if fmt == "TIMESTAMP":
        return str(timestamp)
    try:
        moment = datetime.fromtimestamp(timestamp, zone(tz))
    except (OverflowError, OSError) as exc:
        raise ValueError(f"Timestamp out of range: {timestamp}") from exc
    return _RENDERERS[fmt](moment)


def parse_date_input(value: object, tz: str) -> int | None:
    """Turn a ``core_date`` input into unix seconds; naive ISO strings are read in ``tz``.

    ``None``, ``0``, ``"0"`` and ``""`` mean "no date" and give ``None``.
    """
    if value is None:
        return None
    # bool is a subclass of int, but ``true`` is never a meaningful date.
    if isinstance(value, bool):
        raise ValueError(_INVALID)
    if isinstance(value, int):
        return _checked(value)
    if isinstance(value, float):
        return _from_float(value)
    if isinstance(value, str):
        return _from_string(value.strip(), tz)
    raise ValueError(_INVALID)


def _checked(seconds: int) -> int | None:
    if seconds < 0 or seconds > _MAX_TIMESTAMP:
        raise ValueError(_INVALID)
    return seconds or None


def _from_float(value: float) -> int | None:
    if not math.isfinite(value) or not value.is_integer():
        raise ValueError(_INVALID)
    return _checked(int(value))


def _from_string(text: str, tz: str) -> int | None:
    if not text:
        return None
    # fullmatch with an explicit ASCII class: int() alone would also take "1_000", "+5"
    # and non-ASCII digits.
    if _DIGITS.fullmatch(text):
        return _checked(int(text))
    match = _ISO.fullmatch(text)
    if match is None:
        raise ValueError(_INVALID)
    return _checked(_iso_to_timestamp(match, tz))


def _iso_to_timestamp(match: re.Match[str], tz: str) -> int:
    parts = match.groupdict()
    offset = parts["offset"]
    where = zone(tz) if offset is None else _fixed_offset(offset)
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            tzinfo=where,
        )
        return int(moment.timestamp())
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(_INVALID) from exc


def _fixed_offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError(_INVALID)
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)
