"""An example request and response for each operation, generated from the schema.

The document declares a variable for each argument it passes: every required argument, plus
optional input objects (they are how lists are paged and filtered). Input objects get their
required fields (with those the server requires beyond the schema, such as a new user's
password), or one telling field when none is required. The selection takes the return
type's scalar fields a couple of records deep, leaving out hidden fields and fields whose
arguments are required.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
)
from graphql.pyutils import Undefined

from extapi.apidocs.hidden import Hidden
from extapi.apidocs.samples import sample_input_scalar, sample_output_scalar

__all__ = ["Example", "build_example"]

LEVELS = 2  # how many records deep a selection goes (result wrappers do not count)
MAX_LEAVES = 8  # scalar fields selected per type
MAX_BRANCHES = 2  # nested objects selected per type
KEY_FIELDS = ("id", "idnumber", "username", "fullname", "email", "found", "total", "next_cursor")
# When an input object has no required field, the first of these it has is filled in.
PREFERRED_INPUTS = ("pagination", "fullname", "firstname", "idnumber", "username", "limit")
SKIPPED_INPUTS = ("cursor",)
# Fields the server needs although the schema leaves them optional (Totara's own checks):
# a new user needs a password unless one is generated.
SERVER_REQUIRED: dict[str, tuple[str, ...]] = {"core_user_create_user_input": ("password",)}
MAX_INPUT_DEPTH = 4


@dataclass(frozen=True)
class Example:
    document: str
    variables: dict[str, Any]
    response: dict[str, Any]

    @property
    def variables_json(self) -> str:
        return json.dumps(self.variables, indent=2)

    @property
    def response_json(self) -> str:
        return json.dumps(self.response, indent=2)


@dataclass(frozen=True)
class _Pick:
    name: str
    type: GraphQLOutputType
    children: tuple[_Pick, ...] = ()


def build_example(
    schema: GraphQLSchema, kind: Literal["query", "mutation"], name: str, hidden: Hidden
) -> Example:
    root = schema.query_type if kind == "query" else schema.mutation_type
    assert root is not None
    field = root.fields[name]
    variables = {
        arg_name: sample_input(arg.type, arg_name, name)
        for arg_name, arg in field.args.items()
        if _passed(arg)
    }
    picks = _picks(field.type, LEVELS, hidden)
    document = _document(kind, name, field.args, variables, picks)
    response = {"data": {name: _sample_output(field.type, picks, name, name)}}
    return Example(document, variables, response)


def _passed(arg: GraphQLArgument) -> bool:
    named = get_named_type(arg.type)
    return _required(arg.type, arg.default_value) or isinstance(named, GraphQLInputObjectType)


def _required(type_: GraphQLInputType, default: Any) -> bool:
    return isinstance(type_, GraphQLNonNull) and default is Undefined


# --- variables --------------------------------------------------------------------------------
def sample_input(type_: GraphQLInputType, name: str, owner: str, depth: int = 0) -> Any:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return [sample_input(type_.of_type, name, owner, depth)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return _sample_object(type_, depth)
    return sample_input_scalar(get_named_type(type_).name, name, owner)


def _sample_object(type_: GraphQLInputObjectType, depth: int) -> dict[str, Any]:
    chosen = [
        n
        for n, f in type_.fields.items()
        if _required(f.type, f.default_value) or n in SERVER_REQUIRED.get(type_.name, ())
    ]
    if not chosen and depth < MAX_INPUT_DEPTH:
        optional = _optional_pick(type_)
        chosen = [optional] if optional else []
    fields = type_.fields
    return {n: sample_input(fields[n].type, n, type_.name, depth + 1) for n in chosen}


def _optional_pick(type_: GraphQLInputObjectType) -> str | None:
    fields = type_.fields
    preferred = [n for n in PREFERRED_INPUTS if n in fields]
    leaves = [
        n
        for n, f in fields.items()
        if is_leaf_type(get_named_type(f.type)) and n not in SKIPPED_INPUTS
    ]
    objects = [
        n for n, f in fields.items() if isinstance(get_named_type(f.type), GraphQLInputObjectType)
    ]
    return next(iter(preferred + leaves + objects), None)


# --- selection --------------------------------------------------------------------------------
def _picks(type_: GraphQLOutputType, levels: int, hidden: Hidden) -> tuple[_Pick, ...]:
    named = get_named_type(type_)
    if isinstance(named, GraphQLUnionType):
        return (_Pick("__typename", GraphQLNonNull(GraphQLString)),)
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return ()
    usable = _usable(named, hidden)
    leaves = _leaves(usable)
    left = levels - 1 if "id" in named.fields else levels
    branches: list[_Pick] = []
    for n, f in usable.items():
        if left <= 0 or len(branches) >= MAX_BRANCHES or n in leaves:
            continue
        children = _picks(f.type, left, hidden)
        if children:
            branches.append(_Pick(n, f.type, children))
    by_name = {b.name: b for b in branches}
    return tuple(
        by_name.get(n) or _Pick(n, f.type) for n, f in usable.items() if n in leaves or n in by_name
    )


def _usable(
    named: GraphQLObjectType | GraphQLInterfaceType, hidden: Hidden
) -> dict[str, GraphQLField]:
    """The fields an example may select: not hidden, and no argument required."""
    return {
        n: f
        for n, f in named.fields.items()
        if not hidden.hides_field(named.name, n, get_named_type(f.type).name)
        and not any(_required(a.type, a.default_value) for a in f.args.values())
    }


def _leaves(fields: dict[str, GraphQLField]) -> set[str]:
    """The scalar fields to select: key fields first, then the others in schema order."""
    names = [n for n, f in fields.items() if is_leaf_type(get_named_type(f.type))]
    ranked = sorted(names, key=lambda n: n not in KEY_FIELDS)  # stable: keeps schema order
    return set(ranked[:MAX_LEAVES])


# --- rendering --------------------------------------------------------------------------------
def _document(
    kind: str,
    name: str,
    args: dict[str, GraphQLArgument],
    variables: dict[str, Any],
    picks: tuple[_Pick, ...],
) -> str:
    declared = ", ".join(f"${n}: {args[n].type}" for n in variables)
    passed = ", ".join(f"{n}: ${n}" for n in variables)
    head = f"{kind} {name}" + (f"({declared})" if declared else "")
    call = name + (f"({passed})" if passed else "")
    if not picks:
        return f"{head} {{\n  {call}\n}}\n"
    lines = [f"{head} {{", f"  {call} {{", *_lines(picks, 2), "  }", "}"]
    return "\n".join(lines) + "\n"


def _lines(picks: tuple[_Pick, ...], depth: int) -> list[str]:
    pad = "  " * depth
    lines: list[str] = []
    for pick in picks:
        if pick.children:
            lines += [f"{pad}{pick.name} {{", *_lines(pick.children, depth + 1), f"{pad}}}"]
        else:
            lines.append(pad + pick.name)
    return lines


def _sample_output(
    type_: GraphQLOutputType, picks: tuple[_Pick, ...], name: str, owner: str
) -> Any:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return [_sample_output(type_.of_type, picks, name, owner)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLUnionType):
        return {"__typename": type_.types[0].name if type_.types else type_.name}
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        return {p.name: _sample_output(p.type, p.children, p.name, type_.name) for p in picks}
    return sample_output_scalar(get_named_type(type_).name, name, owner)
