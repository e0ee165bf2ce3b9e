"""Record references in job assignment inputs, resolved the way Totara 17.3 resolves them.

A reference is a mapping of column values (``{"id": 7}``, ``{"idnumber": "JA1"}``). Only the
columns a kind of record knows take part, and only those whose value is not null (``""`` does
take part). No usable column gives "<Entity> reference columns are not being passed.", no
match "<Entity> reference not found", several "<Entity> reference must resolve one record
only". Each failure is an :class:`Unresolved` carrying that text; callers that answer with a
message of their own (the holder on create, the target of an update) catch it.

Records are looked up across every tenant first; whether the caller may see the user behind
the record is checked after, with its own text. In a job assignment input an empty reference
(``{}``) never gets here: the input rules treat it like null.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, case, select

from extapi.db.tables import hierarchy_items, job_assignments, users
from extapi.errors import ValidationError
from extapi.people.scope import REFERENCE, reachable_users
from extapi.people.user_changes import Actor

__all__ = ["Unresolved", "AMBIGUOUS", "hierarchy_item_id", "job_assignment_row", "user_row"]

JOB_COLUMNS = ("id", "idnumber", "userid")
_JOB_COLUMN = {"userid": "user_id"}
USER_COLUMNS = ("id", "username", "email", "idnumber")
ITEM_COLUMNS = ("id", "idnumber")
AMBIGUOUS = "reference must resolve one record only"
GUEST_USERNAME = "guest"

ja = job_assignments


class Unresolved(ValidationError):
    """A reference that does not pick exactly one record the caller may use."""


def _conditions(reference: Mapping[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    return {key: reference[key] for key in columns if reference.get(key) is not None}


def _single(rows: list[Any], entity: str) -> Any:
    if not rows:
        raise Unresolved(f"{entity} reference not found")
    if len(rows) > 1:
        raise Unresolved(f"{entity} {AMBIGUOUS}")
    return rows[0]


def _no_columns(entity: str) -> Unresolved:
    return Unresolved(f"{entity} reference columns are not being passed.")


# --- positions and organisations --------------------------------------------------------------
@lru_cache(maxsize=64)
def _item_query(keys: tuple[str, ...]) -> Select[Any]:
    conditions = (getattr(hierarchy_items.c, key) == bindparam(key) for key in keys)
    query = select(hierarchy_items.c.id).where(hierarchy_items.c.kind == bindparam("kind"))
    return query.where(*conditions).limit(2)


def hierarchy_item_id(
    conn: Connection, kind: str, entity: str, reference: Mapping[str, Any]
) -> int:
    """The id of the one position or organisation (``kind``) the reference picks."""
    given = _conditions(reference, ITEM_COLUMNS)
    if not given:
        raise _no_columns(entity)
    rows = conn.execute(_item_query(tuple(given)), {**given, "kind": kind}).all()
    return int(_single(list(rows), entity)[0])


# --- users ------------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _user_query(keys: tuple[str, ...], scope: ColumnElement[Any]) -> Select[Any]:
    conditions = (getattr(users.c, key) == bindparam(key) for key in keys)
    visible = case((scope, 1), else_=0).label("visible")
    return select(users, visible).where(users.c.deleted.is_(False), *conditions).limit(2)


def user_row(
    conn: Connection,
    actor: Actor,
    entity: str,
    reference: Mapping[str, Any],
    not_guest: bool = False,
) -> dict[str, Any]:
    """The one live user the reference picks, if the caller may see them.

    An empty reference is refused as the others are, but one whose values are all null is
    not: Totara always adds "not deleted", so it matches every live user and is ambiguous.
    """
    if not reference:
        raise _no_columns(entity)
    given = _conditions(reference, USER_COLUMNS)
    scope = reachable_users(actor.principal, actor.site, REFERENCE)
    rows = conn.execute(_user_query(tuple(given), scope), given).mappings().all()
    row = dict(_single(list(rows), entity))
    if not_guest and row["username"] == GUEST_USERNAME:
        raise Unresolved(f"Guest user can not be specified for {entity}.")
    if not row.pop("visible"):
        raise Unresolved("No capabilities to view user.")
    return row


# --- job assignments --------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _job_query(keys: tuple[str, ...], scope: ColumnElement[Any]) -> Select[Any]:
    conditions = (getattr(ja.c, _JOB_COLUMN.get(key, key)) == bindparam(key) for key in keys)
    visible = case((scope, 1), else_=0).label("visible")
    return (
        select(ja, users.c.tenant_id.label("user_tenant_id"), visible)
        .select_from(ja.join(users, users.c.id == ja.c.user_id))
        .where(*conditions)
        .limit(2)
    )


def job_assignment_row(
    conn: Connection, actor: Actor, entity: str, reference: Mapping[str, Any]
) -> dict[str, Any]:
    """The one job assignment the reference picks (by ``id``, ``idnumber`` and ``userid``),
    whose holder the caller may see. The row carries the holder's tenant as
    ``user_tenant_id``.

    A tenant caller would get a second try in Totara, accepting holders who take part in its
    tenant without belonging to it; extapi has no such participants, so the answer stands.
    """
    given = _conditions(reference, JOB_COLUMNS)
    if not given:
        raise _no_columns(entity)
    scope = reachable_users(actor.principal, actor.site, REFERENCE)
    rows = conn.execute(_job_query(tuple(given), scope), given).mappings().all()
    row = dict(_single(list(rows), entity))
    if not row.pop("visible"):
        raise Unresolved(f"{entity} user reference not found")
    return row
