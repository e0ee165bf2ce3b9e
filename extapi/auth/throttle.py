"""Counting failed sign-ins per key ("user:<name>", "ip:<address>"), safely in parallel.

An attempt first *claims* a slot: one atomic upsert per key adds it to the count before the
password is checked, so parallel guesses can not all slip in under the limit. Attempts past
the allowance are refused unchecked and lock the key. Afterwards the attempt is *settled*: a
success clears the name's count and gives the address its slot back; a failure that reaches
the allowance locks the key for ``BASE_LOCK_SECONDS``, doubling with every further failure up
to ``MAX_LOCK_SECONDS``.
"""

from __future__ import annotations

from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from extapi.db.tables import signin_throttle

__all__ = [
    "claim",
    "settle",
    "throttle_keys",
    "FREE_ATTEMPTS",
    "FREE_ATTEMPTS_PER_ADDRESS",
    "FORGET_SECONDS",
]

FREE_ATTEMPTS = 5
# One address may fail more often (several admins behind one proxy), and a success does not
# clear its count, so an attacker can not reset it by signing in to an account of their own.
FREE_ATTEMPTS_PER_ADDRESS = 20
FORGET_SECONDS = 15 * 60
BASE_LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 15 * 60

_t = signin_throttle.c


def throttle_keys(username: str, address: str) -> list[str]:
    """The name's key and the address's key, in a fixed order (rows are locked in it)."""
    return [f"ip:{address[:200]}", f"user:{username.strip().lower()[:200]}"]


def _free(key: str) -> int:
    return FREE_ATTEMPTS_PER_ADDRESS if key.startswith("ip:") else FREE_ATTEMPTS


def _lock_seconds(failures: int, free: int) -> int:
    over = failures - free
    return min(BASE_LOCK_SECONDS * 2**over, MAX_LOCK_SECONDS) if over >= 0 else 0


def _locked_for(conn: Connection, keys: list[str], now: int) -> int:
    rows = conn.execute(select(_t.locked_until).where(_t.key.in_(keys))).scalars()
    return max([until - now for until in rows] + [0])


def _count(conn: Connection, key: str, now: int) -> int:
    """Add one to the key's count (starting afresh after a quiet spell); the new count."""
    insert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    statement = insert(signin_throttle).values(
        key=key, failures=1, last_failure=now, locked_until=0
    )
    fresh = statement.excluded.last_failure - FORGET_SECONDS > _t.last_failure
    upsert = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": case((fresh, 1), else_=_t.failures + 1),
            "last_failure": statement.excluded.last_failure,
        },
    ).returning(_t.failures)
    return int(conn.execute(upsert).scalar_one())


def _lock(conn: Connection, key: str, seconds: int, now: int) -> None:
    conn.execute(update(signin_throttle).where(_t.key == key).values(locked_until=now + seconds))


def claim(conn: Connection, keys: list[str], now: int) -> int:
    """Claim an attempt for every key: 0 when it may go ahead, else the seconds to wait.

    Commit the claim before checking the password, so that parallel attempts see it."""
    wait = _locked_for(conn, keys, now)
    if wait > 0:
        return wait
    for key in keys:
        failures = _count(conn, key, now)
        if failures > _free(key):
            seconds = _lock_seconds(failures - 1, _free(key))
            _lock(conn, key, seconds, now)
            wait = max(wait, seconds)
    return wait


def settle(conn: Connection, keys: list[str], success: bool, now: int) -> None:
    """Record how a claimed attempt ended."""
    if success:
        address, name = keys
        conn.execute(delete(signin_throttle).where(_t.key == name))
        conn.execute(
            update(signin_throttle)
            .where(_t.key == address, _t.failures > 0)
            .values(failures=_t.failures - 1)
        )
        return
    for key in keys:
        failures = conn.execute(select(_t.failures).where(_t.key == key)).scalar()
        seconds = _lock_seconds(int(failures or 0), _free(key))
        if seconds:
            _lock(conn, key, seconds, now)
