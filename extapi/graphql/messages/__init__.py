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

from extapi.graphql.messages import templates
from extapi.graphql.messages.execution import argument_message, executor_reason
from extapi.graphql.messages.syntax import PhpParser, parse_document
from extapi.graphql.messages.templates import *  # noqa: F403 (every template is re-exported)
from extapi.graphql.messages.validation import validation_message

__all__ = [
    "PhpParser",
    "parse_document",
    "validation_message",
    "argument_message",
    "executor_reason",
    *templates.__all__,
]
