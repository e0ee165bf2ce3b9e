"""Web sign-in: password check with lock-out and back-off after repeated failures.

Failures are counted per user name and per client address. After ``FREE_ATTEMPTS`` failures
within ``FORGET_SECONDS`` the key is locked for ``BASE_LOCK_SECONDS``, doubling with every
further failure up to ``MAX_LOCK_SECONDS``. While a key is locked the password is not even
checked, so guessing stops paying. Unknown users, wrong passwords, and accounts that may not
sign in all get the same answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from extapi.access.principal import Principal, has_capability, load_grants
from extapi.db.tables import signin_throttle, users, web_signouts
from extapi.errors import AuthenticationError
from extapi.people.passwords import hash_password, verify_password
from extapi.people.users import is_site_admin

__all__ = [
    "SignInRefused",
    "SignInLocked",
    "sign_in",
    "may_view_documentation",
    "sign_out",
    "signed_out_at",
    "FREE_ATTEMPTS",
    "FREE_ATTEMPTS_PER_ADDRESS",
    "INVALID_LOGIN",
]

FREE_ATTEMPTS = 5
# One address may fail more often (several admins behind one proxy), and a success does not
# clear its count, so an attacker can not reset it by signing in to an account of their own.
FREE_ATTEMPTS_PER_ADDRESS = 20
FORGET_SECONDS = 15 * 60
BASE_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 15 * 60
INVALID_LOGIN = "Invalid login, please try again"
_DUMMY_HASH = hash_password("extapi timing equaliser")


class SignInRefused(AuthenticationError):
    """Wrong name or password, or an account that may not use the web pages."""


class SignInLocked(SignInRefused):
    """Too many recent failures for this name or address."""


def _keys(username: str, address: str) -> list[str]:
    return [f"user:{username.strip().lower()[:200]}", f"ip:{address[:200]}"]


def _locked_for(conn: Connection, keys: list[str], now: int) -> int:
    rows = conn.execute(
        select(signin_throttle.c.locked_until).where(signin_throttle.c.key.in_(keys))
    ).scalars()
    return max([until - now for until in rows] + [0])


def _record_failure(conn: Connection, key: str, now: int) -> None:
    row = conn.execute(select(signin_throttle).where(signin_throttle.c.key == key)).first()
    failures = 1 if row is None or now - row.last_failure > FORGET_SECONDS else row.failures + 1
    free = FREE_ATTEMPTS_PER_ADDRESS if key.startswith("ip:") else FREE_ATTEMPTS
    over = failures - free
    locked_until = now + min(BASE_LOCK_SECONDS * 2 ** (over), MAX_LOCK_SECONDS) if over >= 0 else 0
    values = {"failures": failures, "last_failure": now, "locked_until": locked_until}
    if row is None:
        conn.execute(insert(signin_throttle).values(key=key, **values))
    else:
        conn.execute(update(signin_throttle).where(signin_throttle.c.key == key).values(**values))


def may_view_documentation(conn: Connection, user_id: int, tenant_id: int | None) -> bool:
    principal = Principal(user_id, tenant_id, loader=lambda: load_grants(conn, user_id))
    return has_capability(principal, "totara/api:viewdocumentation", tenant_id)


def _may_sign_in(conn: Connection, user: Any) -> bool:
    if user.deleted or user.suspended:
        return False
    return is_site_admin(conn, user.id) or may_view_documentation(conn, user.id, user.tenant_id)


def sign_in(conn: Connection, username: str, password: str, address: str, now: int) -> Any:
    """The user row for a correct sign-in; raises SignInLocked or SignInRefused otherwise.

    Failures are recorded by the caller's transaction, so the caller must commit even when
    this raises (``extapi.web`` does)."""
    keys = _keys(username, address)
    wait = _locked_for(conn, keys, now)
    if wait > 0:
        minutes = (wait + 59) // 60
        raise SignInLocked(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
    user = conn.execute(select(users).where(users.c.username == username.strip().lower())).first()
    stored = user.password if user is not None and user.password else _DUMMY_HASH
    good = verify_password(stored, password) and user is not None and _may_sign_in(conn, user)
    if not good:
        for key in keys:
            _record_failure(conn, key, now)
        raise SignInRefused(INVALID_LOGIN)
    conn.execute(delete(signin_throttle).where(signin_throttle.c.key == keys[0]))
    return user


def signed_out_at(conn: Connection, user_id: int) -> int:
    """When the user last signed out (0 if never); older sessions are void."""
    found = conn.execute(
        select(web_signouts.c.time).where(web_signouts.c.user_id == user_id)
    ).scalar()
    return int(found or 0)


def sign_out(conn: Connection, user_id: int, now: int) -> None:
    """End every web session of the user that started up to ``now``."""
    where = web_signouts.c.user_id == user_id
    if conn.execute(select(web_signouts.c.user_id).where(where)).first() is None:
        conn.execute(insert(web_signouts).values(user_id=user_id, time=now))
    else:
        conn.execute(update(web_signouts).where(where).values(time=now))
