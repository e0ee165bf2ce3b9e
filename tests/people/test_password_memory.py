"""A process hashes one password at a time, so concurrent creations never hold several
19 MiB Argon2 buffers together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from extapi.people import passwords


class _Recording:
    """Stands in for the Argon2 hasher; notes whether the one-at-a-time lock was held."""

    def __init__(self) -> None:
        self.held: list[bool] = []

    def hash(self, password: str) -> str:
        self.held.append(passwords._ONE_AT_A_TIME.locked())
        return "$argon2id$" + password

    def verify(self, stored: str, password: str) -> bool:
        self.held.append(passwords._ONE_AT_A_TIME.locked())
        return stored == "$argon2id$" + password


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> _Recording:
    fake = _Recording()
    monkeypatch.setattr(passwords, "_hasher", lambda: fake)
    return fake


def test_every_hash_and_check_holds_the_lock(recording: _Recording) -> None:
    # given worker threads, when they hash and check passwords together,
    with ThreadPoolExecutor(4) as pool:
        hashes = list(pool.map(passwords.hash_password, [f"pw{i}" for i in range(20)]))
        checks = list(pool.map(passwords.verify_password, hashes, [f"pw{i}" for i in range(20)]))
    # then each ran while holding the process's one lock, and the lock is free after.
    assert checks == [True] * 20
    assert recording.held == [True] * 40
    assert not passwords._ONE_AT_A_TIME.locked()


def test_a_failed_check_frees_the_lock() -> None:
    # given a stored value that is not a hash, when it is checked, then the answer is no
    # and the next hash is not held up.
    assert passwords.verify_password("not a hash", "pw") is False
    assert not passwords._ONE_AT_A_TIME.locked()
    assert passwords.verify_password(passwords.hash_password("pw"), "pw")
