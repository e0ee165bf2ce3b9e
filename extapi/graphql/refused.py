"""What the request log names a request that was refused before it could run (its client's
service account, tenant or status did not allow it): the operations it asked for and their
variables, read from the body without parsing the documents."""

from __future__ import annotations

import re

from extapi.errors import ExtapiError
from extapi.graphql.request import decode_body, has_nul, parse_operations
from extapi.requestlog.details import variables_text

__all__ = ["refused_request", "written_name", "UNREADABLE"]

UNREADABLE = "(invalid request)"
_ANONYMOUS = "(anonymous)"
# The name of a document's first operation; comments and strings before it are not looked
# for: this is a label for a request that never ran, not a parser.
_NAMED = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


def written_name(query: str) -> str | None:
    found = _NAMED.match(query)
    return None if found is None else found.group(1)


def refused_request(body: bytes, max_batch: int) -> tuple[str, str | None]:
    """The log label (each operation's name, as asked for or as written) and the masked
    variables of a request that was not run."""
    try:
        operations, _batch = parse_operations(decode_body(body), max_batch, has_nul(body))
    except ExtapiError:
        return UNREADABLE, None
    names = ", ".join(
        op.operation_name or written_name(op.query) or _ANONYMOUS for op in operations
    )
    return names or UNREADABLE, variables_text([op.variables for op in operations])
