"""The metrics' ``operation`` label of a GraphQL request: the root field it selects.

Operation names are chosen by clients, so they would give Prometheus an unbounded number of
series; root fields come from the schema. A request selecting one root field (in every
operation of a batch) is labelled with it; several give ``multiple``; a request that did not
parse or validate gives ``invalid``.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)

from extapi.ops.note import INVALID, MULTIPLE, NONE, OTHER

__all__ = ["root_field_names", "root_fields", "root_label", "request_label"]

META_FIELDS = ("__typename", "__schema", "__type")


def root_field_names(schema: GraphQLSchema) -> frozenset[str]:
    """Every name a valid operation can select at its root."""
    names = set(META_FIELDS)
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            names.update(root.fields)
    return frozenset(names)


def root_fields(document: DocumentNode, operation_name: str | None) -> frozenset[str] | None:
    """The field names the chosen operation selects at its root, through fragments (aliases
    and directives aside); None when the document holds no such operation."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: set[str] = set()
    seen: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return frozenset(names)


def root_label(
    document: DocumentNode | None, operation_name: str | None, known: frozenset[str]
) -> str:
    """One operation's label."""
    fields = None if document is None else root_fields(document, operation_name)
    if not fields:
        return INVALID
    if len(fields) > 1:
        return MULTIPLE
    (field,) = fields
    return field if field in known else OTHER


def request_label(labels: Sequence[str]) -> str:
    """A request's label from its operations' labels."""
    if not labels:
        return NONE
    first = labels[0]
    return first if all(label == first for label in labels) else MULTIPLE
