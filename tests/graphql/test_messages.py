"""Every message graphql-core can put in front of a client, in graphql-php 14.11's words.

One row per graphql-core message: the document that provokes it against the real schema and
the exact text Totara 17.3 (graphql-php) gives. Rows are grouped as graphql-core produces
them: lexer and parser, each standard validation rule (``specified_rules``), operation
selection, variable coercion, and the executor's own faults.

Texts that are extapi's own, with no graphql-php counterpart, are not rows: the token limit
(``Document contains more than 10000 tokens. Parsing aborted.``), graphql-core's cap on the
number of validation errors, and the abuse guards of :mod:`extapi.limits.guards`.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import specified_rules

from extapi.graphql.documents import DocumentCache
from extapi.graphql.errors import format_error
from extapi.graphql.execute import run
from extapi.graphql.schema import RESOLVERS, assemble_schema, build_schema, schema_sdl

SCHEMA = build_schema()
STATUS_FIELD = "totara_webapi_status"


def _errors(
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    schema: Any = SCHEMA,
) -> list[dict[str, Any]]:
    checked = DocumentCache(schema).get(query, True, 15)
    outcome = run(schema, checked, variables, operation_name, None)
    return [format_error(e, 1) for e in outcome.result.errors or []]


def _messages(
    query: str, variables: dict[str, Any] | None = None, name: str | None = None
) -> list[str]:
    return [e["message"] for e in _errors(query, variables, name)]


SYNTAX = [
    ("Unexpected <EOF>", "   ", "Unexpected <EOF>"),
    ("Unexpected Name", "hello world", 'Unexpected Name "hello"'),
    ("Unexpected punctuator", "{ a } }", "Unexpected }"),
    ("Unexpected Int", "{ a(x: 1) } 5", 'Unexpected Int "5"'),
    ("Unexpected String", '{ a } "abc" 5', 'Unexpected Int "5"'),
    ("description then nothing", '"abc"', "Unexpected <EOF>"),
    ("description on an operation", '"abc" query { a }', 'Unexpected Name "query"'),
    ("Expected kind", "{ a(x 1) }", 'Expected :, found Int "1"'),
    ("Expected Name", "query { a { b }", "Expected Name, found <EOF>"),
    ("Expected keyword", "fragment F { a }", 'Expected "on", found {'),
    ("variable in a constant", "query q($a: Int = $b) { a }", "Unexpected $"),
    ("unexpected character", "{ a(x: ?) }", 'Cannot parse the unexpected character "?".'),
    ("invalid character", "\x01", 'Cannot contain the invalid character "\\u0001"'),
    (
        "single quote",
        "{ a(x: 'b') }",
        "Unexpected single quote character ('), did you mean to use a double quote (\")?",
    ),
    ("unterminated string", '{ a(x: "abc) }', "Unterminated string."),
    ("unterminated block string", '{ a(x: """abc) }', "Unterminated string."),
    (
        "control character in string",
        '{ a(x: "a\x01") }',
        'Invalid character within String: "\\u0001"',
    ),
    ("bad escape", '{ a(x: "\\q") }', "Invalid character escape sequence: \\q"),
    ("bad unicode escape", '{ a(x: "\\u12G4") }', "Invalid character escape sequence: \\u12G4"),
    ("digit after 0", "{ a(x: 01) }", 'Invalid number, unexpected digit after 0: "1"'),
    ("digit expected", "{ a(x: 1.a) }", 'Invalid number, expected digit but got: "a"'),
    ("digit expected at end", "{ a(x: 1.", "Invalid number, expected digit but got: <EOF>"),
    ("number then name", "{ a(x: 1a) }", "Expected :, found )"),
]


@pytest.mark.parametrize(("case", "query", "description"), SYNTAX, ids=[r[0] for r in SYNTAX])
def test_syntax_errors(case: str, query: str, description: str) -> None:
    assert _messages(query) == ["Syntax Error: " + description]


VALIDATION = [
    # ExecutableDefinitionsRule
    ("type T { a: Int } { __typename }", ['The "T" definition is not executable.']),
    # UniqueOperationNamesRule
    (
        "query a { __typename } query a { __typename }",
        ['There can be only one operation named "a".'],
    ),
    # LoneAnonymousOperationRule
    (
        "{ __typename } query a { __typename }",
        ["This anonymous operation must be the only defined operation."],
    ),
    # KnownTypeNamesRule
    (
        "query q($a: core_dat) { __type(name: $a) { name } }",
        [
            'Unknown type "core_dat". Did you mean "core_date", "core_id", "core_format", or '
            '"core_user"?'
        ],
    ),
    ("query q($a: Nope) { __type(name: $a) { name } }", ['Unknown type "Nope".']),
    # FragmentsOnCompositeTypesRule
    ("{ ... on String { a } }", ['Fragment cannot condition on non composite type "String".']),
    (
        "fragment F on String { a } { ...F }",
        ['Fragment "F" cannot condition on non composite type "String".'],
    ),
    # VariablesAreInputTypesRule
    (
        "query q($a: core_user) { __type(name: $a) { name } }",
        [
            'Variable "$a" cannot be non-input type "core_user".',
            'Variable "$a" of type "core_user" used in position expecting type "String!".',
        ],
    ),
    # ScalarLeafsRule
    (
        "{ totara_webapi_status { status { a } } }",
        ['Field "status" of type "String!" must not have a sub selection.'],
    ),
    (
        "{ totara_webapi_status }",
        ['Field "totara_webapi_status" of type "totara_webapi_status" must have a sub selection.'],
    ),
    # FieldsOnCorrectTypeRule
    (
        "{ totara_webapi_statu { status } }",
        [
            'Cannot query field "totara_webapi_statu" on type "Query". Did you mean '
            '"totara_webapi_status"?'
        ],
    ),
    (
        "{ totara_webapi_status { nope } }",
        ['Cannot query field "nope" on type "totara_webapi_status".'],
    ),
    # UniqueFragmentNamesRule
    (
        "fragment F on Query { __typename } fragment F on Query { __typename } { ...F }",
        ['There can be only one fragment named "F".'],
    ),
    # KnownFragmentNamesRule
    ("{ ...F }", ['Unknown fragment "F".']),
    # NoUnusedFragmentsRule
    ("fragment F on Query { __typename } { __typename }", ['Fragment "F" is never used.']),
    # PossibleFragmentSpreadsRule
    (
        "{ totara_webapi_status { ... on core_user { id } } }",
        [
            'Fragment cannot be spread here as objects of type "totara_webapi_status" can never '
            'be of type "core_user".'
        ],
    ),
    (
        "fragment F on core_user { id } { totara_webapi_status { ...F } }",
        [
            'Fragment "F" cannot be spread here as objects of type "totara_webapi_status" can '
            'never be of type "core_user".'
        ],
    ),
    # NoFragmentCyclesRule
    (
        "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }",
        ['Cannot spread fragment "A" within itself via B.'],
    ),
    ("fragment A on Query { ...A } { ...A }", ['Cannot spread fragment "A" within itself.']),
    # UniqueVariableNamesRule
    (
        "query q($a: Int, $a: Int) { __typename }",
        [
            'There can be only one variable named "a".',
            'Variable "$a" is never used in operation "q".',
            'Variable "$a" is never used in operation "q".',
        ],
    ),
    # NoUndefinedVariablesRule
    (
        "query q { totara_webapi_status { timestamp(format: $f) } }",
        ['Variable "$f" is not defined by operation "q".'],
    ),
    ("{ totara_webapi_status { timestamp(format: $f) } }", ['Variable "$f" is not defined.']),
    # NoUnusedVariablesRule
    ("query q($a: Int) { __typename }", ['Variable "$a" is never used in operation "q".']),
    ("query ($a: Int) { __typename }", ['Variable "$a" is never used.']),
    # KnownDirectivesRule
    ("{ __typename @nope }", ['Unknown directive "nope".']),
    (
        "query @include(if: true) { __typename }",
        ['Directive "include" may not be used on "QUERY".'],
    ),
    # UniqueDirectivesPerLocationRule
    (
        "{ __typename @skip(if: true) @skip(if: true) }",
        ['The directive "skip" can only be used once at this location.'],
    ),
    # KnownArgumentNamesRule
    (
        "{ totara_webapi_status { timestamp(formt: ISO8601) } }",
        [
            'Unknown argument "formt" on field "timestamp" of type "totara_webapi_status". Did '
            'you mean "format"?'
        ],
    ),
    (
        "{ __typename @skip(iff: true) }",
        [
            'Unknown argument "iff" on directive "@skip". Did you mean "if"?',
            'Directive "@skip" argument "if" of type "Boolean!" is required but not provided.',
        ],
    ),
    # UniqueArgumentNamesRule
    (
        "{ totara_webapi_status { timestamp(format: DATE, format: DATE) } }",
        ['There can be only one argument named "format".'],
    ),
    # ValuesOfCorrectTypeRule
    (
        "{ totara_webapi_status { timestamp(format: NOPE) } }",
        ['Field "timestamp" argument "format" requires type core_date_format, found NOPE.'],
    ),
    (
        "{ totara_webapi_status { timestamp(format: DATES) } }",
        [
            'Field "timestamp" argument "format" requires type core_date_format, found DATES; '
            "Did you mean the enum value DATE?"
        ],
    ),
    (
        '{ totara_webapi_status { timestamp(format: "DATE") } }',
        [
            'Field "timestamp" argument "format" requires type core_date_format, found "DATE"; '
            "Did you mean the enum value DATE?"
        ],
    ),
    (
        "{ core_user_users(query: {pagination: {cursor: 5}}) { total } }",
        ['Field "core_user_users" argument "query" requires type String, found 5.'],
    ),
    (
        "{ core_user_users(query: {sort: [{direction: ASC}]}) { total } }",
        ["Field core_sort_input.column of required type String! was not provided."],
    ),
    (
        "{ core_user_users(query: {sort: [{column: null}]}) { total } }",
        ['Field "core_user_users" argument "query" requires type String!, found null.'],
    ),
    (
        "{ core_user_users(query: {paginaton: {}}) { total } }",
        [
            'Field "paginaton" is not defined by type core_user_users_query; Did you mean '
            "pagination?"
        ],
    ),
    (
        "{ core_user_users(query: 5) { total } }",
        ['Field "core_user_users" argument "query" requires type core_user_users_query, found 5.'],
    ),
    (
        '{ core_user_users(query: {pagination: {limit: "x"}}) { total } }',
        ['Argument "query" has invalid value {pagination: {limit: "x"}}.'],
    ),
    # ProvidedRequiredArgumentsRule
    (
        "mutation { core_user_delete_user { user_id } }",
        [
            'Field "core_user_delete_user" argument "target_user" of type '
            '"core_user_user_reference!" '
            "is required but not provided."
        ],
    ),
    (
        "{ __typename @include }",
        ['Directive "@include" argument "if" of type "Boolean!" is required but not provided.'],
    ),
    # VariablesInAllowedPositionRule
    (
        "query q($f: String) { totara_webapi_status { timestamp(format: $f) } }",
        ['Variable "$f" of type "String" used in position expecting type "core_date_format".'],
    ),
    # OverlappingFieldsCanBeMergedRule
    (
        "{ totara_webapi_status { a: status a: timestamp } }",
        [
            'Fields "a" conflict because status and timestamp are different fields. '
            "Use different aliases on the fields to fetch both if this was intentional."
        ],
    ),
    (
        "{ totara_webapi_status { timestamp(format: DATE) timestamp(format: TIME) } }",
        [
            'Fields "timestamp" conflict because they have differing arguments. '
            "Use different aliases on the fields to fetch both if this was intentional."
        ],
    ),
    (
        "{ a: totara_webapi_status { s: status } a: totara_webapi_status { s: timestamp } }",
        [
            'Fields "a" conflict because subfields "s" conflict because status and timestamp are '
            "different fields. Use different aliases on the fields to fetch both if this was "
            "intentional."
        ],
    ),
    # UniqueInputFieldNamesRule
    (
        "{ core_user_users(query: {filters: {}, filters: {}}) { total } }",
        ['There can be only one input field named "filters".'],
    ),
]


@pytest.mark.parametrize(
    ("query", "expected"), VALIDATION, ids=[str(i) for i in range(len(VALIDATION))]
)
def test_validation_rules(query: str, expected: list[str]) -> None:
    assert _messages(query) == expected


def test_every_standard_rule_has_a_row() -> None:
    # graphql-core's rules, less the one that can not fire: the schema has no subscription
    # type, so SingleFieldSubscriptionsRule has nothing to check (see the L6 row instead).
    names = {rule.__name__ for rule in specified_rules} - {"SingleFieldSubscriptionsRule"}
    with open(__file__, encoding="utf-8") as file:
        source = file.read()
    assert [name for name in sorted(names) if f"# {name}" not in source] == []


DATE_VAR = "query q($f: core_date_format!) { totara_webapi_status { timestamp(format: $f) } }"
STRING_VAR = "query q($n: String!) { __type(name: $n) { name } }"
BOOLEAN_VAR = "query q($b: Boolean!) { __typename @include(if: $b) }"
CREATE = (
    "mutation m($input: core_user_create_user_input!) "
    "{ core_user_create_user(input: $input) { user { id } } }"
)
NEW_USER = {"username": "x", "email": "x@example.com", "firstname": "X", "lastname": "Y"}
# Float and ID variables can not reach coercion: no argument or input field of the schema has
# either type, so VariablesInAllowedPositionRule refuses them first.
EXECUTION = [
    # operation selection (graphql-php server and executor)
    ("query a { __typename }", None, "b", "Failed to determine operation type"),
    ("query a { __typename }", None, "", 'Unknown operation named "".'),
    (
        "query a { __typename } query b { __typename }",
        None,
        None,
        "Must provide operation name if query contains multiple operations.",
    ),
    ("subscription { __typename }", None, None, "Schema is not configured for subscriptions."),
    # variables
    (DATE_VAR, {}, None, 'Variable "$f" of required type "core_date_format!" was not provided.'),
    (
        DATE_VAR,
        {"f": None},
        None,
        'Variable "$f" of non-null type "core_date_format!" must not be null.',
    ),
    (
        DATE_VAR,
        {"f": "NOPE"},
        None,
        'Variable "$f" got invalid value "NOPE"; Expected type core_date_format.',
    ),
    (
        DATE_VAR,
        {"f": ""},
        None,
        'Variable "$f" got invalid value (empty string); Expected type core_date_format.',
    ),
    (
        DATE_VAR,
        {"f": {"a": "/"}},
        None,
        'Variable "$f" got invalid value {"a":"\\/"}; Expected type core_date_format.',
    ),
    (
        STRING_VAR,
        {"n": 5},
        None,
        'Variable "$n" got invalid value 5; Expected type String; String cannot represent a non '
        "string value: 5",
    ),
    (
        BOOLEAN_VAR,
        {"b": "yes"},
        None,
        'Variable "$b" got invalid value "yes"; Expected type Boolean; '
        "Boolean cannot represent a non boolean value: yes",
    ),
    (
        CREATE,
        {"input": {**NEW_USER, "custom_fields": [{"shortname": "a", "data_format": 1.5}]}},
        None,
        'Variable "$input" got invalid value '
        '{"username":"x","email":"x@example.com","firstname":"X",'
        '"lastname":"Y","custom_fields":[{"shortname":"a","data_format":1.5}]}; Expected type '
        "Int at "
        "value.custom_fields[0].data_format; Int cannot represent non-integer value: 1.5",
    ),
    (
        CREATE,
        {"input": {**NEW_USER, "custom_fields": {"0": {"shortname": "a", "data_format": 2**31}}}},
        None,
        'Variable "$input" got invalid value '
        '{"username":"x","email":"x@example.com","firstname":"X",'
        '"lastname":"Y","custom_fields":[{"shortname":"a","data_format":2147483648}]}; Expected '
        "type Int "
        "at value.custom_fields[0].data_format; Int cannot represent non 32-bit signed integer "
        "value: "
        "2147483648",
    ),
]


@pytest.mark.parametrize(
    ("query", "variables", "name", "message"),
    EXECUTION,
    ids=[str(i) for i in range(len(EXECUTION))],
)
def test_operation_and_variable_errors(
    query: str, variables: dict[str, Any] | None, name: str | None, message: str
) -> None:
    assert _messages(query, variables, name) == [message]


FAULTS_SDL = """
extend type Query {
  fault_required: String!
  fault_list: [String]
  fault_string: String
}
"""


def test_executor_faults_are_internal_in_graphql_php_words() -> None:
    resolvers = {
        **RESOLVERS,
        "Query.fault_required": lambda *_: None,
        "Query.fault_list": lambda *_: 5,
        "Query.fault_string": lambda *_: [1],
    }
    schema = assemble_schema(schema_sdl() + FAULTS_SDL, resolvers)
    reasons = {
        field: [e.get("debugMessage") for e in _errors(f"{{ {field} }}", schema=schema)]
        for field in ("fault_required", "fault_list", "fault_string")
    }
    assert reasons == {
        "fault_required": ['Cannot return null for non-nullable field "Query.fault_required".'],
        "fault_list": [
            "User Error: expected iterable, but did not find one for field Query.fault_list."
        ],
        "fault_string": ['Expected a value of type "String" but received: [1]'],
    }
    assert {e["message"] for e in _errors("{ fault_list }", schema=schema)} == {
        "Internal server error"
    }


def test_argument_errors_raised_while_resolving_use_graphql_php_words() -> None:
    # given a non-null argument fed by a nullable variable that has a default (allowed by
    # validation) and an explicit null at run time
    query = 'query q($n: String = "Query") { __type(name: $n) { name } }'
    # when it runs, then graphql-php's text for the refused argument
    assert _messages(query, {"n": None}) == [
        'Argument "name" of non-null type "String!" must not be null.'
    ]
