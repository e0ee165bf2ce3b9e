"""A job assignment input turned into column values, checked in Totara 17.3's order.

First the input rules (Totara's resolver helper): position, organisation, the two dates, the
right to delegate, manager, temporary manager and its expiry date, appraiser. Then the rules
of saving (Totara's job assignment class): the idnumber, the temporary manager and expiry
pair, and on update the manager chain. So a bad reference is reported before a bad idnumber.

Absent keys leave a column alone; null, and an empty reference object, clear it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from extapi.dates import parse_date_input
from extapi.db.tables import job_assignments
from extapi.errors import PermissionDenied, ValidationError
from extapi.org.job_references import hierarchy_item_id, job_assignment_row, user_row
from extapi.people.user_changes import Actor

__all__ = ["Holder", "clean_input", "check_new", "check_changed"]

DATES_REVERSED = "The start date can not be later than the end date."
NO_DELEGATION = "You do not have permission to delegate a manager."
OWN_MANAGER = "The user cannot be assigned as their own manager."
EXPIRY_REQUIRED = "A temporary manager expiry date is required."
OWN_TEMP_MANAGER = "The user cannot be assigned as their own temporary manager."
EXPIRY_PAST = "The temporary manager expiry date can not be in the past."
OWN_APPRAISER = "The user can not be their own appraiser!"
IDNUMBER_REQUIRED = "ID Number is required when creating new job assignment"
IDNUMBER_TAKEN_ON_CREATE = (
    "Tried to create job assignment idnumber which is not unique for this user"
)
IDNUMBER_EMPTY_ON_UPDATE = (
    "Tried to update job assignment idnumber to an empty value which is not allowed"
)
IDNUMBER_TAKEN_ON_UPDATE = (
    "Tried to update job assignment to an idnumber which is not unique for this user"
)
TEMP_PAIR = (
    "Temporary manager and expiry date must either both be provided or both be empty in "
    "job_assignment::{}"
)
MANAGER_LOOP = "Tried to create a manager path loop in job_assignment::calculate_managerjapath"

ja = job_assignments
_TEXTS = ("idnumber", "fullname", "shortname")
_DATES = (
    ("start_date", "startdate"),
    ("end_date", "enddate"),
    ("temp_manager_expiry_date", "temp_manager_expiry"),
)


@dataclass(frozen=True)
class Holder:
    """The user whose job assignment is being written, and the assignment's current row."""

    id: int
    tenant_id: int | None
    current: Mapping[str, Any]


def _dates(actor: Actor, data: Mapping[str, Any]) -> dict[str, int | None]:
    """The given dates as unix seconds (Totara reads them while coercing the input)."""
    parsed: dict[str, int | None] = {}
    for field, _ in _DATES:
        if field in data:
            try:
                parsed[field] = parse_date_input(data[field], actor.timezone)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None
    return parsed


def _hierarchy_links(conn: Connection, data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for kind, entity in (("position", "Position"), ("organisation", "Organisation")):
        if kind in data:
            ref = data[kind]
            values[f"{kind}_id"] = hierarchy_item_id(conn, kind, entity, ref) if ref else None
    return values


def _check_dates(dates: Mapping[str, int | None]) -> None:
    start, end = dates.get("start_date"), dates.get("end_date")
    if start is not None and end is not None and start > end:
        raise ValidationError(DATES_REVERSED)


def _check_delegation(actor: Actor, holder: Holder, data: Mapping[str, Any]) -> None:
    """Only a temporary manager (or its expiry date) needs the right to delegate."""
    if "temp_manager" not in data and "temp_manager_expiry_date" not in data:
        return
    if actor.can("totara/core:delegateusersmanager", holder.tenant_id):
        return
    own = holder.id == actor.principal.user_id
    if own and actor.can("totara/core:delegateownmanager", holder.tenant_id):
        return
    raise PermissionDenied(NO_DELEGATION)


def _manager_id(
    conn: Connection, actor: Actor, holder: Holder, entity: str, ref: Mapping[str, Any], own: str
) -> int:
    row = job_assignment_row(conn, actor, entity, ref)
    if int(row["user_id"]) == holder.id:
        raise ValidationError(own)
    return int(row["id"])


def _manager_links(
    conn: Connection,
    actor: Actor,
    holder: Holder,
    data: Mapping[str, Any],
    expiry: int | None,
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "manager" in data:
        ref = data["manager"]
        values["manager_ja_id"] = (
            _manager_id(conn, actor, holder, "Manager", ref, OWN_MANAGER) if ref else None
        )
    if "temp_manager" in data:
        ref = data["temp_manager"]
        if not ref:
            return {**values, "temp_manager_ja_id": None, "temp_manager_expiry": None}
        if expiry is None:
            raise ValidationError(EXPIRY_REQUIRED)
        values["temp_manager_ja_id"] = _manager_id(
            conn, actor, holder, "Temporary manager", ref, OWN_TEMP_MANAGER
        )
    if expiry is not None and expiry < int(time.time()):
        raise ValidationError(EXPIRY_PAST)
    return values


def _appraiser_link(
    conn: Connection, actor: Actor, holder: Holder, data: Mapping[str, Any]
) -> dict[str, Any]:
    if "appraiser" not in data:
        return {}
    ref = data["appraiser"]
    if not ref:
        return {"appraiser_id": None}
    appraiser = user_row(conn, actor, "Appraiser", ref, not_guest=True)
    if int(appraiser["id"]) == holder.id:
        raise ValidationError(OWN_APPRAISER)
    return {"appraiser_id": int(appraiser["id"])}


def clean_input(
    conn: Connection, actor: Actor, holder: Holder, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Column values for the given input fields, after the input rules."""
    dates = _dates(actor, data)
    values: dict[str, Any] = {k: data[k] for k in _TEXTS if k in data}
    values.update({column: dates[field] for field, column in _DATES if field in dates})
    values.update(_hierarchy_links(conn, data))
    _check_dates(dates)
    _check_delegation(actor, holder, data)
    values.update(_manager_links(conn, actor, holder, data, dates.get("temp_manager_expiry_date")))
    values.update(_appraiser_link(conn, actor, holder, data))
    return values


# --- the rules of saving ----------------------------------------------------------------------
_PHP_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*")


def same_idnumber(a: str, b: str) -> bool:
    """PHP's loose ``==`` between two strings: numeric strings compare as numbers ("1" equals
    "01" and "1.0"), anything else compares exactly. Totara compares idnumbers this way."""
    if a == b:
        return True
    if not (_PHP_NUMERIC.fullmatch(a) and _PHP_NUMERIC.fullmatch(b)):
        return False
    try:
        return int(a.strip()) == int(b.strip())
    except ValueError:
        return float(a) == float(b)


def _check_temp_pair(values: Mapping[str, Any], where: str) -> None:
    if bool(values.get("temp_manager_ja_id")) != bool(values.get("temp_manager_expiry")):
        raise ValidationError(TEMP_PAIR.format(where))


def check_new(conn: Connection, holder: Holder, values: Mapping[str, Any]) -> None:
    """The rules of saving a new job assignment."""
    idnumber = values.get("idnumber")
    if idnumber is None or idnumber == "":
        raise ValidationError(IDNUMBER_REQUIRED)
    _check_temp_pair(values, "create")
    taken = conn.execute(select(ja.c.idnumber).where(ja.c.user_id == holder.id)).scalars()
    if any(same_idnumber(str(other), idnumber) for other in taken):
        raise ValidationError(IDNUMBER_TAKEN_ON_CREATE)


def check_changed(conn: Connection, holder: Holder, values: Mapping[str, Any]) -> None:
    """The rules of saving changes to an existing job assignment."""
    job_id = int(holder.current["id"])
    if "idnumber" in values:
        idnumber = values["idnumber"]
        if idnumber is None or idnumber == "":
            raise ValidationError(IDNUMBER_EMPTY_ON_UPDATE)
        clash = select(ja.c.id).where(
            ja.c.user_id == holder.id, ja.c.idnumber == idnumber, ja.c.id != job_id
        )
        current = str(holder.current["idnumber"])
        if not same_idnumber(idnumber, current) and conn.execute(clash).first() is not None:
            raise ValidationError(IDNUMBER_TAKEN_ON_UPDATE)
    _check_temp_pair(values, "update_internal")
    if values.get("manager_ja_id"):
        _check_no_loop(conn, job_id, int(values["manager_ja_id"]))


def _check_no_loop(conn: Connection, job_id: int, manager_ja_id: int) -> None:
    """The new manager's chain of managers must not lead back to this job assignment."""
    seen: set[int] = set()
    current: int | None = manager_ja_id
    while current is not None and current not in seen:
        if current == job_id:
            raise ValidationError(MANAGER_LOOP)
        seen.add(current)
        current = conn.execute(select(ja.c.manager_ja_id).where(ja.c.id == current)).scalar()
