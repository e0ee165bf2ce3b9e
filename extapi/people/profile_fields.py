"""Custom profile fields: their definitions, and reading and writing users' values."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from extapi.dates import zone
from extapi.db import revision
from extapi.db.tables import profile_data, profile_fields
from extapi.errors import ConflictError, NotFoundError, ValidationError
from extapi.jsondoc import is_json_document

__all__ = [
    "DATATYPES",
    "FieldDefinition",
    "FieldChange",
    "add_field",
    "list_fields",
    "delete_field",
    "fields_by_shortname",
    "values_for_users",
    "apply_changes",
    "NOT_VISIBLE",
    "VISIBLE_TO_USER",
    "VISIBLE_TO_ALL",
]

DATATYPES = ("checkbox", "menu", "text", "textarea", "datetime", "date")
NOT_VISIBLE, VISIBLE_TO_USER, VISIBLE_TO_ALL = 0, 1, 2
# Moodle's text formats: MOODLE (0), HTML, PLAIN, MARKDOWN, JSON_EDITOR
DATA_FORMATS = (0, 1, 2, 4, 5)
JSON_EDITOR = 5
_SHORTNAME = re.compile(r"^[A-Za-z0-9_]+$")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})-(\d{1,2})")
_DIGITS = re.compile(r"[0-9]+")
_NUMERIC = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
# Year range of a date-and-time field (Totara's defaults for a new field).
YEAR_RANGE = (1900, 2050)
TEXT_MAX = 2048
NO_SUCH_FIELD = "The custom field does not exist."


@dataclass(frozen=True)
class FieldDefinition:
    id: int
    shortname: str
    name: str
    datatype: str
    visible: int
    locked: bool
    options: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Any) -> FieldDefinition:
        options = tuple(o for o in str(row.options).split("\n") if o != "")
        return cls(
            int(row.id),
            row.shortname,
            row.name,
            row.datatype,
            int(row.visible),
            bool(row.locked),
            options,
        )


@dataclass(frozen=True)
class FieldChange:
    shortname: str
    data: str | None = None
    data_format: int | None = None
    delete: bool = False


def add_field(
    conn: Connection,
    shortname: str,
    name: str,
    datatype: str,
    options: Sequence[str] = (),
    visible: int = VISIBLE_TO_ALL,
    locked: bool = False,
) -> int:
    if not _SHORTNAME.match(shortname or ""):
        raise ValidationError("The shortname may contain only letters, digits and underscores.")
    if not name.strip():
        raise ValidationError("A custom profile field needs a name.")
    if datatype not in DATATYPES:
        raise ValidationError(f"The type must be one of: {', '.join(DATATYPES)}.")
    if visible not in (NOT_VISIBLE, VISIBLE_TO_USER, VISIBLE_TO_ALL):
        raise ValidationError("Visibility must be 0 (not visible), 1 (user) or 2 (everyone).")
    clean = [o.strip() for o in options if o.strip()]
    if datatype == "menu" and not clean:
        raise ValidationError("A menu field needs at least one option (--options A,B).")
    taken = select(profile_fields.c.id).where(profile_fields.c.shortname == shortname)
    if conn.execute(taken).first():
        raise ConflictError(f"A custom profile field '{shortname}' already exists.")
    new_id = conn.execute(
        insert(profile_fields).values(
            shortname=shortname,
            name=name.strip(),
            datatype=datatype,
            visible=visible,
            locked=locked,
            options="\n".join(clean),
            timecreated=int(time.time()),
        )
    ).inserted_primary_key[0]
    revision.bump(conn)
    return int(new_id)


def list_fields(conn: Connection) -> list[FieldDefinition]:
    rows = conn.execute(
        select(profile_fields).order_by(profile_fields.c.sortorder, profile_fields.c.id)
    )
    return [FieldDefinition.from_row(r) for r in rows]


def fields_by_shortname(conn: Connection) -> dict[str, FieldDefinition]:
    return {f.shortname: f for f in list_fields(conn)}


def delete_field(conn: Connection, shortname: str) -> None:
    """Remove a definition and every user's value of it."""
    field = fields_by_shortname(conn).get(shortname)
    if field is None:
        raise NotFoundError(f"Custom profile field '{shortname}' does not exist.")
    conn.execute(delete(profile_data).where(profile_data.c.field_id == field.id))
    conn.execute(delete(profile_fields).where(profile_fields.c.id == field.id))
    revision.bump(conn)


def values_for_users(conn: Connection, user_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Every stored value of the given users, in one statement, grouped by user."""
    ids = list(user_ids)
    result: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = conn.execute(
        select(
            profile_data.c.user_id,
            profile_data.c.data,
            profile_data.c.dataformat,
            profile_fields.c.shortname,
            profile_fields.c.datatype,
            profile_fields.c.visible,
        )
        .join(profile_fields, profile_fields.c.id == profile_data.c.field_id)
        .where(profile_data.c.user_id.in_(ids))
        .order_by(profile_data.c.user_id, profile_fields.c.sortorder, profile_fields.c.id)
    ).mappings()
    for row in rows:
        result[int(row["user_id"])].append(dict(row))
    return result


# --- values -----------------------------------------------------------------------------------
# Totara's API checks one entry at a time and stops at the first problem; every text starts
# with the field's shortname. The texts and their order follow each field type's own checks.
class _Invalid(ValidationError):
    def __init__(self, field: FieldDefinition, reason: str) -> None:
        super().__init__(f"{field.shortname}: {reason}")


def _no_format(field: FieldDefinition, change: FieldChange) -> None:
    if change.data_format is not None:
        raise _Invalid(field, f"data_format should not be passed for {field.datatype} fields.")


def _known_format(field: FieldDefinition, change: FieldChange) -> None:
    if change.data_format is not None and change.data_format not in DATA_FORMATS:
        raise _Invalid(field, f"Unrecognised data_format: {change.data_format}.")


def _php_empty(text: str) -> bool:
    return text in ("", "0")


def _check_checkbox(field: FieldDefinition, change: FieldChange) -> None:
    if change.data not in ("0", "1"):
        raise _Invalid(field, "You must pass 0 or 1 for data for checkbox fields.")
    _no_format(field, change)


def _menu_option(field: FieldDefinition, data: str) -> str | None:
    """The option ``data`` names; PHP's loose comparison lets "1.0" name an option "1"."""
    for option in field.options:
        if option == data or (
            _NUMERIC.fullmatch(option) and _NUMERIC.fullmatch(data) and float(option) == float(data)
        ):
            return option
    return None


def _check_menu(field: FieldDefinition, change: FieldChange) -> None:
    data = change.data or ""
    if not data.strip():
        raise _Invalid(field, "You must pass a valid menu option.")
    _no_format(field, change)
    if _menu_option(field, data) is None:
        raise _Invalid(field, "You must pass a valid menu option.")


def _check_text(field: FieldDefinition, change: FieldChange) -> None:
    _no_format(field, change)
    data = change.data or ""
    if not _php_empty(data.strip()) and len(data) > TEXT_MAX:
        raise _Invalid(field, f"The data must have less than {TEXT_MAX} characters.")


def _check_textarea(field: FieldDefinition, change: FieldChange) -> None:
    if change.data_format is None:
        raise _Invalid(field, "data_format is required for textarea fields.")
    if change.data_format == JSON_EDITOR and not is_json_document(change.data or ""):
        raise _Invalid(
            field, "data_format set to JSON but data does not appear to be in JSON format."
        )
    _known_format(field, change)


def _check_datetime(field: FieldDefinition, change: FieldChange) -> None:
    data = change.data or ""
    if _php_empty(data.strip()):
        raise _Invalid(field, "Date must be provided in format YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.")
    _no_format(field, change)
    parts = data.strip().split("-")
    if len(parts) not in (3, 6):
        raise _Invalid(field, "Date format should be YYYY-MM-DD-HH-MM-SS or YYYY-MM-DD.")
    if len(parts) == 6:
        if not _DATETIME.fullmatch(data):
            raise _Invalid(field, "Date format should be YYYY-MM-DD-HH-MM-SS.")
        hour, minute, second = (int(p) for p in parts[3:])
        if hour > 23 or minute >= 60 or second >= 60:
            raise _Invalid(
                field, "You must pass valid time values that represent an actual 24 hour time."
            )
    elif not _DATE.fullmatch(data):
        raise _Invalid(field, "Date format should be YYYY-MM-DD.")
    year, month, day = (int(p) for p in parts[:3])
    if not _is_real_date(year, month, day):
        raise _Invalid(field, "You must pass valid date values that represent an actual date.")
    if year < YEAR_RANGE[0]:
        raise _Invalid(
            field,
            f"Date given has year {parts[0]} which is less than minimum of {YEAR_RANGE[0]} "
            "allowed for field.",
        )
    if year > YEAR_RANGE[1]:
        raise _Invalid(
            field,
            f"Date given has year {parts[0]} which is more than maximum of {YEAR_RANGE[1]} "
            "allowed for field.",
        )


def _is_real_date(year: int, month: int, day: int) -> bool:
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    return True


_CHECKS = {
    "checkbox": _check_checkbox,
    "menu": _check_menu,
    "text": _check_text,
    "textarea": _check_textarea,
    "datetime": _check_datetime,
    "date": _known_format,
}


def check_input(field: FieldDefinition, change: FieldChange) -> None:
    """Totara's input checks for one entry; raise ``ValidationError`` with its text."""
    _CHECKS[field.datatype](field, change)


def _wall_time(parts: Sequence[int], tz: tzinfo) -> int:
    """Unix time of a wall-clock date and time, out-of-range parts rolled over as PHP's
    ``mktime`` does (month 13 is January of the next year, day 0 the last of the month before)."""
    year, month, day, hour, minute, second = (*parts, 0, 0, 0)[:6]
    months = year * 12 + month - 1
    first = datetime(months // 12, months % 12 + 1, 1)
    naive = first + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)
    return int(naive.replace(tzinfo=tz).timestamp())


def _date_value(data: str) -> str | None:
    """A date field's stored value: noon UTC of the given day; None clears the field."""
    if _php_empty(data):
        return None
    if "-" not in data[1:]:
        if not _DIGITS.fullmatch(data):
            raise ValidationError(f"Invalid date: {data}")
        day = datetime.fromtimestamp(int(data), UTC)
        return str(_wall_time((day.year, day.month, day.day, 12), UTC))
    parts = data.split("-")
    if len(parts) < 3 or not all(_DIGITS.fullmatch(p) for p in parts[:3]):
        raise ValidationError(f"Invalid date: {data}")
    try:
        return str(_wall_time((*(int(p) for p in parts[:3]), 12), UTC))
    except (ValueError, OverflowError):
        raise ValidationError(f"Invalid date: {data}") from None


def _datetime_value(data: str, tz: str) -> str:
    """A date-and-time field's stored value, read as wall time in the caller's timezone."""
    parts = [int(p) for p in data.strip().split("-")]
    return str(_wall_time(parts, zone(tz)))


def stored_value(field: FieldDefinition, change: FieldChange, tz: str) -> tuple[str, int] | None:
    """What a checked entry stores: (data, format), or None to clear the field's value."""
    data = change.data or ""
    if field.datatype == "menu":
        return _menu_option(field, data) or data, 0
    if field.datatype == "datetime":
        return _datetime_value(data, tz), 0
    if field.datatype == "date":
        value = _date_value(data)
        return None if value is None else (value, 0)
    if field.datatype == "textarea":
        return data, int(change.data_format or 0)
    return data, 0


def clean_value(field: FieldDefinition, change: FieldChange, tz: str) -> tuple[str, int] | None:
    """Check an entry and return what it stores (None clears the value)."""
    check_input(field, change)
    return stored_value(field, change, tz)


def stored_field_ids(conn: Connection, user_id: int) -> set[int]:
    query = select(profile_data.c.field_id).where(profile_data.c.user_id == user_id)
    return set(conn.execute(query).scalars())


def apply_changes(
    conn: Connection, user_id: int, cleaned: dict[int, tuple[str, int] | None]
) -> None:
    """Write values already validated: a tuple sets (data, format), None deletes."""
    if not cleaned:
        return
    present = stored_field_ids(conn, user_id)
    for field_id, value in cleaned.items():
        where = (profile_data.c.user_id == user_id) & (profile_data.c.field_id == field_id)
        if value is None:
            conn.execute(delete(profile_data).where(where))
        elif field_id in present:
            conn.execute(
                update(profile_data).where(where).values(data=value[0], dataformat=value[1])
            )
        else:
            conn.execute(
                insert(profile_data).values(
                    user_id=user_id, field_id=field_id, data=value[0], dataformat=value[1]
                )
            )
