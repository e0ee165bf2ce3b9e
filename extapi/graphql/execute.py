"""Running one checked operation against the schema (synchronously: resolvers are sync).

The steps and their order are Totara's: parse, pick the operation type (graphql-php's
server), validate, pick the operation (graphql-php's executor), coerce the variables, check
the root type, execute. Errors are kept in the order fields ran, never sorted.

The last step runs the document's compiled plan when it has one due (a hot document: see
:mod:`extapi.graphql.compiled`), otherwise graphql-core's executor; both answer the same.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    ExecutionContext,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    MiddlewareManager,
    OperationDefinitionNode,
    OperationType,
    default_field_resolver,
    default_type_resolver,
)

from extapi.errors import ClientSafeError
from extapi.graphql.compiled import plan_for
from extapi.graphql.documents import LABELS_KEPT, CheckedDocument
from extapi.graphql.messages import (
    MULTIPLE_OPERATIONS,
    NO_MUTATIONS,
    NO_OPERATION,
    NO_OPERATION_TYPE,
    NO_QUERY_TYPE,
    NO_SUBSCRIPTIONS,
    UNKNOWN_OPERATION,
)
from extapi.graphql.variables import coerce_variables

__all__ = ["Outcome", "run", "has_operation", "select_operation"]


class Outcome:
    """An execution result plus whether it failed before execution began (a request error
    in GraphQL-over-HTTP terms: parse, validation or variable coercion)."""

    __slots__ = ("result", "request_error", "mutation")

    def __init__(self, result: ExecutionResult, request_error: bool, mutation: bool = False):
        self.result = result
        self.request_error = request_error
        self.mutation = mutation


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def has_operation(document: DocumentNode, operation_name: str | None) -> bool:
    """graphql-php's server: the first operation when the name is empty (None or ""),
    otherwise the one with exactly that name."""
    return any(
        not operation_name or (op.name is not None and op.name.value == operation_name)
        for op in _operations(document)
    )


def select_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | GraphQLError:
    """graphql-php's executor: only None means "no name"; ``""`` is looked up like any name."""
    operations = _operations(document)
    if operation_name is None:
        if len(operations) > 1:
            return GraphQLError(MULTIPLE_OPERATIONS)
        return operations[0] if operations else GraphQLError(NO_OPERATION)
    for operation in operations:
        if operation.name is not None and operation.name.value == operation_name:
            return operation
    return GraphQLError(UNKNOWN_OPERATION.format(name=operation_name))


# The operation kinds, looked up once (an enum member's lookup is not free on every request).
_QUERY = OperationType.QUERY
_MUTATION = OperationType.MUTATION
_SUBSCRIPTION = OperationType.SUBSCRIPTION


def _root_type_error(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> GraphQLError | None:
    kind = operation.operation
    if kind is _QUERY:
        return GraphQLError(NO_QUERY_TYPE, operation) if schema.query_type is None else None
    if kind is _MUTATION and schema.mutation_type is None:
        return GraphQLError(NO_MUTATIONS, operation)
    if kind is _SUBSCRIPTION and schema.subscription_type is None:
        return GraphQLError(NO_SUBSCRIPTIONS, operation)
    return None


def _refused(errors: list[GraphQLError]) -> Outcome:
    return Outcome(ExecutionResult(None, errors), True)


def run(
    schema: GraphQLSchema,
    checked: CheckedDocument,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
    middleware: list[Any] | None = None,
    compiled: str = "off",
    site: object = None,
) -> Outcome:
    """``compiled``: when to run a compiled plan instead of graphql-core's executor (one of
    :data:`extapi.graphql.compiled.MODES`); ``site``: the request's settings, whose change
    rebuilds the plans."""
    document = checked.parsed
    if document is None:
        return _refused(list(checked.errors))
    operation = checked.chosen.get(operation_name)
    if operation is None:
        if not has_operation(document, operation_name):
            reason = ClientSafeError(NO_OPERATION_TYPE, category="request")
            return _refused([GraphQLError(NO_OPERATION_TYPE, original_error=reason)])
        if checked.errors:
            return _refused(list(checked.errors))
        selected = select_operation(document, operation_name)
        if isinstance(selected, GraphQLError):
            return _refused([selected])
        operation = selected
        if len(checked.chosen) < LABELS_KEPT:
            checked.chosen[operation_name] = operation
    if operation.variable_definitions:
        values, errors = coerce_variables(schema, operation, variables or {})
        if errors:
            return _refused(errors)
    else:  # nothing to coerce: whatever variables came are not looked at
        values = {}
    mutation = operation.operation is _MUTATION
    refused = _root_type_error(schema, operation)
    if refused is not None:
        return Outcome(ExecutionResult(None, [refused]), False, mutation)
    plan = plan_for(checked.plans, schema, document, operation, values, compiled, site)
    if plan is not None:
        planned, planned_errors = plan.execute(context, values, middleware)
        return Outcome(ExecutionResult(planned, planned_errors or None), False, mutation)
    execution = _context(schema, document, operation, values, context, middleware)
    try:
        data = execution.execute_operation(operation, None)
    except GraphQLError as error:
        return Outcome(ExecutionResult(None, [*execution.errors, error]), False, mutation)
    if not isinstance(data, dict | type(None)):
        raise RuntimeError("Asynchronous resolvers are not supported")
    return Outcome(ExecutionResult(data, execution.errors or None), False, mutation)


def _context(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    values: dict[str, Any],
    context: Any,
    middleware: list[Any] | None,
) -> ExecutionContext:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return ExecutionContext(
        schema,
        fragments,
        None,
        context,
        operation,
        values,
        default_field_resolver,
        default_type_resolver,
        default_field_resolver,
        [],
        MiddlewareManager(*middleware) if middleware else None,
        None,
    )
