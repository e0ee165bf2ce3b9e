"""Web sign-in and sign-out.

Failures are counted per user name and per client address (see :mod:`extapi.auth.throttle`);
while a name or address is locked the password is not even checked, so guessing stops
paying. Unknown users, wrong passwords, and accounts that may not sign in (deleted, suspended,
set to "No login" or another method that does not use the stored password, in a suspended
tenant, or neither administrators nor documentation readers) all get the same answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from extapi.access.principal import Principal, has_capability, load_grants
from extapi.auth.throttle import claim, settle, throttle_keys
from extapi.db.tables import tenants, users, web_signouts
from extapi.errors import AuthenticationError
from extapi.people.passwords import hash_password, verify_password
from extapi.people.rules import signs_in_with_stored_password
from extapi.people.users import is_site_admin

__all__ = [
    "SignInRefused",
    "SignInLocked",
    "account_usable",
    "sign_in",
    "may_view_documentation",
    "sign_out",
    "signed_out_at",
    "tenant_suspended",
    "INVALID_LOGIN",
]

INVALID_LOGIN = "Invalid login, please try again"


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so that a refusal takes as long
    either way. Made on the first such sign-in, not at import: a worker that only serves the
    API never spends the time or the 19 MiB."""
    return hash_password("extapi timing equaliser")


class SignInRefused(AuthenticationError):
    """Wrong name or password, or an account that may not use the web pages."""


class SignInLocked(SignInRefused):
    """Too many recent failures for this name or address."""


def may_view_documentation(conn: Connection, user_id: int, tenant_id: int | None) -> bool:
    principal = Principal(user_id, tenant_id, loader=lambda: load_grants(conn, user_id))
    return has_capability(principal, "totara/api:viewdocumentation", tenant_id)


def account_usable(conn: Connection, user: Any) -> bool:
    """Whether the account may be signed in to at all, now: not deleted or suspended, not in
    a suspended tenant, and of a sign-in method that uses the stored password (so never one
    set to "No login"). Checked at sign-in and again on every request of a session."""
    if user.deleted or user.suspended or not signs_in_with_stored_password(user.auth):
        return False
    return not tenant_suspended(conn, user.tenant_id)


def _may_sign_in(conn: Connection, user: Any) -> bool:
    if not account_usable(conn, user):
        return False
    return is_site_admin(conn, user.id) or may_view_documentation(conn, user.id, user.tenant_id)


def _check(conn: Connection, username: str, password: str) -> Any:
    """The user row when the password is right and the account may sign in, else None."""
    user = conn.execute(select(users).where(users.c.username == username.strip().lower())).first()
    stored = user.password if user is not None and user.password else _dummy_hash()
    good = verify_password(stored, password) and user is not None and _may_sign_in(conn, user)
    return user if good else None


def sign_in(engine: Engine, username: str, password: str, address: str, now: int) -> Any:
    """The user row for a correct sign-in; raises SignInLocked or SignInRefused otherwise.

    Takes the engine rather than a connection: the attempt is claimed and committed before
    the (slow, about 20 ms) password check, which holds no lock, and settled afterwards."""
    keys = throttle_keys(username, address)
    with engine.begin() as conn:
        wait = claim(conn, keys, now)
    if wait > 0:
        minutes = (wait + 59) // 60
        raise SignInLocked(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
    with engine.connect() as conn:
        user = _check(conn, username, password)
    with engine.begin() as conn:
        settle(conn, keys, user is not None, now)
    if user is None:
        raise SignInRefused(INVALID_LOGIN)
    return user


def tenant_suspended(conn: Connection, tenant_id: int | None) -> bool:
    if tenant_id is None:
        return False
    found = conn.execute(select(tenants.c.suspended).where(tenants.c.id == tenant_id)).scalar()
    return bool(found)


def signed_out_at(conn: Connection, user_id: int) -> int:
    """When the user last signed out (0 if never); older sessions are void."""
    found = conn.execute(
        select(web_signouts.c.time).where(web_signouts.c.user_id == user_id)
    ).scalar()
    return int(found or 0)


def sign_out(conn: Connection, user_id: int, now: int) -> None:
    """End every web session of the user that has started so far.

    Sessions begin after the last sign-out (see ``signed_out_at``), possibly a second ahead
    of the clock, so the mark only ever moves forward, past the latest of them."""
    where = web_signouts.c.user_id == user_id
    before = conn.execute(select(web_signouts.c.time).where(where)).scalar()
    if before is None:
        conn.execute(insert(web_signouts).values(user_id=user_id, time=now))
    else:
        conn.execute(update(web_signouts).where(where).values(time=max(now, int(before) + 1)))
