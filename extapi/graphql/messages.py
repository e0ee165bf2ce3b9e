"""graphql-php 14.11 wording for every message graphql-core can put in front of a client.

Totara 17.3 answers in graphql-php's words; extapi runs graphql-core. This module is the one
place between the two:

* syntax: a parser that describes tokens the graphql-php way (``Unexpected Name "x"``, no
  trailing period) and lexer messages rewritten from the character at the error position;
* validation: each standard rule reports through :func:`php_worded`, which rewrites the
  message from the error's facts (names, types) and recomputes "Did you mean" suggestions
  with graphql-php's algorithm;
* execution: operation selection, variable coercion and root-type texts as templates, and
  :func:`executor_reason` for the failures graphql-core's executor raises itself (all
  internal in Totara: they are server faults, not client mistakes).

Patterns read graphql-core 3.2's own texts; a graphql-core upgrade that changes one makes
``tests/graphql/test_messages.py`` fail on that row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    Source,
    ValueNode,
    is_abstract_type,
)
from graphql.language import Token, TokenKind
from graphql.language.lexer import Lexer
from graphql.language.parser import Parser

from extapi.graphql.phpvalues import print_value, quoted_or_list, suggestion_list

__all__ = [
    "PhpParser",
    "parse_document",
    "validation_message",
    "executor_reason",
    "argument_message",
    "NO_OPERATION_TYPE",
    "UNKNOWN_OPERATION",
    "MULTIPLE_OPERATIONS",
    "NO_OPERATION",
    "NO_SUBSCRIPTIONS",
    "NO_MUTATIONS",
    "NO_QUERY_TYPE",
    "REQUIRED_VARIABLE",
    "NON_NULL_VARIABLE",
    "INVALID_VARIABLE",
    "BAD_ARGUMENT",
]

# Operation selection and variables (graphql-php Server\Helper, ReferenceExecutor, Values).
NO_OPERATION_TYPE = "Failed to determine operation type"
UNKNOWN_OPERATION = 'Unknown operation named "{name}".'
MULTIPLE_OPERATIONS = "Must provide operation name if query contains multiple operations."
NO_OPERATION = "Must provide an operation."
NO_SUBSCRIPTIONS = "Schema is not configured for subscriptions."
NO_MUTATIONS = "Schema is not configured for mutations."
NO_QUERY_TYPE = "Schema does not define the required query root type."
REQUIRED_VARIABLE = 'Variable "${name}" of required type "{type}" was not provided.'
NON_NULL_VARIABLE = 'Variable "${name}" of non-null type "{type}" must not be null.'
INVALID_VARIABLE = 'Variable "${name}" got invalid value {value}; {detail}'
BAD_ARGUMENT = 'Argument "{name}" has invalid value {value}.'
NOT_INPUT_TYPE = (
    'Variable "${name}" expected value of type "{type}" which cannot be used as an input type.'
)

# Value coercion (graphql-php Utils\Value::coerceValue and its built-in scalars).
NOT_NULL = "Expected non-nullable type {type} not to be null"
EXPECTED_TYPE = "Expected type {type}"
NOT_AN_OBJECT = "Expected type {type} to be an object"
FIELD_NOT_PROVIDED = "Field {path} of required type {type} was not provided"
FIELD_NOT_DEFINED = 'Field "{name}" is not defined by type {type}'
DID_YOU_MEAN_VALUE = "did you mean {options}?"
STRING_VALUE = "String cannot represent a non string value: {value}"
INT_VALUE = "Int cannot represent non-integer value: {value}"
INT_RANGE = "Int cannot represent non 32-bit signed integer value: {value}"
FLOAT_VALUE = "Float cannot represent non numeric value: {value}"
BOOLEAN_VALUE = "Boolean cannot represent a non boolean value: {value}"
ID_VALUE = "ID cannot represent value: {value}"

# Literals (graphql-php Validator\Rules\ValuesOfCorrectType).
LITERAL_FIELD_MISSING = "Field {type}.{name} of required type {field_type} was not provided."
LITERAL_FIELD_UNKNOWN = 'Field "{name}" is not defined by type {type}'
LITERAL_BAD_ARGUMENT = 'Field "{field}" argument "{argument}" requires type {type}, found {value}'
LITERAL_BAD_VALUE = "Expected type {type}, found {value}"
DID_YOU_MEAN = "Did you mean {options}?"
DID_YOU_MEAN_ENUM = "Did you mean the enum value {options}?"


# --- Syntax -------------------------------------------------------------------------------


def _describe(token: Token) -> str:
    """graphql-php ``Token::getDescription``: the kind, then the value in double quotes."""
    return token.kind.value + ("" if token.value is None else f' "{token.value}"')


def _print_char(char: str) -> str:
    """graphql-php ``Utils::printCharCode``."""
    if not char:
        return "<EOF>"
    code = ord(char)
    if code < 0x7F:
        return json.dumps(char).replace("/", "\\/")
    return f'"\\u{code:x}"'


class _PhpLexer(Lexer):
    """graphql-php reads ``1a`` as the number 1 and the name ``a``; graphql-core refuses a
    number followed by a name start or a dot. Reading the number alone restores the former."""

    def read_number(self, start: int, first_char: str) -> Token:
        body = self.source.body
        position = start + (1 if first_char == "-" else 0)
        char = body[position : position + 1]
        is_float = False
        if char == "0":
            position += 1
            if body[position : position + 1].isdigit():
                raise _lexer_error(
                    self.source, position, "Invalid number, unexpected digit after 0"
                )
        else:
            position = self._digits(position)
        if body[position : position + 1] == ".":
            is_float = True
            position = self._digits(position + 1)
        if body[position : position + 1] in ("E", "e"):
            is_float = True
            position += 1
            if body[position : position + 1] in ("+", "-"):
                position += 1
            position = self._digits(position)
        kind = TokenKind.FLOAT if is_float else TokenKind.INT
        return self.create_token(kind, start, position, body[start:position])

    def read_string(self, start: int) -> Token:
        self._refuse_control_characters(start + 1, block=False)
        return super().read_string(start)

    def read_block_string(self, start: int) -> Token:
        self._refuse_control_characters(start + 3, block=True)
        return super().read_block_string(start)

    def _refuse_control_characters(self, position: int, block: bool) -> None:
        """graphql-php refuses control characters other than tab inside a string (and line
        breaks inside a block string); graphql-core lets them through."""
        body = self.source.body
        allowed = "\t\n\r" if block else "\t"
        while position < len(body):
            char = body[position]
            if char == '"' and (not block or body.startswith('"""', position)):
                return
            if char in "\n\r" and not block:
                return
            if char == "\\":
                position += 2 if not block or not body.startswith('\\"""', position) else 4
                continue
            if char < " " and char not in allowed:
                message = f"Invalid character within String: {_print_char(char)}"
                raise GraphQLSyntaxError(self.source, position, message)
            position += 1

    def _digits(self, position: int) -> int:
        body = self.source.body
        if not "0" <= body[position : position + 1] <= "9":
            raise _lexer_error(self.source, position, "Invalid number, expected digit but got")
        while position < len(body) and "0" <= body[position] <= "9":
            position += 1
        return position


def _lexer_error(source: Source, position: int, text: str) -> GraphQLSyntaxError:
    return GraphQLSyntaxError(
        source, position, f"{text}: {_print_char(source.body[position : position + 1])}"
    )


class PhpParser(Parser):
    """graphql-core's parser with graphql-php's token descriptions and lexer messages."""

    def __init__(self, source: str, max_tokens: int | None = None) -> None:
        super().__init__(source, no_location=False, max_tokens=max_tokens)
        self._lexer = _PhpLexer(self._lexer.source)

    def expect_token(self, kind: TokenKind) -> Token:
        token = self._lexer.token
        if token.kind != kind:
            raise self._error(token, f"Expected {kind.value}, found {_describe(token)}")
        return super().expect_token(kind)

    def expect_keyword(self, value: str) -> None:
        token = self._lexer.token
        if token.kind != TokenKind.NAME or token.value != value:
            raise self._error(token, f'Expected "{value}", found {_describe(token)}')
        super().expect_keyword(value)

    def unexpected(self, at_token: Token | None = None) -> GraphQLError:
        token = at_token or self._lexer.token
        return self._error(token, f"Unexpected {_describe(token)}")

    def _error(self, token: Token, description: str) -> GraphQLSyntaxError:
        return GraphQLSyntaxError(self._lexer.source, token.start, description)


def parse_document(text: str, max_tokens: int | None = None) -> DocumentNode:
    """Parse ``text``; a syntax error carries graphql-php's description."""
    try:
        return PhpParser(text, max_tokens).parse_document()
    except GraphQLSyntaxError as error:
        raise _php_lexer_error(error) from None


def _token_after(source: Source, position: int) -> Token:
    lexer = _PhpLexer(source)
    token = lexer.advance()
    while token.kind != TokenKind.EOF and token.start <= position:
        token = lexer.advance()
    return token


_CONST_VARIABLE = re.compile(r"^Unexpected variable '\$.*' in constant value\.$")
_LEXER_TEXT = re.compile(
    r"^(Unexpected character|Invalid character|Invalid Unicode escape|Unexpected variable"
    r"|Unexpected description)"
)


def _php_lexer_error(error: GraphQLSyntaxError) -> GraphQLSyntaxError:
    """Rewrite a graphql-core lexer message from the source character it points at."""
    description = error.description
    source = error.source
    position = list(error.positions)[0] if error.positions else 0
    if source is None or not _LEXER_TEXT.match(description):
        return error
    char = source.body[position : position + 1]
    text = description
    if description.startswith(("Unexpected character", "Invalid character:")):
        code = ord(char)
        text = (
            f"Cannot contain the invalid character {_print_char(char)}"
            if code < 0x20 and char not in "\t\n\r"
            else f"Cannot parse the unexpected character {_print_char(char)}."
        )
    elif description.startswith("Invalid character within String"):
        text = f"Invalid character within String: {_print_char(char)}"
    elif description.startswith(("Invalid character escape", "Invalid Unicode escape")):
        escape = re.search(r"'(.*)'\.$", description)
        text = "Invalid character escape sequence: " + (escape.group(1) if escape else "")
    elif _CONST_VARIABLE.match(description):
        text = "Unexpected $"
    elif description.startswith("Unexpected description"):
        # graphql-php reads a description as the start of a type definition and then
        # refuses the keyword after it.
        token = _token_after(source, position)
        return GraphQLSyntaxError(source, token.start, f"Unexpected {_describe(token)}")
    return GraphQLSyntaxError(source, position, text)


# --- Validation ---------------------------------------------------------------------------

_Q = "'([^']*)'"  # one quoted name or type in a graphql-core message


def _suffix(suggestions: list[str], lead: str = "Did you mean") -> str:
    return f" {lead} {quoted_or_list(suggestions)}?" if suggestions else ""


def _fields_on_correct_type(match: re.Match[str], schema: GraphQLSchema) -> str:
    field, type_name = match.group(1), match.group(2)
    text = f'Cannot query field "{field}" on type "{type_name}".'
    owner = schema.get_type(type_name)
    types: list[str] = []
    if owner is not None and is_abstract_type(owner):
        counts: dict[str, int] = {}
        for possible in schema.get_possible_types(owner):  # type: ignore[arg-type]
            if field not in possible.fields:
                continue
            types.append(possible.name)
            for interface in possible.interfaces:
                if field in interface.fields:
                    counts[interface.name] = counts.get(interface.name, -1) + 1
        interfaces = sorted(counts, key=lambda name: -counts[name])
        types = interfaces + types
    if types:
        return text + f" Did you mean to use an inline fragment on {quoted_or_list(types)}?"
    if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
        return text + _suffix(suggestion_list(field, list(owner.fields)))
    return text


def _unknown_field_argument(match: re.Match[str], schema: GraphQLSchema) -> str:
    arg, type_name, field = match.group(1), match.group(2), match.group(3)
    text = f'Unknown argument "{arg}" on field "{field}" of type "{type_name}".'
    owner = schema.get_type(type_name)
    if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType) and field in owner.fields:
        text += _suffix(suggestion_list(arg, list(owner.fields[field].args)))
    return text


def _unknown_directive_argument(match: re.Match[str], schema: GraphQLSchema) -> str:
    arg, name = match.group(1), match.group(2)
    text = f'Unknown argument "{arg}" on directive "@{name}".'
    directive = schema.get_directive(name)
    if directive is not None:
        text += _suffix(suggestion_list(arg, list(directive.args)))
    return text


def _unknown_type(match: re.Match[str], schema: GraphQLSchema) -> str:
    name = match.group(1)
    return f'Unknown type "{name}".' + _suffix(suggestion_list(name, list(schema.type_map)))


def _via(names: str | None) -> str:
    return " via " + ", ".join(re.findall(_Q, names)) if names else ""


def _conflict_reason(reason: str) -> str:
    reason = re.sub(
        r"'([^']*)' and '([^']*)' are different fields", r"\1 and \2 are different fields", reason
    )
    reason = re.sub(
        r"they return conflicting types '([^']*)' and '([^']*)'",
        r"they return conflicting types \1 and \2",
        reason,
    )
    return re.sub(
        r"subfields '([^']*)' conflict because ", r'subfields "\1" conflict because ', reason
    )


_Rewrite = Callable[[re.Match[str], GraphQLSchema], str]


def _fixed(template: str) -> _Rewrite:
    return lambda match, _schema: template.format(*match.groups())


_VALIDATION: list[tuple[re.Pattern[str], _Rewrite]] = [
    (re.compile(rf"^Cannot query field {_Q} on type {_Q}\."), _fields_on_correct_type),
    (
        re.compile(rf"^Unknown argument {_Q} on field '([^'.]*)\.([^']*)'\."),
        _unknown_field_argument,
    ),
    (re.compile(rf"^Unknown argument {_Q} on directive '@([^']*)'\."), _unknown_directive_argument),
    (re.compile(rf"^Unknown type {_Q}\."), _unknown_type),
    (
        re.compile(r"^The '(.*)' definition is not executable\.$"),
        _fixed('The "{}" definition is not executable.'),
    ),
    (
        re.compile(r"^The schema definition is not executable\.$"),
        _fixed('The "schema" definition is not executable.'),
    ),
    (
        re.compile(
            rf"^There can be only one (operation|fragment|argument|input field) named {_Q}\.$"
        ),
        _fixed('There can be only one {} named "{}".'),
    ),
    (
        re.compile(r"^There can be only one variable named '\$(.*)'\.$"),
        _fixed('There can be only one variable named "{}".'),
    ),
    (
        re.compile(
            r"^(Anonymous Subscription|Subscription '.*') must "
            r"(?:select only one top level field|not select an introspection top level field)\.$"
        ),
        lambda m, _s: m.group(1).replace("'", '"') + " must select only one top level field.",
    ),
    (
        re.compile(rf"^Fragment cannot condition on non composite type {_Q}\.$"),
        _fixed('Fragment cannot condition on non composite type "{}".'),
    ),
    (
        re.compile(rf"^Fragment {_Q} cannot condition on non composite type {_Q}\.$"),
        _fixed('Fragment "{}" cannot condition on non composite type "{}".'),
    ),
    (
        re.compile(rf"^Variable '\$(.*)' cannot be non-input type {_Q}\.$"),
        _fixed('Variable "${}" cannot be non-input type "{}".'),
    ),
    (
        re.compile(rf"^Field {_Q} must not have a selection since type {_Q} has no subfields\.$"),
        _fixed('Field "{}" of type "{}" must not have a sub selection.'),
    ),
    (
        re.compile(rf"^Field {_Q} of type {_Q} must have a selection of subfields\."),
        _fixed('Field "{}" of type "{}" must have a sub selection.'),
    ),
    (re.compile(rf"^Unknown fragment {_Q}\.$"), _fixed('Unknown fragment "{}".')),
    (re.compile(rf"^Fragment {_Q} is never used\.$"), _fixed('Fragment "{}" is never used.')),
    (
        re.compile(
            rf"^Fragment cannot be spread here as objects of type {_Q} can never be of type {_Q}\.$"
        ),
        _fixed('Fragment cannot be spread here as objects of type "{}" can never be of type "{}".'),
    ),
    (
        re.compile(
            rf"^Fragment {_Q} cannot be spread here as objects of type {_Q} "
            rf"can never be of type {_Q}\.$"
        ),
        _fixed(
            'Fragment "{}" cannot be spread here as objects of type "{}" can never be of type "{}".'
        ),
    ),
    (
        re.compile(rf"^Cannot spread fragment {_Q} within itself(?: via (.*))?\.$"),
        lambda m, _s: f'Cannot spread fragment "{m.group(1)}" within itself{_via(m.group(2))}.',
    ),
    (
        re.compile(rf"^Variable '\$(.*)' is not defined by operation {_Q}\.$"),
        _fixed('Variable "${}" is not defined by operation "{}".'),
    ),
    (re.compile(r"^Variable '\$(.*)' is not defined\.$"), _fixed('Variable "${}" is not defined.')),
    (
        re.compile(rf"^Variable '\$(.*)' is never used in operation {_Q}\.$"),
        _fixed('Variable "${}" is never used in operation "{}".'),
    ),
    (re.compile(r"^Variable '\$(.*)' is never used\.$"), _fixed('Variable "${}" is never used.')),
    (re.compile(r"^Unknown directive '@(.*)'\.$"), _fixed('Unknown directive "{}".')),
    (
        re.compile(r"^Directive '@(.*)' may not be used on (.*)\.$"),
        lambda m, _s: f'Directive "{m.group(1)}" may not be used on "{m.group(2).upper()}".',
    ),
    (
        re.compile(r"^The directive '@(.*)' can only be used once at this location\.$"),
        _fixed('The directive "{}" can only be used once at this location.'),
    ),
    (
        re.compile(
            rf"^Field {_Q} argument {_Q} of type {_Q} is required, but it was not provided\.$"
        ),
        _fixed('Field "{}" argument "{}" of type "{}" is required but not provided.'),
    ),
    (
        re.compile(
            rf"^Directive '@(.*)' argument {_Q} of type {_Q} "
            r"is required, but it was not provided\.$"
        ),
        _fixed('Directive "@{}" argument "{}" of type "{}" is required but not provided.'),
    ),
    (
        re.compile(rf"^Variable '\$(.*)' of type {_Q} used in position expecting type {_Q}\.$"),
        _fixed('Variable "${}" of type "{}" used in position expecting type "{}".'),
    ),
    (
        re.compile(
            rf"^Fields {_Q} conflict because (.*)\. "
            r"Use different aliases on the fields to fetch both if this was intentional\.$",
            re.DOTALL,
        ),
        lambda m, _s: f'Fields "{m.group(1)}" conflict because {_conflict_reason(m.group(2))}. '
        "Use different aliases on the fields to fetch both if this was intentional.",
    ),
]


def validation_message(error: GraphQLError, schema: GraphQLSchema) -> str:
    """graphql-php's text for a standard rule's error (other texts pass unchanged)."""
    for pattern, rewrite in _VALIDATION:
        match = pattern.match(error.message)
        if match:
            return rewrite(match, schema)
    return error.message


# --- Execution ----------------------------------------------------------------------------

_EXECUTOR: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"^Cannot return null for non-nullable field (.*)\.$"),
        lambda m: f'Cannot return null for non-nullable field "{m.group(1)}".',
    ),
    (
        re.compile(r"^Expected Iterable, but did not find one for field '(.*)'\.$"),
        lambda m: f"User Error: expected iterable, but did not find one for field {m.group(1)}.",
    ),
    (
        re.compile(r"^Expected `(.*)\.serialize\((.*)\)` to return non-nullable value"),
        lambda m: f'Expected a value of type "{m.group(1)}" but received: {m.group(2)}',
    ),
    (
        re.compile(r"^Runtime Object type '(.*)' is not a possible type for '(.*)'\.$"),
        lambda m: f'Runtime Object type "{m.group(1)}" is not a possible type for "{m.group(2)}".',
    ),
    (
        re.compile(r"^Expected value of type '(.*)' but got: (.*)\.$"),
        lambda m: f'Expected value of type "{m.group(1)}" but got: {m.group(2)}.',
    ),
]


_ARGUMENTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^Argument '(.*)' of non-null type '(.*)' must not be null\.$"),
        'Argument "{}" of non-null type "{}" must not be null.',
    ),
    (
        re.compile(
            r"^Argument '(.*)' of required type '(.*)' was provided the variable '\$(.*)' "
            r"which was not provided a runtime value\.$"
        ),
        'Argument "{}" of required type "{}" was provided the variable "${}" which was not '
        "provided a runtime value.",
    ),
    (
        re.compile(r"^Argument '(.*)' of required type '(.*)' was not provided\.$"),
        'Argument "{}" of required type "{}" was not provided.',
    ),
]
_INVALID_ARGUMENT = re.compile(r"^Argument '(.*)' has invalid value ")


def argument_message(error: GraphQLError) -> str:
    """graphql-php's text for an argument graphql-core refuses while resolving a field
    (validation normally catches these first); other texts pass unchanged."""
    for pattern, template in _ARGUMENTS:
        match = pattern.match(error.message)
        if match:
            return template.format(*match.groups())
    invalid = _INVALID_ARGUMENT.match(error.message)
    if invalid and error.nodes and isinstance(error.nodes[0], ValueNode):
        return BAD_ARGUMENT.format(name=invalid.group(1), value=print_value(error.nodes[0]))
    return error.message


def executor_reason(error: GraphQLError) -> str | None:
    """graphql-php's text when ``error`` is one graphql-core's executor raised while
    completing a field (a null in a non-null field, a non-list for a list, a value its
    scalar can not serialize); None for anything else."""
    if error.path is None:
        return None
    original: Any = error.original_error
    if original is not None and not isinstance(original, GraphQLError | TypeError):
        return None
    if isinstance(original, GraphQLError) and original.original_error is None and error.nodes:
        # A scalar's serializer refused the value (graphql-core reports the scalar's text).
        scalar = re.match(r"^(String|Int|Float|Boolean|ID) cannot represent", original.message)
        if scalar:
            return (
                f'Expected a value of type "{scalar.group(1)}" but received: '
                + original.message.split(": ", 1)[-1]
            )
    for pattern, rewrite in _EXECUTOR:
        match = pattern.match(error.message)
        if match:
            return rewrite(match)
    return None
