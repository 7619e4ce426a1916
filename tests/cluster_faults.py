"""A Dask worker preload for the cluster tests (`dask worker --preload tests.cluster_faults`): faults at a
deterministic moment, the moment a worker starts analysing a page, asked for by a file the test puts in the folder
named by NEWSMIRROR_TEST_FAULTS.

The run pickles its task functions by name; this module puts its own in their place in the worker, so the run
under test is not changed at all (it may be a `newsmirror run` process of its own). Each page it analyses:

- leaves the worker's pid in `pids/` (which processes did the work);
- `kill-worker` there: the first worker to take it (an atomic rename) kills itself (SIGKILL) before it answers;
- `kill-workers` there: every worker that starts a page kills itself (a page no worker survives);
- `kill-scheduler` there, holding a pid and a number n: the worker that starts the run's n-th page (counted
  across the workers in `seen/`) kills that process (SIGKILL), then goes on with its page;
- `stop-scheduler` there, the same: stops it instead (SIGSTOP: its connections stay up, it answers nothing).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import newsmirror.pipeline.analyse as analyse_module

FAULTS_ENV = "NEWSMIRROR_TEST_FAULTS"


def _claim(folder: Path, name: str) -> str | None:
    """The content of folder/name if this process is the one to take it (renamed away: one taker), else None."""
    taken = folder / f"{name}.taken-by-{os.getpid()}"
    try:
        os.rename(folder / name, taken)
    except FileNotFoundError:
        return None
    return taken.read_text(encoding="utf-8")


def at_work() -> None:
    """What a page's analysis does first in a worker of the fault tests."""
    folder = Path(os.environ[FAULTS_ENV])
    (folder / "pids").mkdir(exist_ok=True)
    with open(folder / "pids" / f"{os.getpid()}", "a", encoding="utf-8") as f:
        f.write("page\n")
    if (folder / "kill-workers").exists() or _claim(folder, "kill-worker") is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    for name, sig in (("kill-scheduler", signal.SIGKILL), ("stop-scheduler", signal.SIGSTOP)):
        if (folder / name).exists() and _ordinal(folder / "seen") >= _nth(folder / name):
            order = _claim(folder, name)
            if order is not None:
                os.kill(int(order.split()[0]), sig)


def _nth(order: Path) -> int:
    try:
        return int(order.read_text(encoding="utf-8").split()[1])
    except (FileNotFoundError, IndexError):  # taken meanwhile by another worker
        return 1 << 30


def _ordinal(seen: Path) -> int:
    """This page's place among the pages the workers started (1, 2, …): the first free number, taken atomically."""
    seen.mkdir(exist_ok=True)
    n = 1
    while True:
        try:
            os.close(os.open(seen / str(n), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return n
        except FileExistsError:
            n += 1


def watched(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        at_work()
        return fn(*args, **kwargs)

    return wrapper


if os.environ.get(FAULTS_ENV):  # imported by a worker started for the fault tests (and never by the run itself)
    for name in ("analyse_page", "analyse_record"):
        if hasattr(analyse_module, name):
            setattr(analyse_module, name, watched(getattr(analyse_module, name)))
