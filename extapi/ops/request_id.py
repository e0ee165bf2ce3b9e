"""The request id: taken from a well-formed ``X-Request-Id`` header, else made up.

It is returned on every response and written on every log line of the request, so a caller
who quotes it can be matched with the server's log. A caller's id is reused only when it is
1-128 characters of ``A-Z a-z 0-9 . _ : -``: nothing a header or log line could be split or
faked with is ever echoed.
"""

from __future__ import annotations

import os
import random
import re
from contextvars import ContextVar

from extapi.http import Scope

__all__ = ["HEADER", "MAX_LENGTH", "REQUEST_ID", "request_id", "fresh_request_id"]

HEADER = b"x-request-id"
MAX_LENGTH = 128
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:\-]{1,%d}" % MAX_LENGTH)

# The id of the request being handled, for log records made while it is (see extapi.ops.logs).
REQUEST_ID: ContextVar[str | None] = ContextVar("extapi_request_id", default=None)
# An id only has to be unique, not secret: a generator of this process's own, seeded from the
# operating system, saves a system call per request.
_random = random.Random()
# A forked worker (gunicorn, say) must not repeat its parent's ids.
os.register_at_fork(after_in_child=_random.seed)


def fresh_request_id() -> bytes:
    """32 random hexadecimal digits (16 random bytes in hex: half the cost of formatting a
    128-bit number)."""
    return _random.randbytes(16).hex().encode("ascii")


def request_id(scope: Scope) -> bytes:
    """The caller's id when it sent a well-formed one (the first such header counts), else a
    fresh one."""
    for key, value in scope["headers"]:
        if key == HEADER:
            if _WELL_FORMED.fullmatch(value):
                return bytes(value)
            break
    return fresh_request_id()
