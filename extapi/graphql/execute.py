"""Running one checked operation against the schema (synchronously: resolvers are sync)."""

from __future__ import annotations

from typing import Any

from graphql import ExecutionContext, ExecutionResult, GraphQLError, GraphQLSchema, OperationType

from extapi.graphql.documents import CheckedDocument

__all__ = ["Outcome", "run"]


class Outcome:
    """An execution result plus whether it failed before execution began (a request error
    in GraphQL-over-HTTP terms: parse, validation or variable coercion)."""

    __slots__ = ("result", "request_error", "mutation")

    def __init__(self, result: ExecutionResult, request_error: bool, mutation: bool = False):
        self.result = result
        self.request_error = request_error
        self.mutation = mutation


def run(
    schema: GraphQLSchema,
    checked: CheckedDocument,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    context: Any,
    middleware: list[Any] | None = None,
) -> Outcome:
    if checked.document is None:
        return Outcome(ExecutionResult(None, list(checked.errors)), True)
    built = ExecutionContext.build(
        schema, checked.document, None, context, variables, operation_name, middleware=middleware
    )
    if isinstance(built, list):
        return Outcome(ExecutionResult(None, built), True)
    mutation = built.operation.operation == OperationType.MUTATION
    try:
        data = built.execute_operation(built.operation, None)
    except GraphQLError as error:  # a non-null root field failed: keep the earlier errors too
        return Outcome(ExecutionResult(None, [*built.errors, error]), False, mutation)
    if not isinstance(data, dict | type(None)):
        raise RuntimeError("Asynchronous resolvers are not supported")
    return Outcome(built.build_response(data, built.errors), False, mutation)
