"""A serving process gives large freed buffers (password hashes) back to the system."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from extapi.memory import return_large_buffers
from extapi.people.passwords import hash_password

def rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

fixed = return_large_buffers() if sys.argv[1] == "fixed" else None
hash_password("warm up")
before = rss_kib()
for i in range(8):
    hash_password(f"password {i}")
print(fixed, rss_kib() - before)
"""


def _growth_kib(mode: str) -> tuple[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_hash_buffers_are_returned_once_the_threshold_is_fixed() -> None:
    # given a process that fixed the mmap threshold, when it hashes passwords,
    fixed, growth = _growth_kib("fixed")
    # then the 19 MiB each hash used is not kept.
    assert fixed == "True"
    assert growth < 8 * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_without_it_the_heap_keeps_a_hash_buffer() -> None:
    # The control: the growth the fix removes is real on this system.
    _, growth = _growth_kib("default")
    assert growth > 12 * 1024
