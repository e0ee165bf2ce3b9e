"""Example requests: valid against the schema, with variables the schema accepts, and a sample
response shaped like the selection."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    FieldNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)
from graphql import build_schema as build_sdl
from graphql.execution.values import get_variable_values

from extapi.apidocs import DEFAULT_HIDDEN, build_reference
from extapi.apidocs.examples import build_example
from extapi.apidocs.hidden import Hidden
from extapi.graphql.schema import build_schema
from extapi.org.hierarchy import KIND_INFO, add_framework
from tests.factories import fetch_token, graphql, make_api_client, make_user

SCHEMA = build_schema()
REFERENCE = build_reference(SCHEMA)
OPERATIONS = [*REFERENCE.queries, *REFERENCE.mutations]


def _operation(document: str) -> OperationDefinitionNode:
    node = parse(document).definitions[0]
    assert isinstance(node, OperationDefinitionNode)
    return node


def _same_shape(selection: SelectionSetNode | None, value: Any) -> bool:
    """Does ``value`` (a sample response) have exactly the fields the selection asks for?"""
    if isinstance(value, list):
        return len(value) == 1 and _same_shape(selection, value[0])
    if selection is None:
        return not isinstance(value, dict)
    fields = [s for s in selection.selections if isinstance(s, FieldNode)]
    if not isinstance(value, dict) or set(value) != {f.name.value for f in fields}:
        return False
    return all(_same_shape(f.selection_set, value[f.name.value]) for f in fields)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_example_document_validates_against_the_schema(operation):
    document = parse(operation.example.document)
    assert validate(SCHEMA, document) == []


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_example_passes_variables_the_schema_accepts(operation):
    # given the example's document and variables
    node = _operation(operation.example.document)
    # when the variables are coerced as the executor would
    coerced = get_variable_values(SCHEMA, node.variable_definitions, operation.example.variables)
    # then there are no errors, and every required argument is passed
    assert isinstance(coerced, dict), coerced
    required = {a.name for a in operation.field.args if a.required}
    assert required <= set(operation.example.variables)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_sample_response_has_the_shape_of_the_selection(operation):
    node = _operation(operation.example.document)
    root = node.selection_set.selections[0]
    assert isinstance(root, FieldNode)
    data = operation.example.response["data"]
    assert list(data) == [operation.name]
    assert _same_shape(root.selection_set, data[operation.name])


def test_hidden_fields_are_never_selected():
    for operation in OPERATIONS:
        assert "card_display" not in operation.example.document


def test_a_new_user_example_fills_every_required_input_field():
    create = next(op for op in OPERATIONS if op.name == "core_user_create_user")
    assert create.example.variables == {
        "input": {
            "username": "jsmith",
            "email": "jsmith@example.com",
            "firstname": "Jane",
            "lastname": "Smith",
            "password": "Sample-passw0rd!",
        }
    }


def test_list_queries_show_paging_and_select_records_a_couple_of_levels_deep():
    users = next(op for op in OPERATIONS if op.name == "core_user_users")
    assert users.example.variables == {"query": {"pagination": {"limit": 20}}}
    document = users.example.document
    assert "items {" in document and "next_cursor" in document
    assert "job_assignments {" in document  # records inside records
    assert "manager" not in document  # but not deeper


def test_references_pick_records_by_idnumber():
    delete = next(op for op in OPERATIONS if op.name == "core_user_delete_user")
    assert delete.example.variables == {"target_user": {"idnumber": "EMP-0042"}}


def test_fields_with_required_arguments_are_left_out_and_unions_ask_for_the_typename():
    # given a schema with a field that needs an argument, and a union
    schema = build_sdl(
        """
        type Query { one: thing, pick: either }
        type thing { id: ID!, name: String, lookup(key: String!): String }
        type other { id: ID! }
        union either = thing | other
        """
    )
    # when examples are built
    one = build_example(schema, "query", "one", Hidden())
    pick = build_example(schema, "query", "pick", Hidden())
    # then the field with a required argument is not selected
    assert "lookup" not in one.document and "name" in one.document
    assert "__typename" in pick.document
    assert validate(schema, parse(one.document)) == []
    assert validate(schema, parse(pick.document)) == []


def test_an_operation_returning_a_scalar_has_no_selection():
    schema = build_sdl("type Query { ping(times: Int!): String }")
    example = build_example(schema, "query", "ping", DEFAULT_HIDDEN)
    assert example.document == "query ping($times: Int!) {\n  ping(times: $times)\n}\n"
    assert example.variables == {"times": 1}
    assert validate(schema, parse(example.document)) == []


def test_query_examples_run_cleanly_against_the_real_api(http, runtime):
    # given an API client whose service account holds the API User role
    token = fetch_token(http, make_api_client(runtime))
    for operation in REFERENCE.queries:
        # when the documented example is sent as it stands
        body = {"query": operation.example.document, "variables": operation.example.variables}
        response = graphql(http, token, body)
        # then it runs without errors
        assert response.status_code == 200
        assert "errors" not in response.json(), (operation.name, response.json())


# The records the examples refer to, made through the API the way an integration would.
SEED_ITEMS = """
mutation seed($org: hierarchy_organisation_create_organisation_input!,
              $pos: hierarchy_position_create_position_input!) {
  hierarchy_organisation_create_organisation(input: $org) { organisation { id } }
  hierarchy_position_create_position(input: $pos) { position { id } }
}
"""
# Creations first, then changes, then removals; the user last, since a job assignment of
# theirs is among the records removed before.
_ORDER = ("create", "update", "delete")


def _mutation_order(operation: Any) -> tuple[int, bool, str]:
    verb = next(n for n, v in enumerate(_ORDER) if f"_{v}_" in operation.name)
    return verb, operation.name == "core_user_delete_user", operation.name


def test_mutation_examples_run_as_written_against_a_seeded_site(http, runtime):
    # given a site holding the records the examples name: a user, frameworks, items
    with runtime.engine.begin() as conn:
        for kind in KIND_INFO.values():
            add_framework(conn, kind, "FW-MAIN", "Main structure")
    make_user(runtime, "emp0042", idnumber="EMP-0042")
    token = fetch_token(http, make_api_client(runtime))
    seeded = graphql(
        http,
        token,
        {
            "query": SEED_ITEMS,
            "variables": {
                "org": {
                    "fullname": "Finance",
                    "idnumber": "ORG-FIN",
                    "framework": {"idnumber": "FW-MAIN"},
                },
                "pos": {
                    "fullname": "Payroll officer",
                    "idnumber": "POS-PAYROLL",
                    "framework": {"idnumber": "FW-MAIN"},
                },
            },
        },
    )
    assert "errors" not in seeded.json(), seeded.json()
    for operation in sorted(REFERENCE.mutations, key=_mutation_order):
        # when each documented mutation is sent exactly as the page shows it
        body = {"query": operation.example.document, "variables": operation.example.variables}
        response = graphql(http, token, body)
        # then it runs without errors
        assert response.status_code == 200
        assert "errors" not in response.json(), (operation.name, response.json())
