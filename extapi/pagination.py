"""Totara-compatible cursor pagination (keyset pagination over SQLAlchemy Core).

A query takes ``pagination: {cursor, limit, page}``; cursor queries ignore ``page``. The
``next_cursor`` handed back is standard base64 (with padding) of compact JSON
``{"limit": N, "columns": {<sort column>: <value in the last row>, ...}}``, or ``""`` when the
page is the last one. The columns are the sort columns followed by the table's unique id as a
tiebreaker, so every row has a distinct position and a walk returns each row exactly once.

Typical use in a resolver::

    request = page_request(args.get("pagination"), ["lastname"], descending=False)
    query = select(...).order_by(*order_by(cols, request)).limit(fetch_limit(request))
    condition = keyset_condition(cols, request)
    if condition is not None:
        query = query.where(condition)
    items, next_cursor = finish_page(conn.execute(query).mappings().all(), request)

Rules the caller must respect:

* Sort columns must be ``NOT NULL``: a NULL never compares greater or smaller than a value,
  so rows with NULL keys would be skipped or repeated.
* Cursor values travel as JSON, so sort columns must hold JSON types (integers, strings,
  floats, booleans); times are unix seconds in integer columns throughout this project.
* Text columns are compared by the database, so case sensitivity and accent order follow the
  database collation: byte order on SQLite, the column's collation on PostgreSQL. The same
  data can therefore page in a different order on the two databases.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    SmallInteger,
    UnaryExpression,
    and_,
    or_,
)

from extapi.errors import CodingError, ValidationError

__all__ = [
    "Page",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Cursor",
    "PageRequest",
    "decode_cursor",
    "page_request",
    "keyset_condition",
    "order_by",
    "fetch_limit",
    "finish_page",
    "paged",
    "Wanted",
    "ALL",
    "read_page",
]

DEFAULT_LIMIT = 20
MAX_LIMIT: int | None = None

# Totara raises these as coding exceptions, so each reaches the client after the coding-error
# prefix (see extapi.errors.CodingError).
ERR_NOT_BASE64 = "Invalid cursor given, expected base64 encoded string"
ERR_NOT_JSON = "Invalid cursor given, expected array encoded as json and base64."
ERR_EMPTY = "Empty cursor given, please provide a cursor with at least one value."
ERR_NO_LIMIT = "You must provide a limit within your cursor."
ERR_NO_COLUMNS = "You must provide columns within your cursor."
ERR_ORDER = "Order of query does not match given cursor"
ERR_ABOVE_MAX = "Cursor limit has been set above maximum allowed"

# PHP's strict base64 alphabet; spaces, tabs and line breaks are skipped.
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_BASE64_SKIPPED = frozenset(b" \t\r\n")

# A cursor's limit must be a GraphQL Int (signed 32 bits), like the ``limit`` argument.
_INT32 = 2**31
_JSON_MAX_NESTING = 511
_INT64_MAX = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")

# JSON types a cursor column value may have, per the Python type SQLAlchemy reports for the
# column. Columns of other types (or with no Python type) are not checked.
_ACCEPTED_VALUES: dict[type, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    str: (str,),
    bool: (bool,),
}


@dataclass(frozen=True)
class Cursor:
    """A position in a sorted result: the page size and the sort key of the last row seen."""

    limit: int | None
    columns: dict[str, Any] | None

    def encode(self) -> str:
        """The cursor text as Totara writes it (PHP ``json_encode`` output, base64)."""
        payload = json.dumps({"limit": self.limit, "columns": self.columns}, separators=(",", ":"))
        # PHP escapes "/" in strings; a "/" can only occur inside JSON strings.
        payload = payload.replace("/", "\\/")
        return base64.b64encode(payload.encode("ascii")).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Read a cursor a client sent back; raise ``CodingError`` if it is malformed.

        The checks run in Totara's order, each with its own text: base64, JSON object or list,
        not empty, a ``limit`` key, a ``columns`` key holding an object, a list or null.
        """
        data = _parse_json(_unbase64(text))
        if not isinstance(data, (dict, list)):
            raise CodingError(ERR_NOT_JSON)
        if not data:
            raise CodingError(ERR_EMPTY)
        if not isinstance(data, dict) or "limit" not in data:
            raise CodingError(ERR_NO_LIMIT)
        columns = data.get("columns", False)
        if columns is not None and not isinstance(columns, (dict, list)):
            raise CodingError(ERR_NO_COLUMNS)
        limit = data["limit"]
        if limit is not None and (not _is_int(limit) or not -_INT32 <= limit < _INT32):
            raise CodingError(ERR_NOT_JSON)
        return cls(limit=limit, columns=_column_map(columns))


@dataclass(frozen=True)
class Page:
    """One page of a list query: its rows, the count across all pages, the next cursor, and
    whether the rows were cut short at the most the request could use (see :class:`Wanted`)."""

    items: list[Any]
    total: int
    next_cursor: str
    cut: bool = False


@dataclass(frozen=True)
class PageRequest:
    """What one page query needs: size (None: everything), position, and key order."""

    limit: int | None
    after: dict[str, Any] | None
    sort: tuple[str, ...]
    descending: bool


@dataclass(frozen=True)
class Wanted:
    """What a client selected of a page, so that no more is read than it can use.

    ``items``: the rows themselves; ``next_cursor``: the cursor of the next page;
    ``max_items``: the most items worth reading (None: no bound). A list resolver sets the
    bound from the complexity budget (see :mod:`extapi.graphql.paging`): a page holding
    more can only fail. ``total``: the count across all pages, which costs a pass over every
    matching row, so a service skips it (and reports 0) when nobody reads it.
    """

    items: bool = True
    next_cursor: bool = True
    max_items: int | None = None
    total: bool = True


ALL = Wanted()


def decode_cursor(pagination: Mapping[str, Any] | None) -> Cursor | None:
    """The cursor of a ``pagination`` argument, or None when it is PHP-empty (missing, null,
    ``""`` or ``"0"``): Totara then starts at the first row.

    For lists that must report a malformed cursor before other checks (Totara's users list);
    hand the result to :func:`page_request` as ``decoded``.
    """
    text = (pagination or {}).get("cursor")
    return Cursor.decode(text) if text and text != "0" else None


def page_request(
    pagination: Mapping[str, Any] | None,
    sort_columns: Sequence[str],
    descending: bool,
    tiebreaker: str = "id",
    max_limit: int | None = MAX_LIMIT,
    *,
    decoded: Cursor | None = None,
) -> PageRequest:
    """Turn a query's ``pagination`` argument into a :class:`PageRequest`.

    A cursor's own limit replaces ``pagination.limit``; a missing limit means
    :data:`DEFAULT_LIMIT`, and zero or a negative number means no limit. A limit above
    ``max_limit`` is refused; zero or below is not above it, so it still means no limit. The
    cursor's column names must equal the sort (``sort_columns`` plus ``tiebreaker`` unless
    already sorted by it), in order. A missing, null or empty cursor starts at the first row,
    and so does a cursor whose columns are null (with its own limit, or the default one).
    ``decoded`` is the cursor already read by :func:`decode_cursor`, if the caller did that.
    """
    pagination = pagination or {}
    sort = _sort_key(sort_columns, tiebreaker)
    cursor = decoded if decoded is not None else decode_cursor(pagination)
    limit = cursor.limit if cursor is not None else pagination.get("limit")
    after = cursor.columns if cursor is not None else None
    if after is not None and tuple(after) != sort:
        raise CodingError(ERR_ORDER)
    return PageRequest(
        limit=_effective_limit(limit, max_limit),
        after=after,
        sort=sort,
        descending=descending,
    )


def keyset_condition(
    columns: Mapping[str, ColumnElement[Any]], request: PageRequest
) -> ColumnElement[bool] | None:
    """The WHERE condition selecting rows strictly after the cursor, or None without one.

    For a key ``(a, b, id)`` ascending this is ``a > :a OR (a = :a AND b > :b) OR (a = :a AND
    b = :b AND id > :id)`` (``<`` when descending), written without row-value comparison so
    SQLite and PostgreSQL both accept it. With two or more columns ``a >= :a`` is added in
    front, which changes nothing in the result but lets the planner use an index on ``a``.
    Raises ``CodingError`` if a cursor value does not fit its column's type.
    """
    if request.after is None:
        return None
    keys = [
        (columns[name], _cursor_value(columns[name], request.after[name])) for name in request.sort
    ]
    branches = [_branch(keys[:i], keys[i], request.descending) for i in range(len(keys))]
    condition = or_(*branches)
    if len(keys) == 1:
        return condition
    first, value = keys[0]
    return and_(first <= value if request.descending else first >= value, condition)


def order_by(
    columns: Mapping[str, ColumnElement[Any]], request: PageRequest
) -> list[UnaryExpression[Any]]:
    """ORDER BY clauses for the request's key, every column in the request's direction."""
    if request.descending:
        return [columns[name].desc() for name in request.sort]
    return [columns[name].asc() for name in request.sort]


def fetch_limit(request: PageRequest) -> int | None:
    """How many rows to fetch: one more than the page, to learn whether a next page exists
    (never more than a 64-bit ``LIMIT`` holds)."""
    return None if request.limit is None else min(request.limit + 1, _INT64_MAX)


def paged(
    query: Select[Any], columns: Mapping[str, ColumnElement[Any]], request: PageRequest
) -> Select[Any]:
    """``query`` narrowed to the request's page: after the cursor, in the key's order, and
    one row more than the page (see ``finish_page``)."""
    query = query.order_by(*order_by(columns, request))
    after = keyset_condition(columns, request)
    if after is not None:
        query = query.where(after)
    limit = fetch_limit(request)
    return query if limit is None else query.limit(limit)


def finish_page(
    rows: Sequence[Mapping[str, Any]], request: PageRequest, key_prefix: str = ""
) -> tuple[list[Mapping[str, Any]], str]:
    """Cut the fetched rows to the page and build ``next_cursor`` (``""`` on the last page).

    ``rows`` is the result of a query limited by :func:`fetch_limit`; each row must carry
    every column of ``request.sort`` under its name (after ``key_prefix``).
    """
    if request.limit is None or len(rows) <= request.limit:
        return list(rows), ""
    page = list(rows[: request.limit])
    return page, _cursor_at(page[-1], request, key_prefix)


def read_page(
    conn: Connection,
    query: Select[Any],
    columns: Mapping[str, ColumnElement[Any]],
    request: PageRequest,
    wanted: Wanted = ALL,
    key_prefix: str = "",
) -> tuple[list[dict[str, Any]], str, bool]:
    """Run ``query`` for the request's page, reading only what ``wanted`` asks for: the rows
    (as dicts), the next cursor, and whether the rows were cut short at ``wanted.max_items``.

    Without items no row is read, except the keys of the page's last row and of the one
    after it when the next cursor is wanted. With items, a page larger than
    ``wanted.max_items`` (however large its limit, or with none) is read only that far, plus
    one row to learn that it goes on; its next cursor then comes from the keys as above.
    ``columns`` maps the sort names to their columns; rows carry them after ``key_prefix``.
    """
    if not wanted.items:
        cursor = _next_cursor(conn, query, columns, request) if wanted.next_cursor else ""
        return [], cursor, False
    bound = wanted.max_items
    if bound is None or (request.limit is not None and request.limit <= bound):
        rows = [dict(r) for r in conn.execute(paged(query, columns, request)).mappings()]
        page, cursor = finish_page(rows, request, key_prefix)
        return [dict(r) for r in page], cursor, False
    rows = [
        dict(r)
        for r in conn.execute(paged(query, columns, replace(request, limit=bound))).mappings()
    ]
    if len(rows) <= bound:  # the whole page, and the last one: it ends before the limit
        return rows, "", False
    wants_cursor = wanted.next_cursor and request.limit is not None
    cursor = _next_cursor(conn, query, columns, request) if wants_cursor else ""
    return rows[:bound], cursor, True


def _next_cursor(
    conn: Connection,
    query: Select[Any],
    columns: Mapping[str, ColumnElement[Any]],
    request: PageRequest,
) -> str:
    """The page's next cursor from the keys of its last row and the row after it alone."""
    if request.limit is None:
        return ""
    keys = query.with_only_columns(*(columns[name].label(name) for name in request.sort))
    keys = keys.order_by(*order_by(columns, request))
    after = keyset_condition(columns, request)
    if after is not None:
        keys = keys.where(after)
    rows = conn.execute(keys.offset(request.limit - 1).limit(2)).mappings().all()
    return _cursor_at(dict(rows[0]), request) if len(rows) == 2 else ""


def _cursor_at(last: Mapping[str, Any], request: PageRequest, key_prefix: str = "") -> str:
    columns = {name: last[key_prefix + name] for name in request.sort}
    return Cursor(limit=request.limit, columns=columns).encode()


def _unbase64(text: str) -> bytes:
    """Decode base64 as PHP's strict ``base64_decode`` does.

    Padding is optional and whitespace is skipped; anything outside the alphabet, data after
    a ``=``, more than two ``=``, a padded length that is no multiple of four, or a last group
    of a single character fails.
    """
    data: list[int] = []
    padding = 0
    for char in text.encode("utf-8", "surrogatepass"):
        if char == ord("="):
            padding += 1
        elif char in _BASE64_SKIPPED:
            continue
        elif char not in _BASE64_ALPHABET or padding:
            raise CodingError(ERR_NOT_BASE64)
        else:
            data.append(char)
    groups = len(data)
    if groups % 4 == 1 or (padding and (padding > 2 or (groups + padding) % 4 != 0)):
        raise CodingError(ERR_NOT_BASE64)
    body = bytes(data) + b"=" * (-groups % 4)
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:  # not reachable after the checks above
        raise CodingError(ERR_NOT_BASE64) from exc


def _parse_json(raw: bytes) -> Any:
    """Decode JSON as PHP's ``json_decode`` does: no NaN or Infinity, no unpaired surrogate
    escape, at most 511 arrays or objects one inside the other (its default depth of 512)."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:  # ValueError covers JSON and UTF-8 faults
        raise CodingError(ERR_NOT_JSON) from exc
    if not _php_decodable(data):
        raise CodingError(ERR_NOT_JSON)
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _php_decodable(data: Any) -> bool:
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return False
        elif isinstance(value, (dict, list)):
            if depth > _JSON_MAX_NESTING:
                return False
            pairs = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in pairs:
                pending.append((key, depth))
                pending.append((item, depth + 1))
    return True


def _column_map(columns: dict[str, Any] | list[Any] | None) -> dict[str, Any] | None:
    """A cursor's columns by name. Null stays None: Totara then starts at the first row. A list
    has no names, so it matches no sort."""
    if columns is None or isinstance(columns, dict):
        return columns
    return {str(index): value for index, value in enumerate(columns)}


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _sort_key(sort_columns: Sequence[str], tiebreaker: str) -> tuple[str, ...]:
    sort = tuple(sort_columns)
    return sort if tiebreaker in sort else (*sort, tiebreaker)


def _effective_limit(limit: Any, max_limit: int | None) -> int | None:
    if limit is None:
        limit = DEFAULT_LIMIT
    if max_limit is not None and limit > max_limit:
        raise ValidationError(ERR_ABOVE_MAX)
    return None if limit <= 0 else int(limit)


def _cursor_value(column: ColumnElement[Any], value: Any) -> Any:
    """The cursor's value for ``column``, refused when it cannot be compared with it."""
    if value is None or isinstance(value, (dict, list)):
        raise CodingError(ERR_NOT_JSON)
    accepted = _ACCEPTED_VALUES.get(_python_type(column))
    if accepted is None:
        return value
    if not isinstance(value, accepted) or (bool not in accepted and isinstance(value, bool)):
        raise CodingError(ERR_NOT_JSON)
    if isinstance(value, int) and not _in_integer_range(column, value):
        raise CodingError(ERR_NOT_JSON)
    return value


def _in_integer_range(column: ColumnElement[Any], value: int) -> bool:
    """Whether ``value`` fits the column's integer type, so the database accepts the bind.

    PostgreSQL refuses an out-of-range parameter instead of comparing it; no stored value can
    lie outside the type, so such a cursor value can only have been forged.
    """
    if isinstance(column.type, SmallInteger):
        bits = 16
    elif isinstance(column.type, BigInteger) or not isinstance(column.type, Integer):
        bits = 64
    else:
        bits = 32
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


def _python_type(column: ColumnElement[Any]) -> type:
    """The column's Python type, or ``object`` when its SQL type does not say."""
    try:
        return column.type.python_type
    except NotImplementedError:
        return object


def _branch(
    equal: Sequence[tuple[ColumnElement[Any], Any]],
    beyond: tuple[ColumnElement[Any], Any],
    descending: bool,
) -> ColumnElement[bool]:
    """``equal[0] = v0 AND ... AND beyond > v`` (``<`` when descending)."""
    column, value = beyond
    step = column < value if descending else column > value
    return and_(*(col == val for col, val in equal), step)
