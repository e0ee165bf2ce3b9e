"""Custom profile fields: their definitions, and reading and writing users' values."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from extapi.dates import zone
from extapi.db import revision
from extapi.db.tables import profile_data, profile_fields
from extapi.errors import ConflictError, NotFoundError, ValidationError

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
TEXTAREA_FORMATS = (1, 2, 4, 5)  # HTML, plain, Markdown, JSON
_SHORTNAME = re.compile(r"^[A-Za-z0-9_]+$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
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
def _date_value(field: FieldDefinition, data: str, tz: str) -> str:
    """datetime: YYYY-MM-DD[-HH-MM-SS] in the actor's timezone; date: YYYY-MM-DD at noon UTC."""
    pattern = _DATETIME if field.datatype == "datetime" else _DATE
    match = pattern.match(data.strip()) or _DATE.match(data.strip())
    if match is None:
        expected = (
            "YYYY-MM-DD or YYYY-MM-DD-HH-MM-SS" if field.datatype == "datetime" else "YYYY-MM-DD"
        )
        raise ValidationError(f"Expected a date in the format {expected}")
    parts = [int(p) for p in match.groups()]
    if not YEAR_RANGE[0] <= parts[0] <= YEAR_RANGE[1]:
        raise ValidationError(f"The year must be between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}")
    try:
        if field.datatype == "date":
            moment = datetime(parts[0], parts[1], parts[2], 12, tzinfo=UTC)
        else:
            year, month, day, hour, minute, second = (parts + [0, 0, 0])[:6]
            moment = datetime(year, month, day, hour, minute, second, tzinfo=zone(tz))
    except ValueError:
        raise ValidationError("Invalid date") from None
    return str(int(moment.timestamp()))


def clean_value(field: FieldDefinition, change: FieldChange, tz: str) -> tuple[str, int]:
    """The value to store and its format, or a ValidationError saying what is wrong."""
    data = change.data if change.data is not None else ""
    if field.datatype == "checkbox":
        if data not in ("0", "1"):
            raise ValidationError("A checkbox value must be 0 or 1")
        return data, 0
    if field.datatype == "menu":
        if data not in field.options:
            raise ValidationError(f"Invalid option: {data}")
        return data, 0
    if field.datatype in ("datetime", "date"):
        return _date_value(field, data, tz), 0
    if len(data) > TEXT_MAX:
        raise ValidationError(f"The value must not exceed {TEXT_MAX} characters")
    if field.datatype == "textarea":
        data_format = 1 if change.data_format is None else change.data_format
        if data_format not in TEXTAREA_FORMATS:
            raise ValidationError("Unsupported data_format: use 1 (HTML), 2, 4 or 5")
        return data, data_format
    return data, 0


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
