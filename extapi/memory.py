"""Keeping a serving process's memory flat.

glibc's allocator serves a large request (above its mmap threshold) with a mapping of its own
and unmaps it when freed, but each time such a block is freed it raises the threshold to that
block's size. After the first Argon2 hash (19 MiB) every later one is therefore carved from the
heap, and the heap keeps the pages: a worker that has created users holds tens of megabytes it
no longer uses (see BENCHMARKS.md, "Scale and workers"). Fixing the threshold at 1 MiB keeps
large buffers in mappings of their own, so they go back to the system as soon as they are
freed, while the small objects Python makes all the time stay on the heap as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

__all__ = ["MMAP_THRESHOLD_BYTES", "return_large_buffers"]

MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h

log = logging.getLogger("extapi.memory")


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold for this process; False where that does not apply (another
    C library or operating system)."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) was refused; large buffers stay on the heap")
    return done
