"""graphql-php 14.11 wording for every message graphql-core can put in front of a client.

Totara 17.3 answers in graphql-php's words; extapi runs graphql-core. This package is the one
place between the two:

* syntax: a parser that describes tokens the graphql-php way (``Unexpected Name "x"``, no
  trailing period) and lexer messages rewritten from the character at the error position;
* validation: :func:`validation_message` rewrites each standard rule's message from the
  error's facts (names, types) and recomputes "Did you mean" suggestions with graphql-php's
  algorithm (literal values are checked by :mod:`extapi.graphql.literals` in its words);
* execution: operation selection, variable coercion and root-type texts as templates
  (:mod:`.templates`); :func:`argument_message`, and :func:`executor_reason` for the faults
  graphql-core's executor raises itself (internal in Totara: server faults, not client
  mistakes).

Patterns read graphql-core 3.2's own texts; a graphql-core upgrade that changes one makes
``tests/graphql/test_messages.py`` fail on that row.
"""

from extapi.graphql.messages.execution import argument_message, executor_reason
from extapi.graphql.messages.syntax import PhpParser, parse_document
from extapi.graphql.messages.templates import (
    BAD_ARGUMENT,
    BOOLEAN_VALUE,
    DID_YOU_MEAN,
    DID_YOU_MEAN_ENUM,
    DID_YOU_MEAN_VALUE,
    EXPECTED_TYPE,
    FIELD_NOT_DEFINED,
    FIELD_NOT_PROVIDED,
    FLOAT_VALUE,
    ID_VALUE,
    INT_RANGE,
    INT_VALUE,
    INVALID_VARIABLE,
    LITERAL_BAD_ARGUMENT,
    LITERAL_BAD_VALUE,
    LITERAL_FIELD_MISSING,
    LITERAL_FIELD_UNKNOWN,
    MULTIPLE_OPERATIONS,
    NO_MUTATIONS,
    NO_OPERATION,
    NO_OPERATION_TYPE,
    NO_QUERY_TYPE,
    NO_SUBSCRIPTIONS,
    NON_NULL_VARIABLE,
    NOT_AN_OBJECT,
    NOT_INPUT_TYPE,
    NOT_NULL,
    REQUIRED_VARIABLE,
    STRING_VALUE,
    UNKNOWN_OPERATION,
)
from extapi.graphql.messages.validation import validation_message

__all__ = [
    "PhpParser",
    "parse_document",
    "validation_message",
    "argument_message",
    "executor_reason",
    "NO_OPERATION_TYPE",
    "UNKNOWN_OPERATION",
    "MULTIPLE_OPERATIONS",
    "NO_OPERATION",
    "NO_SUBSCRIPTIONS",
    "NO_MUTATIONS",
    "NO_QUERY_TYPE",
    "REQUIRED_VARIABLE",
    "NON_NULL_VARIABLE",
    "INVALID_VARIABLE",
    "BAD_ARGUMENT",
    "NOT_INPUT_TYPE",
    "NOT_NULL",
    "EXPECTED_TYPE",
    "NOT_AN_OBJECT",
    "FIELD_NOT_PROVIDED",
    "FIELD_NOT_DEFINED",
    "DID_YOU_MEAN_VALUE",
    "STRING_VALUE",
    "INT_VALUE",
    "INT_RANGE",
    "FLOAT_VALUE",
    "BOOLEAN_VALUE",
    "ID_VALUE",
    "LITERAL_FIELD_MISSING",
    "LITERAL_FIELD_UNKNOWN",
    "LITERAL_BAD_ARGUMENT",
    "LITERAL_BAD_VALUE",
    "DID_YOU_MEAN",
    "DID_YOU_MEAN_ENUM",
]
