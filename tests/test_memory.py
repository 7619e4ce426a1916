"""memory: what the C library does with the memory a process frees."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from newsmirror.memory import keep_heap_for_reuse

# a process that allocates and frees a megabyte a hundred times, printing the pages of memory it faulted in meanwhile
FAULTS = """
import resource
{setup}
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    block = bytearray(1 << 20)  # (filled with zeros: every page of it written)
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(setup: str) -> int:
    """FAULTS run as a Dask worker starts: with MALLOC_TRIM_THRESHOLD_=65536 (distributed's nanny.pre-spawn-environ)."""
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", FAULTS.format(setup=setup)], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    return int(out.stdout)


@pytest.mark.parametrize("setup", [
    "from newsmirror.memory import keep_heap_for_reuse; assert keep_heap_for_reuse()",
    # what `dask worker --preload newsmirror.pipeline.analyse` runs as it starts (README)
    "from newsmirror.pipeline.analyse import dask_setup; dask_setup(None)",
])
def test_a_dask_worker_keeps_the_memory_a_page_frees_for_the_next(setup: str) -> None:
    assert keep_heap_for_reuse()  # (glibc: where it cannot be told, the function says so)
    as_dask_sets_it = faults("")
    assert as_dask_sets_it > 100 * 200  # each megabyte mapped afresh: 256 pages faulted in each time
    assert faults(setup) < 1_000  # mapped once, then reused
