"""The documentation model: what the page shows, built from a schema by :mod:`.reference`.

Plain frozen data, so one model serves every request for the life of its schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from extapi.apidocs.examples import Example

__all__ = [
    "Kind",
    "KIND_HEADINGS",
    "TypeRef",
    "InputValue",
    "Field",
    "EnumValue",
    "TypeDoc",
    "Operation",
    "Reference",
]

Kind = Literal["object", "interface", "union", "input", "enum", "scalar"]
# The order of the groups on the page, and their headings.
KIND_HEADINGS: dict[Kind, str] = {
    "object": "Object types",
    "interface": "Interfaces",
    "union": "Unions",
    "input": "Input types",
    "enum": "Enums",
    "scalar": "Scalars",
}
KIND_LABELS: dict[Kind, str] = {
    "object": "Object type",
    "interface": "Interface",
    "union": "Union",
    "input": "Input type",
    "enum": "Enum",
    "scalar": "Scalar",
}


@dataclass(frozen=True)
class TypeRef:
    """A type as written in SDL, split around its named type so the name can be a link:
    ``[core_user!]!`` is prefix ``[``, name ``core_user``, suffix ``!]!``."""

    prefix: str
    name: str
    suffix: str
    anchor: str | None  # None when the named type has no section on the page

    @property
    def text(self) -> str:
        return f"{self.prefix}{self.name}{self.suffix}"

    @property
    def non_null(self) -> bool:
        return self.suffix.endswith("!")


@dataclass(frozen=True)
class InputValue:
    """An argument of a field, or a field of an input type."""

    name: str
    type: TypeRef
    description: str
    default: str | None  # the default as a GraphQL literal, or None when there is none
    deprecation: str | None = None

    @property
    def required(self) -> bool:
        return self.type.non_null and self.default is None


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeRef
    description: str
    args: tuple[InputValue, ...] = ()
    deprecation: str | None = None


@dataclass(frozen=True)
class EnumValue:
    name: str
    description: str
    deprecation: str | None = None


@dataclass(frozen=True)
class TypeDoc:
    name: str
    kind: Kind
    description: str
    fields: tuple[Field, ...] = ()
    input_fields: tuple[InputValue, ...] = ()
    values: tuple[EnumValue, ...] = ()
    interfaces: tuple[str, ...] = ()  # the interfaces an object or interface implements
    members: tuple[str, ...] = ()  # a union's members, or an interface's implementations

    @property
    def anchor(self) -> str:
        return f"type-{self.name}"

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class Operation:
    kind: Literal["query", "mutation"]
    field: Field
    example: Example

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def anchor(self) -> str:
        return f"{self.kind}-{self.field.name}"


@dataclass(frozen=True)
class Reference:
    queries: tuple[Operation, ...]
    mutations: tuple[Operation, ...]
    types: tuple[TypeDoc, ...]
    links: dict[str, str] = field(default_factory=dict)  # name -> anchor, for descriptions

    def groups(self) -> list[tuple[Kind, str, list[TypeDoc]]]:
        """The types by kind, in page order; kinds the schema does not use are left out."""
        found = [
            (kind, heading, [t for t in self.types if t.kind == kind])
            for kind, heading in KIND_HEADINGS.items()
        ]
        return [group for group in found if group[2]]

    def type_named(self, name: str) -> TypeDoc | None:
        return next((t for t in self.types if t.name == name), None)
