"""Variable values coerced the way graphql-php 14 coerces them (``Values::getVariableValues``
and ``Value::coerceValue``), with its messages.

PHP semantics carry through: a JSON object and a JSON list are both PHP arrays, so either is
accepted where an input object or a list is expected; a single value is a list of one.
Each problem is its own error at the variable definition. When one of Totara's scalars
(``core_id``, ``core_date``, ``param_*``) refuses a value the error is internal, as in Totara,
where the scalar's ``invalid_parameter_exception`` makes it so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableDefinitionNode,
    is_input_type,
    print_ast,
    type_from_ast,
    value_from_ast,
)
from graphql.pyutils import Undefined

from extapi.errors import ExtapiError, ValidationError
from extapi.graphql.messages import (
    BOOLEAN_VALUE,
    DID_YOU_MEAN_VALUE,
    EXPECTED_TYPE,
    FIELD_NOT_DEFINED,
    FIELD_NOT_PROVIDED,
    FLOAT_VALUE,
    ID_VALUE,
    INT_RANGE,
    INT_VALUE,
    INVALID_VARIABLE,
    NON_NULL_VARIABLE,
    NOT_AN_OBJECT,
    NOT_INPUT_TYPE,
    NOT_NULL,
    REQUIRED_VARIABLE,
    STRING_VALUE,
)
from extapi.graphql.phpvalues import or_list, print_safe, print_safe_json, suggestion_list
from extapi.graphql.scalars import TOTARA_SCALARS

__all__ = ["coerce_variables", "MAX_VARIABLE_NESTING"]

MAX_INT, MIN_INT = 2**31 - 1, -(2**31)
# Lists and objects nested in one variable value: deeper than any input type of the schema.
MAX_VARIABLE_NESTING = 64
TOO_DEEP = (
    'Variable "${name}" got invalid value: it nests lists and objects more than '
    f"{MAX_VARIABLE_NESTING} levels deep."
)
_PHP_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class _Problem:
    message: str
    internal: bool = False


def coerce_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: dict[str, Any]
) -> tuple[dict[str, Any], list[GraphQLError]]:
    """The operation's variable values, or the errors that refuse them."""
    values: dict[str, Any] = {}
    errors: list[GraphQLError] = []
    for definition in operation.variable_definitions:
        name = definition.variable.name.value
        found = type_from_ast(schema, definition.type)
        if found is None or not is_input_type(found):
            text = NOT_INPUT_TYPE.format(name=name, type=print_ast(definition.type))
            errors.append(GraphQLError(text, definition.type))
            continue
        type_ = cast(GraphQLInputType, found)
        if name not in inputs and definition.default_value is not None:
            values[name] = value_from_ast(definition.default_value, type_)
        elif inputs.get(name) is None and isinstance(type_, GraphQLNonNull):
            template = NON_NULL_VARIABLE if name in inputs else REQUIRED_VARIABLE
            errors.append(GraphQLError(template.format(name=name, type=type_), definition))
        elif name in inputs and _nests_deeper(inputs[name], MAX_VARIABLE_NESTING):
            # Coercing and printing such a value would recurse once per level; no input type
            # of the schema nests this deep, so the value could only be refused anyway.
            errors.append(GraphQLError(TOO_DEEP.format(name=name), definition))
        elif name in inputs:
            _coerce_one(name, inputs[name], type_, definition, values, errors)
    return values, errors


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` levels in ``value``."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if not isinstance(current, dict | list):
            continue
        if depth > limit:
            return True
        children = current.values() if isinstance(current, dict) else current
        pending.extend((child, depth + 1) for child in children)
    return False


def _coerce_one(
    name: str,
    value: Any,
    type_: GraphQLInputType,
    definition: VariableDefinitionNode,
    values: dict[str, Any],
    errors: list[GraphQLError],
) -> None:
    problems: list[_Problem] = []
    coerced = _coerce(value, type_, (), problems)
    if not problems:
        values[name] = coerced
        return
    prelude = INVALID_VARIABLE.format(name=name, value=print_safe_json(value), detail="")
    for problem in problems:
        text = prelude + problem.message
        original = ValidationError(text) if problem.internal else None
        errors.append(GraphQLError(text, definition, original_error=original))


def _problem(
    problems: list[_Problem],
    text: str,
    path: Path | None,
    detail: str | None = None,
    internal: bool = False,
) -> Any:
    at = f" at {_print_path(path)}" if path else ""
    problems.append(_Problem(text + at + (f"; {detail}" if detail else "."), internal))
    return Undefined


def _did_you_mean(suggestions: list[str]) -> str | None:
    return DID_YOU_MEAN_VALUE.format(options=or_list(suggestions)) if suggestions else None


def _print_path(path: Path) -> str:
    return "value" + "".join(f".{key}" if isinstance(key, str) else f"[{key}]" for key in path)


def _php_key(key: str | int) -> str | int:
    """PHP turns a decimal integer key of a decoded JSON object into an integer."""
    return int(key) if isinstance(key, str) and _PHP_INT_KEY.match(key) else key


def _items(value: dict[str, Any] | list[Any]) -> list[tuple[str | int, Any]]:
    if isinstance(value, dict):
        return [(_php_key(key), item) for key, item in value.items()]
    return list(enumerate(value))


def _coerce(value: Any, type_: GraphQLInputType, path: Path, problems: list[_Problem]) -> Any:
    if isinstance(type_, GraphQLNonNull):
        if value is None:
            return _problem(problems, NOT_NULL.format(type=type_), path)
        return _coerce(value, type_.of_type, path, problems)
    if value is None:
        return None
    if isinstance(type_, GraphQLScalarType):
        return _coerce_scalar(value, type_, path, problems)
    if isinstance(type_, GraphQLEnumType):
        if isinstance(value, str) and value in type_.values:
            return type_.values[value].value
        suggestions = suggestion_list(print_safe(value), list(type_.values))
        return _problem(
            problems, EXPECTED_TYPE.format(type=type_.name), path, _did_you_mean(suggestions)
        )
    if isinstance(type_, GraphQLList):
        if isinstance(value, dict | list):
            before = len(problems)
            items = [
                _coerce(item, type_.of_type, (*path, key), problems) for key, item in _items(value)
            ]
            return items if len(problems) == before else Undefined
        # A single value is a list of one; graphql-php reports its problems without a path.
        item = _coerce(value, type_.of_type, (), problems)
        return Undefined if item is Undefined else [item]
    assert isinstance(type_, GraphQLInputObjectType)
    return _coerce_object(value, type_, path, problems)


def _coerce_object(
    value: Any, type_: GraphQLInputObjectType, path: Path, problems: list[_Problem]
) -> Any:
    if not isinstance(value, dict | list):
        return _problem(problems, NOT_AN_OBJECT.format(type=type_.name), path)
    given = dict(_items(value))
    before = len(problems)
    coerced: dict[str, Any] = {}
    for name, field in type_.fields.items():
        if name in given:
            coerced[field.out_name or name] = _coerce(
                given[name], field.type, (*path, name), problems
            )
        elif field.default_value is not Undefined:
            coerced[field.out_name or name] = field.default_value
        elif isinstance(field.type, GraphQLNonNull):
            where = _print_path((*path, name))
            _problem(problems, FIELD_NOT_PROVIDED.format(path=where, type=field.type), None)
    for key in given:
        if key not in type_.fields:
            suggestions = suggestion_list(str(key), list(type_.fields))
            text = FIELD_NOT_DEFINED.format(name=key, type=type_.name)
            _problem(problems, text, path, _did_you_mean(suggestions))
    return type_.out_type(coerced) if len(problems) == before else Undefined


def _coerce_scalar(
    value: Any, type_: GraphQLScalarType, path: Path, problems: list[_Problem]
) -> Any:
    builtin = _BUILTIN.get(type_.name)
    try:
        if builtin is not None:
            return builtin(value)
        parsed = type_.parse_value(value)
    except (ExtapiError, GraphQLError, ValueError, TypeError) as error:
        reason = error.message if isinstance(error, ExtapiError | GraphQLError) else str(error)
        internal = type_.name in TOTARA_SCALARS
        text = EXPECTED_TYPE.format(type=type_.name)
        return _problem(problems, text, path, reason, internal)
    return parsed


def _parse_string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(STRING_VALUE.format(value=print_safe(value)))
    return value


def _parse_int(value: Any) -> int:
    whole = not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    )
    if not whole:
        raise ValueError(INT_VALUE.format(value=print_safe(value)))
    if not MIN_INT <= value <= MAX_INT:
        raise ValueError(INT_RANGE.format(value=print_safe(value)))
    return int(value)


def _parse_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(FLOAT_VALUE.format(value=print_safe(value)))
    return float(value)


def _parse_boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(BOOLEAN_VALUE.format(value=print_safe(value)))
    return value


def _parse_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(ID_VALUE.format(value=print_safe(value)))
    return str(value)


_BUILTIN = {
    "String": _parse_string,
    "Int": _parse_int,
    "Float": _parse_float,
    "Boolean": _parse_boolean,
    "ID": _parse_id,
}
