"""Resolvers of the hierarchy area (organisations, positions, frameworks, types).

The five services exist once per kind; :func:`_services` builds them for a
:class:`~extapi.org.hierarchy.Kind`. Item, framework and type fields work on plain table rows
(dicts), whoever produced them, so job assignments can hand over item rows as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from graphql import GraphQLResolveInfo

from extapi.graphql.formats import format_string_field, format_text
from extapi.graphql.loaders import BatchLoader
from extapi.graphql.paging import read_list
from extapi.org import hierarchy
from extapi.org.hierarchy import KIND_INFO, Kind

__all__ = ["RESOLVERS"]

Row = Mapping[str, Any]
_ITEMS, _FRAMEWORKS, _TYPES, _CHILDREN = (
    "hierarchy_items",
    "hierarchy_frameworks",
    "hierarchy_types",
    "hierarchy_children",
)


def _context(info: GraphQLResolveInfo) -> Any:
    return info.context


def _loader(info: GraphQLResolveInfo, key: str) -> BatchLoader[Any]:
    ctx = _context(info)
    loader = ctx.loaders.get(key)
    if loader is None:
        fetchers: dict[str, tuple[Callable[..., Any], Any]] = {
            _ITEMS: (hierarchy.items_by_ids, None),
            _FRAMEWORKS: (hierarchy.frameworks_by_ids, None),
            _TYPES: (hierarchy.types_by_ids, None),
            _CHILDREN: (hierarchy.children_by_parent_ids, []),
        }
        fetch, default = fetchers[key]
        loader = BatchLoader(lambda ids: fetch(ctx.conn, ids), default)
        ctx.loaders[key] = loader
    return loader


def _prime(info: GraphQLResolveInfo, items: Sequence[Row]) -> None:
    """Announce the related rows of a page, so each relation loads in one statement."""
    _loader(info, _FRAMEWORKS).expect(int(i["framework_id"]) for i in items)
    _loader(info, _TYPES).expect(int(i["type_id"]) for i in items if i["type_id"])
    _loader(info, _ITEMS).expect(int(i["parent_id"]) for i in items if i["parent_id"])
    _loader(info, _CHILDREN).expect(int(i["id"]) for i in items)


def _forget_all(info: GraphQLResolveInfo) -> None:
    """After a write, cached hierarchy rows of this request may be stale: drop them all."""
    for key in (_ITEMS, _FRAMEWORKS, _TYPES, _CHILDREN):
        _context(info).loaders.pop(key, None)


# --- queries and mutations, per kind ----------------------------------------------------------
def _services(kind: Kind) -> dict[str, Callable[..., Any]]:
    name, plural = kind.name, kind.plural

    def resolve_one(_root: Any, info: GraphQLResolveInfo, reference: Any) -> dict[str, Any]:
        ctx = _context(info)
        item = hierarchy.find_item(ctx.conn, ctx.actor, kind, reference)
        return {"found": item is not None, name: item}

    def resolve_many(_root: Any, info: GraphQLResolveInfo, query: Any = None) -> dict[str, Any]:
        ctx = _context(info)
        page = read_list(
            info, lambda wanted: hierarchy.list_items(ctx.conn, ctx.actor, kind, query, wanted)
        )
        _prime(info, page.items)
        return {"items": page.items, "total": page.total, "next_cursor": page.next_cursor}

    def resolve_create(_root: Any, info: GraphQLResolveInfo, input: Any) -> dict[str, Any]:
        ctx = _context(info)
        with ctx.transaction() as conn:
            new_id = hierarchy.create_item(conn, ctx.actor, kind, input)
            _forget_all(info)
            return {name: hierarchy.get_item(conn, new_id)}

    def resolve_update(
        _root: Any, info: GraphQLResolveInfo, reference: Any, input: Any
    ) -> dict[str, Any]:
        ctx = _context(info)
        with ctx.transaction() as conn:
            item_id = hierarchy.update_item(conn, ctx.actor, kind, reference, input)
            _forget_all(info)
            return {name: hierarchy.get_item(conn, item_id)}

    def resolve_delete(_root: Any, info: GraphQLResolveInfo, reference: Any) -> dict[str, Any]:
        ctx = _context(info)
        with ctx.transaction() as conn:
            item_id = hierarchy.delete_item(conn, ctx.actor, kind, reference)
        _forget_all(info)
        return {f"{name}_id": item_id}

    prefix = f"hierarchy_{name}"
    return {
        f"Query.{prefix}_{name}": resolve_one,
        f"Query.{prefix}_{plural}": resolve_many,
        f"Mutation.{prefix}_create_{name}": resolve_create,
        f"Mutation.{prefix}_update_{name}": resolve_update,
        f"Mutation.{prefix}_delete_{name}": resolve_delete,
    }


# --- fields shared by items, frameworks and types ---------------------------------------------
def _optional_text(value: Any) -> str | None:
    return value or None


def _name(value: str | None, fmt: str) -> str | None:
    """Names use the string formatter; a missing name is none, whatever the format."""
    return None if value is None else format_string_field(value, fmt)


def resolve_fullname(row: Row, _info: GraphQLResolveInfo, format: str = "PLAIN") -> str:
    return _name(row["fullname"], format) or ""


def resolve_shortname(row: Row, _info: GraphQLResolveInfo, format: str = "PLAIN") -> str | None:
    return _name(_optional_text(row["shortname"]), format)


def resolve_idnumber(row: Row, _info: GraphQLResolveInfo) -> str | None:
    return _optional_text(row["idnumber"])


def resolve_description(row: Row, _info: GraphQLResolveInfo, format: str = "HTML") -> str | None:
    description = _optional_text(row["description"])
    return None if description is None else format_text(description, format)


def _raw_allowed(item: Row, info: GraphQLResolveInfo, fmt: str) -> bool:
    """An item's texts in RAW format are shown only to callers who may update such items."""
    capability = KIND_INFO[item["kind"]].capability("update")
    return fmt != "RAW" or bool(_context(info).actor.can(capability))


def resolve_item_fullname(item: Row, info: GraphQLResolveInfo, format: str = "PLAIN") -> Any:
    return resolve_fullname(item, info, format) if _raw_allowed(item, info, format) else None


def resolve_item_shortname(item: Row, info: GraphQLResolveInfo, format: str = "PLAIN") -> Any:
    return resolve_shortname(item, info, format) if _raw_allowed(item, info, format) else None


def resolve_item_description(item: Row, info: GraphQLResolveInfo, format: str = "HTML") -> Any:
    return resolve_description(item, info, format) if _raw_allowed(item, info, format) else None


_NAMED: dict[str, Callable[..., Any]] = {
    "fullname": resolve_fullname,
    "shortname": resolve_shortname,
    "idnumber": resolve_idnumber,
    "description": resolve_description,
}


# --- item fields ------------------------------------------------------------------------------
def resolve_frameworkid(item: Row, _info: GraphQLResolveInfo) -> int:
    return int(item["framework_id"])


def resolve_framework(item: Row, info: GraphQLResolveInfo) -> Row | None:
    result: Row | None = _loader(info, _FRAMEWORKS).load(int(item["framework_id"]))
    return result


def resolve_parentid(item: Row, _info: GraphQLResolveInfo) -> int | None:
    return int(item["parent_id"]) if item["parent_id"] else None


def resolve_parent(item: Row, info: GraphQLResolveInfo) -> Row | None:
    if not item["parent_id"]:
        return None
    result: Row | None = _loader(info, _ITEMS).load(int(item["parent_id"]))
    return result


def resolve_children(item: Row, info: GraphQLResolveInfo) -> list[Row]:
    children: list[Row] = _loader(info, _CHILDREN).load(int(item["id"]))
    _prime(info, children)
    return children


def resolve_path(item: Row, _info: GraphQLResolveInfo) -> str:
    return str(item["path"])


def resolve_visible(item: Row, _info: GraphQLResolveInfo) -> bool:
    return bool(item["visible"])


def resolve_typeid(item: Row, _info: GraphQLResolveInfo) -> int | None:
    return int(item["type_id"]) if item["type_id"] else None


def resolve_type(item: Row, info: GraphQLResolveInfo) -> Row | None:
    if not item["type_id"]:
        return None
    result: Row | None = _loader(info, _TYPES).load(int(item["type_id"]))
    return result


def resolve_framework_items(framework: Row, info: GraphQLResolveInfo) -> list[Row]:
    items = hierarchy.items_in_framework(_context(info).conn, int(framework["id"]))
    _prime(info, items)
    return list(items)


_ITEM_FIELDS: dict[str, Callable[..., Any]] = {
    **_NAMED,
    "fullname": resolve_item_fullname,
    "shortname": resolve_item_shortname,
    "description": resolve_item_description,
    "frameworkid": resolve_frameworkid,
    "framework": resolve_framework,
    "parentid": resolve_parentid,
    "parent": resolve_parent,
    "children": resolve_children,
    "path": resolve_path,
    "visible": resolve_visible,
    "typeid": resolve_typeid,
    "type": resolve_type,
}


def _type_fields(kind: Kind) -> dict[str, Callable[..., Any]]:
    base = f"totara_hierarchy_{kind.name}"
    fields = {f"{base}.{field}": resolver for field, resolver in _ITEM_FIELDS.items()}
    for suffix in ("framework", "type"):
        fields.update({f"{base}_{suffix}.{field}": r for field, r in _NAMED.items()})
    return fields


RESOLVERS: dict[str, Callable[..., Any]] = {
    "totara_hierarchy_position_framework.positions": resolve_framework_items,
}
for _kind in KIND_INFO.values():
    RESOLVERS.update(_services(_kind))
    RESOLVERS.update(_type_fields(_kind))
