"""Memory the run no longer uses, handed back to the OS before worker processes are forked from it; and a Dask
worker's heap kept for its next page instead of handed back after each."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import cache
from typing import Any


@cache
def _libc_function(name: str) -> Any:
    """The C library's function `name`, or None where it has none (not glibc)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Collect garbage, and ask the C library to return the heap pages it holds free (glibc's malloc_trim).

    Python's allocator hands whole free arenas back by itself, but the C heap (large strings and bytes,
    libxml2's and SQLite's buffers) keeps what was freed between phases of a run: a worker forked then
    starts with those pages too, and the run's memory counts them in every process."""
    gc.collect()
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (glibc's malloc.h)
REUSE_BYTES = 4 << 20  # blocks up to this size come from the heap, and go back to it
KEEP_BYTES = 8 << 20  # free memory at the heap's top handed back to the OS past this


def keep_heap_for_reuse() -> bool:
    """Have the C library keep freed memory for the next allocations (glibc's mallopt), as it does by default; False
    where it cannot be told (not glibc).

    A Dask worker that a nanny starts (`dask worker`, a local cluster) has MALLOC_TRIM_THRESHOLD_=65536 in its
    environment (distributed's `nanny.pre-spawn-environ`), which makes glibc hand back every 64 KB freed at the top
    of its heap and map each block over 128 KB afresh: the memory a page's analysis frees is faulted in again for
    the next, ~75 pages of 4 KB a page (2-3 with glibc's defaults), ~8% more CPU a page. Past this call, blocks up
    to REUSE_BYTES come from the heap and up to KEEP_BYTES of free memory stay at its top (a worker's memory holds
    that much more at most), as in a process with glibc's defaults once its buffers have grown."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, REUSE_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
