"""``POST /totara/oauth2/revoke.php``: a client revokes one of its own tokens (RFC 7009).

Only access tokens exist here, so ``token_type_hint`` is never needed and is ignored (section
2.1 lets a server ignore it; refusing an unknown hint is not allowed). A token that is unknown,
already revoked, expired or another client's gets the same empty 200 as a revoked one
(section 2.2), so the answer tells a client nothing about tokens that are not its own.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete

from extapi.auth.form_endpoint import FormEndpoint, check_api_enabled, required_param
from extapi.auth.secrets import SecretHasher
from extapi.db import revision
from extapi.db.tables import access_tokens
from extapi.http import Scope

__all__ = ["RevocationEndpoint", "revoke_token"]


def revoke_token(conn: Connection, hasher: SecretHasher, client_pk: int, token: str) -> bool:
    """Delete ``token`` if ``client_pk`` holds it; True when a token was revoked.

    Moving the site revision empties every worker's token cache, as disabling a client does,
    so the next request in any worker no longer accepts the token. Nothing moves when no
    token was deleted: unknown tokens cannot be used to flush the caches.
    """
    deleted = conn.execute(
        delete(access_tokens).where(
            (access_tokens.c.token_hash == hasher.digest(token))
            & (access_tokens.c.client_id == client_pk)
        )
    )
    if deleted.rowcount:
        revision.bump(conn)
    return bool(deleted.rowcount)


class RevocationEndpoint(FormEndpoint):
    only_post = "The revocation endpoint accepts only POST requests"
    what = "token revocation"

    def handle(self, scope: Scope, form: dict[str, str], authorization: str | None) -> object:
        runtime = self.runtime
        site = check_api_enabled(runtime)
        with runtime.engine.begin() as conn:
            client = self.authenticate(conn, scope, form, authorization, site)
            revoke_token(conn, runtime.hasher, int(client.id), required_param(form, "token"))
        return {}
