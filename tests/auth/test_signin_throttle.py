"""Sign-in lock-out under parallel guessing, sign-out marks, and who may sign in."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from extapi.access.roles import assign_role
from extapi.auth.signin import (
    SignInLocked,
    SignInRefused,
    sign_in,
    sign_out,
    signed_out_at,
)
from extapi.auth.throttle import FREE_ATTEMPTS
from extapi.db.tables import signin_throttle
from extapi.people.tenants import set_tenant_suspended
from extapi.runtime import Runtime
from tests.factories import make_tenant, make_user

PASSWORD = "Reader-pass-1"


@pytest.fixture
def reader(runtime: Runtime) -> int:
    """A user who may sign in to read the documentation."""
    user_id = make_user(runtime, "reader", password=PASSWORD)
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", user_id, None)
    return user_id


def test_parallel_guesses_can_not_exceed_the_allowance(runtime: Runtime, reader: int) -> None:
    # Given twenty guesses of a wrong password sent at once
    outcomes: list[str] = []
    now = int(time.time())

    def guess() -> None:
        try:
            sign_in(runtime.engine, "reader", "wrong", "10.0.0.1", now)
        except SignInLocked:
            outcomes.append("locked")
        except SignInRefused:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then every guess was answered (no error from two first failures at once), at most the
    # allowance had its password checked, and the right password is now refused too
    assert len(outcomes) == 20
    assert outcomes.count("checked") <= FREE_ATTEMPTS
    with runtime.engine.connect() as conn:
        count = conn.execute(
            select(signin_throttle.c.failures).where(signin_throttle.c.key == "user:reader")
        ).scalar_one()
    assert count >= FREE_ATTEMPTS
    with pytest.raises(SignInLocked):
        sign_in(runtime.engine, "reader", PASSWORD, "10.0.0.1", now)


def test_a_success_gives_the_address_its_attempt_back(runtime: Runtime, reader: int) -> None:
    now = int(time.time())
    for _ in range(30):
        sign_in(runtime.engine, "reader", PASSWORD, "10.0.0.2", now)
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(signin_throttle.c.key, signin_throttle.c.failures)).all()
    assert [tuple(r) for r in rows] == [("ip:10.0.0.2", 0)]


def test_sign_out_marks_only_move_forward(runtime: Runtime, reader: int) -> None:
    # Given a sign-out, a session begun just after it, and a second sign-out in the same second
    now = int(time.time())
    with runtime.engine.begin() as conn:
        sign_out(conn, reader, now)
        started = signed_out_at(conn, reader) + 1
        sign_out(conn, reader, now)
        # Then the session that began between them is over
        assert signed_out_at(conn, reader) >= started


def test_members_of_a_suspended_tenant_can_not_sign_in(runtime: Runtime) -> None:
    tenant = make_tenant(runtime, "acme")
    member = make_user(runtime, "member", password=PASSWORD, tenant_id=tenant)
    with runtime.engine.begin() as conn:
        assign_role(conn, "apiuser", member, tenant)
    now = int(time.time())
    assert sign_in(runtime.engine, "member", PASSWORD, "10.0.0.3", now).id == member
    with runtime.engine.begin() as conn:
        set_tenant_suspended(conn, tenant, True)
    with pytest.raises(SignInRefused):
        sign_in(runtime.engine, "member", PASSWORD, "10.0.0.3", now)
