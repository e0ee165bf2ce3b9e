"""``POST /totara/oauth2/introspect.php``: a client asks about one of its own tokens (RFC 7662).

A token is active exactly when the GraphQL endpoint would accept it now: same lookup, same
checks (expiry, client enabled, service account valid). A client may introspect only tokens
issued to it; anything else, including another client's live token, reads ``{"active":
false}`` with no other member (section 2.2).

``sub`` is the client's own id: with the client-credentials grant no resource owner is
involved, and RFC 9068 section 2.2 asks for the client's identifier in that case. The service
account is not disclosed.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from extapi.auth.form_endpoint import FormEndpoint, check_api_enabled, required_param
from extapi.auth.metadata import issuer
from extapi.auth.tokens import ApiCaller, TokenLookup, authenticate
from extapi.db.tables import access_tokens
from extapi.errors import AuthenticationError
from extapi.http import Scope
from extapi.runtime import Runtime

__all__ = ["IntrospectionEndpoint", "introspect", "INACTIVE"]

INACTIVE: dict[str, object] = {"active": False}


def _caller(runtime: Runtime, digest: str, now: int) -> ApiCaller | None:
    """Who the GraphQL endpoint would accept the token as now; None when it would refuse it."""
    revision, row = runtime.reader.revision_and_token(digest)
    try:
        return authenticate(TokenLookup(revision, row), True, now)
    except AuthenticationError:
        return None


def introspect(
    conn: Connection, runtime: Runtime, client_pk: int, token: str, iss: str
) -> dict[str, object]:
    """RFC 7662 section 2.2 members for ``token`` as seen by the client ``client_pk``."""
    now = int(time.time())
    digest = runtime.hasher.digest(token)
    caller = _caller(runtime, digest, now)
    if caller is None or caller.client_pk != client_pk:
        return INACTIVE
    row = conn.execute(
        select(access_tokens.c.scope, access_tokens.c.expires, access_tokens.c.time_created)
        .where(access_tokens.c.token_hash == digest)
        .where(access_tokens.c.client_id == client_pk)
    ).first()
    if row is None:  # revoked between the two reads
        return INACTIVE
    return _active(row, caller.client_id, iss)


def _active(row: Any, client_id: str, iss: str) -> dict[str, object]:
    """The members of an active token, in the order RFC 7662 section 2.2 lists them."""
    answer: dict[str, object] = {"active": True}
    if row.scope:
        answer["scope"] = row.scope
    answer.update(
        client_id=client_id,
        token_type="Bearer",
        exp=int(row.expires),
        iat=int(row.time_created),
        sub=client_id,
        iss=iss,
    )
    return answer


class IntrospectionEndpoint(FormEndpoint):
    only_post = "The introspection endpoint accepts only POST requests"
    what = "token introspection"

    def handle(self, scope: Scope, form: dict[str, str], authorization: str | None) -> object:
        runtime = self.runtime
        site = check_api_enabled(runtime)
        with runtime.engine.begin() as conn:
            client = self.authenticate(conn, scope, form, authorization, site)
            token = required_param(form, "token")
            return introspect(conn, runtime, int(client.id), token, issuer(runtime, scope))
