"""Keeping a serving process's memory flat.

glibc's allocator serves a large request (above its mmap threshold) with a mapping of its own
and unmaps it when freed, but each time such a block is freed it raises the threshold to that
block's size. After the first Argon2 hash (19 MiB) every later one is therefore carved from the
heap, and the heap keeps the pages: a worker that has created users holds tens of megabytes it
no longer uses (see BENCHMARKS.md, "Scale and workers"). Fixing the threshold at 1 MiB keeps
large buffers in mappings of their own, so they go back to the system as soon as they are
freed, while the small objects Python makes all the time stay on the heap as before.

Smaller blocks freed by a long request (the rows of a page of users, its answer) leave free
pages inside the heap that glibc keeps for later. :func:`give_back_free_pages` hands them back
(``malloc_trim``); the worker threads call it after a request that ran long, where its cost
(0.1 to 3 ms, without the GIL) is small beside the request's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable
from typing import cast

__all__ = ["MMAP_THRESHOLD_BYTES", "give_back_free_pages", "return_large_buffers"]

MMAP_THRESHOLD_BYTES = 1 << 20
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number in glibc's malloc.h

log = logging.getLogger("extapi.memory")


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def _trim() -> Callable[[int], int] | None:
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)  # glibc only
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast(Callable[[int], int], trim)


_MALLOC_TRIM = _trim()


def give_back_free_pages() -> bool:
    """Return the heap's free pages to the system; False where that does not apply (another
    C library or operating system) or nothing was returned."""
    return _MALLOC_TRIM is not None and bool(_MALLOC_TRIM(0))


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold for this process; False where that does not apply (another
    C library or operating system)."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)  # musl and others have none
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    if not done:
        log.debug("mallopt(M_MMAP_THRESHOLD) was refused; large buffers stay on the heap")
    return done
