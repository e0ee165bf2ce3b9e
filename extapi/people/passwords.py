"""Password hashing with Argon2id; hashes never leave the storage layer.

Parameters follow OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane): a hash costs
about 20 ms and 19 MiB, so a worker stays small even while an HR system creates users with
passwords. Hashes made with other parameters still verify, since each hash records its own.

A process hashes (or verifies) one password at a time: four worker threads creating users at
once would otherwise hold four 19 MiB buffers together (76 MiB on top of the worker). The cost
is throughput when creations arrive together in one worker: on 2 cores, 4 threads hashing
freely made 23 hashes/s, one at a time 15-20 (BENCHMARKS.md, "Peak RSS per worker").
"""

from __future__ import annotations

import threading
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_password", "verify_password"]


_ONE_AT_A_TIME = threading.Lock()


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    with _ONE_AT_A_TIME:
        return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    if not stored:
        return False
    try:
        with _ONE_AT_A_TIME:
            return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
