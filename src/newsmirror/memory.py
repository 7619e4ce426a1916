"""Memory the run no longer uses, handed back to the OS before worker processes are forked from it."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache


@cache
def _malloc_trim():  # -> the C function, or None where the C library has none (not glibc)
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Collect garbage, and ask the C library to return the heap pages it holds free (glibc's malloc_trim).

    Python's allocator hands whole free arenas back by itself, but the C heap (large strings and bytes,
    libxml2's and SQLite's buffers) keeps what was freed between phases of a run: a worker forked then
    starts with those pages too, and the run's memory counts them in every process."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
