"""Validation guards against hostile document shapes: aliases, repeats, directives, fragments."""

from __future__ import annotations

import time

import pytest
from graphql import GraphQLError, parse, specified_rules, validate

from extapi.graphql.schema import build_schema
from extapi.limits.guards import GuardLimits, guard_rules


def _errors(document: str, limits: GuardLimits | None = None) -> list[GraphQLError]:
    rules = guard_rules(limits or GuardLimits())
    return validate(build_schema(), parse(document, max_tokens=None), rules)


def _messages(document: str, limits: GuardLimits | None = None) -> list[str]:
    return [error.message for error in _errors(document, limits)]


def _aliased_statuses(n: int) -> str:
    return "{ " + " ".join(f"s{i}: totara_webapi_status {{ status }}" for i in range(n)) + " }"


def _repeated_status(n: int) -> str:
    return "{ totara_webapi_status { " + " ".join(["status"] * n) + " } }"


def _directives(n: int) -> str:
    return " ".join(["@include(if: true)"] * n)


def _fragments(n: int) -> str:
    spreads = " ".join(f"...F{i}" for i in range(n))
    definitions = "\n".join(f"fragment F{i} on totara_webapi_status {{ status }}" for i in range(n))
    return f"{{ totara_webapi_status {{ {spreads} }} }}\n{definitions}"


def test_the_defaults_match_the_documented_limits() -> None:
    # given no particular limits
    # when the defaults are read
    limits = GuardLimits()

    # then they are the documented ones, and equal limits share their rules
    assert (
        limits.max_aliases,
        limits.max_field_repeats,
        limits.max_directives,
        limits.max_fragments,
    ) == (50, 10, 5, 50)
    assert guard_rules(GuardLimits()) is guard_rules(limits)


def test_an_ordinary_document_passes_the_guards_and_the_standard_rules() -> None:
    # given a realistic query, with a fragment, aliases and a directive
    document = """
    query Listing($withStatus: Boolean!) {
      up: totara_webapi_status @include(if: $withStatus) { status timestamp }
      core_user_users(query: {pagination: {limit: 10}}) { items { ...Person } total }
    }
    fragment Person on core_user { id first: firstname last: lastname }
    """
    rules = (*specified_rules, *guard_rules(GuardLimits()))

    # when it is validated with every rule
    errors = validate(build_schema(), parse(document), rules)

    # then nothing is reported
    assert errors == []


# --- aliases ----------------------------------------------------------------------------------
def test_aliases_at_the_limit_pass() -> None:
    # given 50 aliased fields
    # when validated
    # then no guard objects
    assert _messages(_aliased_statuses(50)) == []


def test_aliases_above_the_limit_fail() -> None:
    # given 51 aliased fields
    # when validated
    errors = _errors(_aliased_statuses(51))

    # then one error names the count and the limit, located at the first alias too many
    assert [e.message for e in errors] == ["Too many aliases: 51 exceeds the limit of 50."]
    assert errors[0].locations is not None and len(errors[0].locations) == 1


def test_aliases_in_fragments_count_too() -> None:
    # given three aliases split between the operation and a fragment, with a limit of two
    document = """
    { a: totara_webapi_status { ...S } }
    fragment S on totara_webapi_status { b: status c: timestamp }
    """

    # when validated
    # then the whole document is counted
    assert _messages(document, GuardLimits(max_aliases=2)) == [
        "Too many aliases: 3 exceeds the limit of 2."
    ]


# --- repeated fields --------------------------------------------------------------------------
def test_a_field_repeated_up_to_the_limit_passes() -> None:
    # given a field selected 10 times in one selection set
    # when validated
    # then no guard objects
    assert _messages(_repeated_status(10)) == []


def test_a_field_repeated_above_the_limit_fails() -> None:
    # given a field selected 11 times in one selection set
    # when validated
    # then one error names the field, the count and the limit
    assert _messages(_repeated_status(11)) == [
        'Field "status" is repeated 11 times; the limit is 10.'
    ]


def test_repeats_count_by_response_key_and_through_inline_fragments() -> None:
    # given the key "s" selected 6 times directly and 5 times in nested inline fragments
    direct = " ".join(["s: totara_webapi_status { status }"] * 6)
    nested = " ".join(["s: totara_webapi_status { status }"] * 5)
    document = f"{{ {direct} ... on Query {{ ... {{ {nested} }} }} }}"

    # when validated
    # then the inline fragments are merged into the selection set that holds them, once
    assert _messages(document, GuardLimits(max_aliases=100)) == [
        'Field "s" is repeated 11 times; the limit is 10.'
    ]


def test_repeats_are_reported_once_per_document() -> None:
    # given two selection sets that both repeat a field too often
    document = f"{{ a: {_repeated_status(11)[2:-2]} b: {_repeated_status(12)[2:-2]} }}"

    # when validated
    # then only the first is reported
    assert _messages(document) == ['Field "status" is repeated 11 times; the limit is 10.']


# --- directives -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "{{ totara_webapi_status {d} {{ status }} }}",
        "query Q {d} {{ totara_webapi_status {{ status }} }}",
        "{{ totara_webapi_status {{ ...S {d} }} }} fragment S on totara_webapi_status {{ status }}",
        "{{ totara_webapi_status {{ ... {d} {{ status }} }} }}",
        "{{ totara_webapi_status {{ ...S }} }} fragment S on totara_webapi_status {d} {{ status }}",
    ],
    ids=["field", "operation", "fragment spread", "inline fragment", "fragment definition"],
)
def test_directives_on_one_node_are_limited(template: str) -> None:
    # given a node with 5 directives, and the same node with 6
    at_limit = template.format(d=_directives(5))
    above = template.format(d=_directives(6))

    # when both are validated
    # then only the second fails
    assert _messages(at_limit) == []
    assert _messages(above) == ["Too many directives on one node: 6 exceeds the limit of 5."]


def test_directives_are_counted_per_node() -> None:
    # given two nodes with 4 directives each
    document = f"{{ totara_webapi_status {_directives(4)} {{ status {_directives(4)} }} }}"

    # when validated
    # then neither node is over the limit
    assert _messages(document) == []


# --- fragments --------------------------------------------------------------------------------
def test_fragments_at_the_limit_pass() -> None:
    # given 50 fragment definitions
    # when validated
    # then no guard objects
    assert _messages(_fragments(50)) == []


def test_fragments_above_the_limit_fail() -> None:
    # given 51 fragment definitions
    # when validated
    # then one error names the count and the limit
    assert _messages(_fragments(51)) == ["Too many fragments: 51 exceeds the limit of 50."]


# --- hostile documents ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "document", "message"),
    [
        (
            "10,000 aliases",
            _aliased_statuses(10_000),
            "Too many aliases: 10000 exceeds the limit of 50.",
        ),
        (
            "a field repeated 10,000 times",
            _repeated_status(10_000),
            'Field "status" is repeated 10000 times; the limit is 10.',
        ),
        (
            "10,000 directives on a field",
            f"{{ totara_webapi_status {_directives(10_000)} {{ status }} }}",
            "Too many directives on one node: 10000 exceeds the limit of 5.",
        ),
        (
            "10,000 fragments",
            _fragments(10_000),
            "Too many fragments: 10000 exceeds the limit of 50.",
        ),
    ],
)
def test_hostile_documents_are_rejected_in_milliseconds(
    name: str, document: str, message: str
) -> None:
    # given a hostile document, already parsed
    ast = parse(document, max_tokens=None)
    rules = guard_rules(GuardLimits())
    schema = build_schema()
    validate(schema, parse("{ totara_webapi_status { status } }"), rules)  # warm up

    # when the guards validate it (and, for comparison, graphql-core's bare traversal)
    start = time.perf_counter()
    errors = validate(schema, ast, rules)
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    validate(schema, ast, [])
    bare = time.perf_counter() - start

    # then it is rejected with one clear error, and the times are printed for the record
    assert [e.message for e in errors] == [message]
    print(
        f"\nguards on {name}: {elapsed * 1e3:.1f} ms (traversal without rules: {bare * 1e3:.1f} ms)"
    )
