"""The standard validation rules' messages in graphql-php's words, rewritten from the facts
in graphql-core's text (names, types), with "Did you mean" suggestions recomputed by
graphql-php's algorithm."""

from __future__ import annotations

import re
from collections.abc import Callable

from graphql import (
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    is_abstract_type,
)

from extapi.graphql.phpvalues import quoted_or_list, suggestion_list

__all__ = ["validation_message"]


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
