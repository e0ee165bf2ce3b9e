"""Hierarchies: organisation and position frameworks, types and items.

Both kinds share one set of tables and one set of rules, so every service here takes a
:class:`Kind` describing the words and capabilities of the kind it works on. Items form trees
inside a framework; ``path`` holds the ids from the top down ("/1/4/6") and ``depth`` the
level (1 at the top), and both are kept right for a moved item's whole subtree.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from extapi.dates import parse_date_input
from extapi.db.tables import hierarchy_frameworks, hierarchy_items, hierarchy_types, job_assignments
from extapi.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from extapi.pagination import ALL, Page, Wanted, page_request, read_page
from extapi.people.user_changes import Actor

__all__ = [
    "ORGANISATION",
    "POSITION",
    "KINDS",
    "Kind",
    "KIND_INFO",
    "items_by_ids",
    "frameworks_by_ids",
    "types_by_ids",
    "children_by_parent_ids",
    "items_in_framework",
    "get_item",
    "find_item",
    "list_items",
    "create_item",
    "update_item",
    "delete_item",
    "add_framework",
    "list_frameworks",
    "add_type",
    "list_types",
]

ORGANISATION, POSITION = "organisation", "position"
KINDS = (ORGANISATION, POSITION)
SORTABLE = ("id", "fullname")
_SORT_COLUMNS = {name: getattr(hierarchy_items.c, name) for name in SORTABLE}
_DENIED = "Sorry, but you do not currently have permissions to do that ({action})"
_MISSING = "The {what} does not exist or you do not have permissions to view it."


@dataclass(frozen=True)
class Kind:
    """One kind of hierarchy: the words its messages use and the capabilities it needs."""

    name: str  # "organisation": also the value of the ``kind`` column
    plural: str
    article: str  # "an" or "a", as in "Create an organisation"

    def capability(self, action: str) -> str:
        """``totara/hierarchy:<action><kind>``, e.g. totara/hierarchy:vieworganisation."""
        return f"totara/hierarchy:{action}{self.name}"

    def missing(self, what: str = "") -> str:
        """The not-found message for the item itself or its framework, type or parent."""
        subject = f"{self.name} {what}" if what in ("framework", "type") else self.name
        return _MISSING.format(what=f"parent {subject}" if what == "parent" else subject)


KIND_INFO = {
    ORGANISATION: Kind(ORGANISATION, "organisations", "an"),
    POSITION: Kind(POSITION, "positions", "a"),
}


def _now() -> int:
    return int(time.time())


def _require(actor: Actor, kind: Kind, action: str) -> None:
    """Hierarchies are site-wide: the capability counts in the system context only."""
    if actor.can(kind.capability(action), None):
        return
    if action == "view":
        words = f"View {kind.plural}"
    else:
        words = f"{action.capitalize()} {kind.article} {kind.name}"
    raise PermissionDenied(_DENIED.format(action=words))


# --- reading, for loaders and resolvers -------------------------------------------------------
def _rows_by_ids(conn: Connection, table: Table, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(table).where(table.c.id.in_(wanted))).mappings()
    return {int(r["id"]): dict(r) for r in rows}


def items_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Items (of either kind) by id, in one statement; used by batch loaders."""
    return _rows_by_ids(conn, hierarchy_items, ids)


def frameworks_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return _rows_by_ids(conn, hierarchy_frameworks, ids)


def types_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    return _rows_by_ids(conn, hierarchy_types, ids)


def children_by_parent_ids(
    conn: Connection, parent_ids: Iterable[int]
) -> dict[int, list[dict[str, Any]]]:
    """The direct children of each given item, ordered by fullname then id."""
    wanted = sorted(set(parent_ids))
    found: dict[int, list[dict[str, Any]]] = {}
    if not wanted:
        return found
    query = (
        select(hierarchy_items)
        .where(hierarchy_items.c.parent_id.in_(wanted))
        .order_by(hierarchy_items.c.fullname, hierarchy_items.c.id)
    )
    for row in conn.execute(query).mappings():
        found.setdefault(int(row["parent_id"]), []).append(dict(row))
    return found


def items_in_framework(conn: Connection, framework_id: int) -> list[dict[str, Any]]:
    """Every item of a framework, ordered by fullname then id."""
    query = (
        select(hierarchy_items)
        .where(hierarchy_items.c.framework_id == framework_id)
        .order_by(hierarchy_items.c.fullname, hierarchy_items.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def get_item(conn: Connection, item_id: int) -> dict[str, Any]:
    row = conn.execute(select(hierarchy_items).where(hierarchy_items.c.id == item_id)).mappings()
    return dict(row.one())


# --- references -------------------------------------------------------------------------------
def _by_reference(
    conn: Connection, table: Table, kind: Kind, reference: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The one row of ``kind`` matching every given field of {id, idnumber}, or None."""
    conditions = [
        table.c[key] == value
        for key, value in (reference or {}).items()
        if key in ("id", "idnumber") and value not in (None, "")
    ]
    if not conditions:
        return None
    query = select(table).where(table.c.kind == kind.name, *conditions).limit(2)
    rows = conn.execute(query).mappings().all()
    return dict(rows[0]) if len(rows) == 1 else None


def find_item(
    conn: Connection, actor: Actor, kind: Kind, reference: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The item a reference picks, or None; needs the kind's view capability."""
    _require(actor, kind, "view")
    return _by_reference(conn, hierarchy_items, kind, reference)


def _existing_item(conn: Connection, kind: Kind, reference: Mapping[str, Any]) -> dict[str, Any]:
    item = _by_reference(conn, hierarchy_items, kind, reference)
    if item is None:
        raise NotFoundError(kind.missing())
    return item


def _related_id(
    conn: Connection, table: Table, kind: Kind, reference: Mapping[str, Any] | None, what: str
) -> int | None:
    """The id a framework or type reference picks (None for no reference)."""
    if reference is None:
        return None
    row = _by_reference(conn, table, kind, reference)
    if row is None:
        raise ValidationError(kind.missing(what))
    return int(row["id"])


# --- listing ----------------------------------------------------------------------------------
def _sort(query: Mapping[str, Any]) -> tuple[str, bool]:
    column = query.get("order_by") or "fullname"
    if column not in SORTABLE:
        raise ValidationError("Unknown sort column")
    direction = str(query.get("order_dir") or "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise ValidationError("Unknown sort direction")
    return column, direction == "DESC"


def _filters(actor: Actor, kind: Kind, filters: Mapping[str, Any] | None) -> list[Any]:
    filters = filters or {}
    items = hierarchy_items.c
    conditions: list[Any] = [items.kind == kind.name]
    for name, column in (
        ("parent_id", items.parent_id),
        ("type_id", items.type_id),
        ("framework_id", items.framework_id),
    ):
        if filters.get(name) is not None:
            conditions.append(column == filters[name])
    if filters.get("ids") is not None:
        conditions.append(items.id.in_(filters["ids"]))
    if filters.get("name"):
        conditions.append(
            func.lower(items.fullname).contains(filters["name"].lower(), autoescape=True)
        )
    if filters.get("since_timemodified") is not None:
        try:
            since = parse_date_input(filters["since_timemodified"], actor.timezone)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if since is not None:
            conditions.append(items.timemodified >= since)
    return conditions


def list_items(
    conn: Connection,
    actor: Actor,
    kind: Kind,
    query: Mapping[str, Any] | None,
    wanted: Wanted = ALL,
) -> Page:
    """One page of the kind's items, filtered and sorted as the query asks; only what
    ``wanted`` asks for is read (see :func:`extapi.pagination.read_page`)."""
    _require(actor, kind, "view")
    query = query or {}
    column, descending = _sort(query)
    request = page_request(query.get("pagination"), [column], descending)
    where = _filters(actor, kind, query.get("filters"))
    total = conn.execute(select(func.count()).select_from(hierarchy_items).where(*where))
    items, next_cursor, cut = read_page(
        conn, select(hierarchy_items).where(*where), _SORT_COLUMNS, request, wanted
    )
    return Page(items, int(total.scalar_one()), next_cursor, cut)


# --- validating values ------------------------------------------------------------------------
def _clean_text(data: Mapping[str, Any], values: dict[str, Any]) -> None:
    if "fullname" in data:
        fullname = (data["fullname"] or "").strip()
        if not fullname:
            raise ValidationError("The fullname can not be blank.")
        values["fullname"] = fullname
    for field in ("idnumber", "shortname", "description"):
        if field in data:
            values[field] = (data[field] or "").strip()
    if data.get("visible") is not None:
        values["visible"] = bool(data["visible"])


def _check_idnumber(conn: Connection, kind: Kind, idnumber: str, except_id: int | None) -> None:
    """Non-empty idnumbers are unique among the items of a kind."""
    if not idnumber:
        return
    query = select(hierarchy_items.c.id).where(
        hierarchy_items.c.kind == kind.name, hierarchy_items.c.idnumber == idnumber
    )
    if any(row.id != except_id for row in conn.execute(query)):
        raise ConflictError(f"The idnumber is utilised by an existing {kind.name}.")


def _parent(
    conn: Connection, kind: Kind, reference: Mapping[str, Any], framework_id: int
) -> dict[str, Any]:
    parent = _by_reference(conn, hierarchy_items, kind, reference)
    if parent is None:
        raise ValidationError(kind.missing("parent"))
    if int(parent["framework_id"]) != framework_id:
        raise ValidationError(f"The parent {kind.name} belongs to a different framework.")
    return parent


def _placement(parent: Mapping[str, Any] | None, item_id: int) -> dict[str, Any]:
    """parent_id, path and depth of an item placed under ``parent`` (None: at the top)."""
    if parent is None:
        return {"parent_id": None, "path": f"/{item_id}", "depth": 1}
    return {
        "parent_id": int(parent["id"]),
        "path": f"{parent['path']}/{item_id}",
        "depth": int(parent["depth"]) + 1,
    }


# --- writing ----------------------------------------------------------------------------------
def create_item(conn: Connection, actor: Actor, kind: Kind, data: Mapping[str, Any]) -> int:
    """Create an item from a create input; returns its id."""
    _require(actor, kind, "create")
    values: dict[str, Any] = {}
    _clean_text({"fullname": data.get("fullname"), **data}, values)
    framework_id = _related_id(conn, hierarchy_frameworks, kind, data["framework"], "framework")
    assert framework_id is not None
    values["type_id"] = _related_id(conn, hierarchy_types, kind, data.get("type"), "type")
    parent = None
    if data.get("parent") is not None:
        parent = _parent(conn, kind, data["parent"], framework_id)
    _check_idnumber(conn, kind, values.get("idnumber", ""), None)
    now = _now()
    new_id = int(
        conn.execute(
            insert(hierarchy_items).values(
                kind=kind.name,
                framework_id=framework_id,
                timecreated=now,
                timemodified=now,
                **values,
            )
        ).inserted_primary_key[0]
    )
    _place(conn, {"id": new_id, "path": "", "depth": 1}, parent)
    return new_id


def update_item(
    conn: Connection,
    actor: Actor,
    kind: Kind,
    reference: Mapping[str, Any],
    data: Mapping[str, Any],
) -> int:
    """Change the given fields of an item; a given null parent moves it to the top."""
    _require(actor, kind, "update")
    item = _existing_item(conn, kind, reference)
    values: dict[str, Any] = {}
    _clean_text(data, values)
    if "type" in data:
        values["type_id"] = _related_id(conn, hierarchy_types, kind, data["type"], "type")
    if "idnumber" in values:
        _check_idnumber(conn, kind, values["idnumber"], int(item["id"]))
    if "parent" in data:
        _move(conn, kind, item, data["parent"])
    values["timemodified"] = _now()
    conn.execute(update(hierarchy_items).where(hierarchy_items.c.id == item["id"]).values(values))
    return int(item["id"])


def _move(
    conn: Connection, kind: Kind, item: Mapping[str, Any], reference: Mapping[str, Any] | None
) -> None:
    parent = None
    if reference is not None:
        parent = _parent(conn, kind, reference, int(item["framework_id"]))
        if parent["id"] == item["id"] or str(parent["path"]).startswith(f"{item['path']}/"):
            raise ValidationError(
                f"The {kind.name} can not be moved under itself or one of its children."
            )
    _place(conn, item, parent)


def _place(conn: Connection, item: Mapping[str, Any], parent: Mapping[str, Any] | None) -> None:
    """Put ``item`` under ``parent`` and rewrite path and depth of its whole subtree."""
    placement = _placement(parent, int(item["id"]))
    old_path, new_path = str(item["path"]), placement["path"]
    items = hierarchy_items.c
    conn.execute(update(hierarchy_items).where(items.id == item["id"]).values(placement))
    if not old_path or old_path == new_path:
        return
    shift = placement["depth"] - int(item["depth"])
    conn.execute(
        update(hierarchy_items)
        .where(items.path.startswith(f"{old_path}/"))
        .values(
            path=literal(new_path).concat(func.substr(items.path, len(old_path) + 1)),
            depth=items.depth + shift,
        )
    )


def delete_item(conn: Connection, actor: Actor, kind: Kind, reference: Mapping[str, Any]) -> int:
    """Delete an item with its whole subtree; job assignments lose their link to them."""
    _require(actor, kind, "delete")
    item = _existing_item(conn, kind, reference)
    subtree = or_(
        hierarchy_items.c.id == item["id"],
        hierarchy_items.c.path.startswith(f"{item['path']}/"),
    )
    doomed = select(hierarchy_items.c.id).where(subtree).scalar_subquery()
    link = job_assignments.c[f"{kind.name}_id"]
    conn.execute(
        update(job_assignments)
        .where(link.in_(doomed))
        .values({link.name: None, "timemodified": _now()})
    )
    conn.execute(delete(hierarchy_items).where(subtree))
    return int(item["id"])


# --- frameworks and types (command line) ------------------------------------------------------
def _add_named(
    conn: Connection, table: Table, kind: Kind, what: str, values: dict[str, Any]
) -> int:
    idnumber = str(values.get("idnumber") or "").strip()
    fullname = str(values.get("fullname") or "").strip()
    if not idnumber or not fullname:
        raise ValidationError(f"A {kind.name} {what} needs an idnumber and a fullname.")
    clash: ColumnElement[bool] = (table.c.kind == kind.name) & (table.c.idnumber == idnumber)
    if conn.execute(select(table.c.id).where(clash)).first() is not None:
        raise ConflictError(
            f"{kind.article.capitalize()} {kind.name} {what} with idnumber '{idnumber}' "
            "already exists."
        )
    now = _now()
    row = {**values, "idnumber": idnumber, "fullname": fullname, "kind": kind.name}
    result = conn.execute(insert(table).values(**row, timecreated=now, timemodified=now))
    return int(result.inserted_primary_key[0])


def add_framework(
    conn: Connection, kind: Kind, idnumber: str, fullname: str, shortname: str = ""
) -> int:
    values = {"idnumber": idnumber, "fullname": fullname, "shortname": shortname}
    return _add_named(conn, hierarchy_frameworks, kind, "framework", values)


def add_type(
    conn: Connection, kind: Kind, idnumber: str, fullname: str, shortname: str = ""
) -> int:
    values = {"idnumber": idnumber, "fullname": fullname, "shortname": shortname}
    return _add_named(conn, hierarchy_types, kind, "type", values)


def _list_named(conn: Connection, table: Table, kind: Kind) -> list[dict[str, Any]]:
    query = select(table).where(table.c.kind == kind.name).order_by(table.c.fullname, table.c.id)
    return [dict(r) for r in conn.execute(query).mappings()]


def list_frameworks(conn: Connection, kind: Kind) -> list[dict[str, Any]]:
    return _list_named(conn, hierarchy_frameworks, kind)


def list_types(conn: Connection, kind: Kind) -> list[dict[str, Any]]:
    return _list_named(conn, hierarchy_types, kind)
