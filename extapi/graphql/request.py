"""Turning a request body into operations, with Totara's request-shape rules and messages.

Two layers look at a body, as in Totara. Totara's own check runs first, on exact key names and
PHP ``empty()`` values; any failure there fails the whole request with one internal error.
graphql-php's operation parameters come next: it folds key names to lower case and reports
client-safe ``request`` errors on the one operation concerned, while the others still run.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson

from extapi.errors import CodingError, RequestError
from extapi.graphql.phpvalues import php_empty, php_index, print_safe_json

__all__ = [
    "Operation",
    "BodyNotJson",
    "decode_body",
    "get_request_body",
    "has_nul",
    "parse_operations",
    "without_nul",
    "EMPTY",
    "PERSISTED",
    "BAD_OPERATION_NAME",
    "NO_QUERY",
]

EMPTY = "Invalid request, request cannot be empty"
PERSISTED = "Invalid request, we do not support standard persistent queries"
BAD_OPERATION_NAME = "Invalid request, validation of operationName failed"
NO_QUERY = "Query parameter is missing"
PERSISTED_KEYS = ("queryId", "id", "documentid")
# graphql-php's request-parameter messages (client-safe, category "request").
NEEDS_QUERY = (
    'GraphQL Request must include at least one of those two parameters: "query" or "queryId"'
)
EXCLUSIVE = 'GraphQL Request parameters "query" and "queryId" are mutually exclusive'
NOT_A_STRING = 'GraphQL Request parameter "{}" must be string, but got {}'
NOT_AN_OBJECT = (
    'GraphQL Request parameter "variables" must be object or JSON string parsed to object, '
    "but got {}"
)
# What Totara answers when graphql-php goes looking for a stored operation it does not have.
NO_STORED_OPERATION = "Invalid Web API operation name"
# PHP's json_decode reads at most 512 arrays and objects one inside the other.
PHP_JSON_DEPTH = 512
# Any GraphQL name is accepted (Totara 17 allowed only lower-case snake case).
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class BodyNotJson(RequestError):
    """A non-empty body that does not decode as JSON (Totara's "cannot be empty" text)."""

    def __init__(self) -> None:
        super().__init__(EMPTY)


class Operation(NamedTuple):
    """One operation to run. ``errors`` holds graphql-php's parameter errors; an operation
    with errors is answered with them and never parsed or run."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    errors: tuple[str, ...] = ()


def decode_body(body: bytes) -> Any:
    """The JSON document. An empty body is Totara's empty request; anything else that does
    not decode as PHP's ``json_decode`` would (more than 512 arrays and objects one inside
    the other included) raises :class:`BodyNotJson`, whatever its Content-Type."""
    if not body:
        raise RequestError(EMPTY)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BodyNotJson() from None
    if body.count(b"[") + body.count(b"{") > PHP_JSON_DEPTH and _nested_deeper(payload):
        raise BodyNotJson()
    return payload


# The GraphQL-over-HTTP GET parameters; ``variables`` and ``extensions`` stay JSON text,
# which the body rules decode as they decode Totara's string variables.
GET_PARAMETERS = ("query", "operationName", "variables", "extensions")


def get_request_body(query_string: bytes) -> bytes:
    """The JSON body equivalent to a GET request's URL parameters (the first of each; others
    are ignored). A query string that is not UTF-8 is returned as it is, which then fails to
    decode as JSON like any other unreadable body."""
    try:
        pairs = parse_qsl(query_string.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return query_string
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in GET_PARAMETERS and key not in params:
            params[key] = value
    return orjson.dumps(params)


def has_nul(body: bytes) -> bool:
    """Whether a JSON body may hold a NUL character: JSON can only write one as an escape."""
    return b"\\u0000" in body


def parse_operations(
    payload: Any, max_batch: int, strip_nul: bool = False
) -> tuple[list[Operation], bool]:
    """Operations in order and whether the answer is a batch (a JSON array). Totara's checks
    run on every element before anything runs; one failure fails the whole request.

    With ``strip_nul`` (see :func:`has_nul`), NUL characters are then removed from every
    string of each operation, names and variables included, as Totara's ``fix_utf8`` does
    before graphql-php reads the operation (only its operation name check comes first). No
    NUL reaches a resolver or the database, which PostgreSQL would refuse.
    """
    if php_empty(payload):
        raise RequestError(EMPTY)
    items, batch = _elements(payload)
    if batch and len(items) > max_batch:
        raise RequestError(
            f"Invalid request, a batch may hold at most {max_batch} operations "
            f"but this one holds {len(items)}"
        )
    for item in items:
        _totara_check(item if isinstance(item, dict) else {})
    if strip_nul:
        items = [without_nul(item) for item in items]
    return [_operation(item, strip_nul) for item in items], batch


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters removed from every string and object key in it."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def _nested_deeper(payload: Any, limit: int = PHP_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (the outermost is level 1)."""
    pending: list[tuple[Any, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _elements(payload: Any) -> tuple[list[Any], bool]:
    """An object with an exact ``query`` or ``operationName`` key is one operation; any other
    object is a batch of its values, and an array a batch of its elements."""
    if isinstance(payload, dict):
        if "query" in payload or "operationName" in payload:
            return [payload], False
        return list(payload.values()), True
    if isinstance(payload, list):
        return payload, True
    # A bare string or number: PHP fails on it with an engine error; extapi gives its own text.
    raise RequestError(EMPTY)


def _totara_check(item: dict[str, Any]) -> None:
    if not (
        php_empty(item.get("queryId"))
        and php_empty(item.get("id"))
        and php_empty(item.get("documentid"))
    ):
        raise RequestError(PERSISTED)
    if php_empty(item.get("query")):
        raise RequestError(NO_QUERY)
    name = item.get("operationName")
    if not php_empty(name) and not (isinstance(name, str) and _NAME.fullmatch(name)):
        raise RequestError(BAD_OPERATION_NAME)


def _operation(item: dict[str, Any], strip_nul: bool = False) -> Operation:
    """graphql-php's reading of one operation: keys folded to lower case (a later key wins),
    ``variables`` decoded when it is a JSON string, then every parameter error collected."""
    params = {_fold(key): value for key, value in item.items()}
    query = params.get("query")
    name = params.get("operationname")
    sent_variables = params.get("variables")
    variables = _decoded(None if sent_variables == "" else sent_variables)
    if strip_nul and variables is not sent_variables:
        variables = without_nul(variables)
    query_id = _query_id(params, query)
    if (
        type(query) is str
        and query
        and query_id is None
        and (name is None or type(name) is str)
        and (variables is None or (type(variables) is dict and variables.get("0") is None))
    ):
        return Operation(query, variables or None, name)  # the usual, well-formed operation
    errors = _parameter_errors(query, query_id, name)
    if variables is not None and (
        not isinstance(variables, dict | list) or php_index(variables, 0) is not None
    ):
        errors.append(NOT_AN_OBJECT.format(print_safe_json(sent_variables)))
    operation_name = name if isinstance(name, str) else None
    if errors:
        return Operation("", None, operation_name, tuple(errors))
    if not php_empty(query_id) or not isinstance(query, str):
        # Only a stored operation can be left: graphql-php asks Totara for it, which has none.
        raise CodingError(NO_STORED_OPERATION)
    return Operation(query, _variable_map(variables), operation_name)


def _fold(key: str) -> str:
    """PHP's lower-casing of array keys, which touches only ASCII letters."""
    return key.lower() if key.isascii() else key.translate(_ASCII_LOWER)


def _query_id(params: dict[str, Any], query: Any) -> Any:
    """The first of ``queryid``, ``documentid`` and ``id`` that is not null."""
    if not ("queryid" in params or "documentid" in params or "id" in params) and (
        "extensions" not in params
    ):
        return None
    keys = ("queryid", "documentid", "id")
    found = next((params[k] for k in keys if params.get(k) is not None), None)
    if query in (None, "") and found in (None, ""):
        # Apollo's automatic persisted queries name the stored document in the extensions.
        extensions = _decoded(params.get("extensions"))
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if isinstance(persisted, dict) and persisted.get("sha256Hash") is not None:
            return persisted["sha256Hash"]
    return found


def _parameter_errors(query: Any, query_id: Any, name: Any) -> list[str]:
    errors: list[str] = []
    if php_empty(query) and php_empty(query_id):
        errors.append(NEEDS_QUERY)
    if not php_empty(query) and not php_empty(query_id):
        errors.append(EXCLUSIVE)
    for label, value in (("query", query), ("queryId", query_id), ("operation", name)):
        if value is not None and not isinstance(value, str):
            errors.append(NOT_A_STRING.format(label, print_safe_json(value)))
    return errors


def _decoded(value: Any) -> Any:
    """A string parameter holding JSON is replaced by what it decodes to; one that does not
    decode (as PHP's ``json_decode`` would not) stays a string."""
    if not isinstance(value, str):
        return value
    try:
        decoded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value
    if (value.count("[") + value.count("{") > PHP_JSON_DEPTH) and _nested_deeper(decoded):
        return value
    return decoded


def _variable_map(variables: dict[str, Any] | list[Any] | None) -> dict[str, Any] | None:
    """Variables by name. A list gets here only when empty or when PHP sees no first element
    (``[null, ...]``); its positions are names no operation can declare."""
    if isinstance(variables, list):
        return {str(index): value for index, value in enumerate(variables)} or None
    return variables or None
