"""Value literals of the correct type, checked the way graphql-php 14 checks them.

This replaces graphql-core's ``ValuesOfCorrectTypeRule``: the facts its messages need (the
argument and field a literal belongs to, graphql-php's printing of the literal) are only at
hand while the document is visited.

A literal that one of Totara's own scalars (``core_id``, ``core_date``, ``param_*``) refuses
is reported once per argument, as Totara reports it when it resolves the field:
``Argument "input" has invalid value {username: "AbC"}.``
"""

from __future__ import annotations

from typing import Any

from graphql import (
    SKIP,
    ArgumentNode,
    BooleanValueNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLScalarType,
    IntValueNode,
    ListValueNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    ValidationRule,
    ValueNode,
    VisitorAction,
    get_named_type,
    get_nullable_type,
    is_list_type,
    is_non_null_type,
    is_required_input_field,
)
from graphql.pyutils import Undefined

from extapi.graphql.messages import (
    BAD_ARGUMENT,
    DID_YOU_MEAN,
    DID_YOU_MEAN_ENUM,
    LITERAL_BAD_ARGUMENT,
    LITERAL_BAD_VALUE,
    LITERAL_FIELD_MISSING,
    LITERAL_FIELD_UNKNOWN,
)
from extapi.graphql.phpvalues import or_list, print_value, suggestion_list
from extapi.graphql.scalars import TOTARA_SCALARS

__all__ = ["PhpValuesOfCorrectType"]


class PhpValuesOfCorrectType(ValidationRule):
    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.field_name = ""
        self.argument: ArgumentNode | None = None
        self.refused: set[int] = set()

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        self.field_name = node.name.value

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self.argument = node

    def leave_argument(self, _node: ArgumentNode, *_args: Any) -> None:
        self.argument = None

    def enter_null_value(self, node: NullValueNode, *_args: Any) -> None:
        type_ = self.context.get_input_type()
        if is_non_null_type(type_):
            self._bad(str(type_), node, None)

    def enter_list_value(self, node: ListValueNode, *_args: Any) -> VisitorAction:
        if not is_list_type(get_nullable_type(self.context.get_parent_input_type())):  # type: ignore[arg-type]
            self._check_scalar(node)
            return SKIP
        return None

    def enter_object_value(self, node: ObjectValueNode, *_args: Any) -> VisitorAction:
        type_ = get_named_type(self.context.get_input_type())
        if not isinstance(type_, GraphQLInputObjectType):
            self._check_scalar(node)
            return SKIP
        given = {field.name.value for field in node.fields}
        for name, field in type_.fields.items():
            if name not in given and is_required_input_field(field):
                text = LITERAL_FIELD_MISSING.format(
                    type=type_.name, name=name, field_type=field.type
                )
                self._report(text, node)
        return None

    def enter_object_field(self, node: ObjectFieldNode, *_args: Any) -> None:
        parent = get_named_type(self.context.get_parent_input_type())
        if self.context.get_input_type() is None and isinstance(parent, GraphQLInputObjectType):
            name = node.name.value
            suggestions = suggestion_list(name, list(parent.fields))
            text = LITERAL_FIELD_UNKNOWN.format(name=name, type=parent.name)
            tail = "; " + DID_YOU_MEAN.format(options=or_list(suggestions)) if suggestions else "."
            self._report(text + tail, node)

    def enter_enum_value(self, node: EnumValueNode, *_args: Any) -> None:
        type_ = get_named_type(self.context.get_input_type())
        if not isinstance(type_, GraphQLEnumType):
            self._check_scalar(node)
        elif node.value not in type_.values:
            self._bad(type_.name, node, _enum_suggestion(type_, node))

    def enter_int_value(self, node: IntValueNode, *_args: Any) -> None:
        self._check_scalar(node)

    def enter_float_value(self, node: FloatValueNode, *_args: Any) -> None:
        self._check_scalar(node)

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        self._check_scalar(node)

    def enter_boolean_value(self, node: BooleanValueNode, *_args: Any) -> None:
        self._check_scalar(node)

    def _check_scalar(self, node: ValueNode) -> None:
        location_type = self.context.get_input_type()
        if location_type is None:
            return
        type_ = get_named_type(location_type)
        if not isinstance(type_, GraphQLScalarType):
            self._bad(str(location_type), node, _enum_suggestion(type_, node))
            return
        try:
            accepted = type_.parse_literal(node) is not Undefined
        except Exception:
            accepted = False
        if accepted:
            return
        if type_.name in TOTARA_SCALARS and self.argument is not None:
            self._refuse_argument(self.argument)
        else:
            self._bad(str(location_type), node, None)

    def _refuse_argument(self, argument: ArgumentNode) -> None:
        if id(argument) in self.refused:
            return
        self.refused.add(id(argument))
        text = BAD_ARGUMENT.format(name=argument.name.value, value=print_value(argument.value))
        self._report(text, argument.value)

    def _bad(self, type_name: str, node: ValueNode, detail: str | None) -> None:
        value = print_value(node)
        if self.argument is not None:
            argument = self.argument.name.value
            text = LITERAL_BAD_ARGUMENT.format(
                field=self.field_name, argument=argument, type=type_name, value=value
            )
        else:
            text = LITERAL_BAD_VALUE.format(type=type_name, value=value)
        self._report(text + (f"; {detail}" if detail else "."), node)

    def _report(self, text: str, node: ValueNode | ObjectFieldNode) -> None:
        self.report_error(GraphQLError(text, node))


def _enum_suggestion(type_: Any, node: ValueNode) -> str | None:
    if not isinstance(type_, GraphQLEnumType):
        return None
    suggestions = suggestion_list(print_value(node), list(type_.values))
    return DID_YOU_MEAN_ENUM.format(options=or_list(suggestions)) if suggestions else None
