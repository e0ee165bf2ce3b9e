"""``POST /totara/oauth2/token.php``: the client-credentials grant (RFC 6749 section 4.4)."""

from __future__ import annotations

from extapi.auth.form_endpoint import API_DISABLED, FormEndpoint
from extapi.auth.oauth_errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    UnsupportedGrantType,
)
from extapi.auth.tokens import issue_token, token_lifetime
from extapi.http import Scope
from extapi.ops.note import GRANTED

__all__ = ["TokenEndpoint", "GRANT_TYPE", "KNOWN_SCOPES"]

GRANT_TYPE = "client_credentials"
KNOWN_SCOPES = frozenset({"xapi:write"})


def check_scope(scope: str | None) -> str:
    for item in (scope or "").split():
        if item not in KNOWN_SCOPES:
            raise InvalidScope(f"Check the `{item}` scope")
    return scope or ""


class TokenEndpoint(FormEndpoint):
    """Issues access tokens; every answer is JSON and never cached."""

    only_post = "The token endpoint accepts only POST requests"
    what = "token request"

    def handle(
        self, scope: Scope, form: dict[str, str], authorization: str | None
    ) -> dict[str, object]:
        """Checks in the order Totara's OAuth library makes them, then issues a token."""
        runtime = self.runtime
        site = runtime.current_settings()
        with runtime.engine.begin() as conn:
            if not site.api_enabled:
                raise AccessDenied(API_DISABLED)
            if "grant_type" not in form:
                raise InvalidRequest("Check the `grant_type` parameter")
            if form["grant_type"] != GRANT_TYPE:
                raise UnsupportedGrantType()
            row = self.authenticate(conn, scope, form, authorization, site)
            granted = check_scope(form.get("scope"))
            lifetime = token_lifetime(int(row.default_token_expiry_time), site)
            issued = issue_token(conn, runtime.hasher, int(row.id), lifetime, granted)
        return {
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "access_token": issued.access_token,
        }

    def answered(self, scope: Scope, error: str | None) -> None:
        """Counts every grant and failed grant in the metrics."""
        super().answered(scope, error)
        metrics = self.runtime.metrics
        if metrics is not None:
            metrics.token_grant(error or GRANTED)
