"""Calls to worker processes: gathered into batches, each answer (or error) back to its own caller; the same from
concurrent.futures' executor and from the LoopPool whose answers the event loop reads (`in_loop`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from newsmirror.loop_pool import LoopPool
from newsmirror.workers import Calls, worker_pool

IN_LOOP = pytest.mark.parametrize("in_loop", [False, True], ids=["executor", "loop-pool"])


def square_in(x: int) -> tuple[int, int]:
    if x == 13:
        raise ValueError("thirteen is refused")
    return x * x, os.getpid()


async def call_all(calls: Calls, xs: list[int]) -> list:
    return await asyncio.gather(*(calls(square_in, x) for x in xs), return_exceptions=True)


@IN_LOOP
def test_calls_made_together_travel_in_batches_and_each_gets_its_own_answer(in_loop):
    with worker_pool(1000, in_loop) as pool:
        assert pool is not None
        calls = Calls(pool, batch=8)
        out = asyncio.run(call_all(calls, list(range(20, 60))))
    assert [r[0] for r in out] == [x * x for x in range(20, 60)]
    assert os.getpid() not in {r[1] for r in out}  # done by the workers
    assert calls.tasks == 5  # 40 calls, 8 to a task


@IN_LOOP
def test_an_error_reaches_only_the_call_that_raised_it(in_loop):
    with worker_pool(1000, in_loop) as pool:
        out = asyncio.run(call_all(Calls(pool, batch=8), [11, 12, 13, 14]))
    assert [r[0] for r in out if not isinstance(r, Exception)] == [121, 144, 196]
    assert isinstance(out[2], ValueError) and "thirteen" in str(out[2])


@IN_LOOP
def test_a_part_batch_goes_after_the_delay(in_loop):
    async def go(calls: Calls) -> list:
        first = await call_all(calls, [1, 2, 3])  # fewer than a batch: nothing else comes
        second = await call_all(calls, [4])
        return first + second

    with worker_pool(1000, in_loop) as pool:
        calls = Calls(pool, batch=8, delay=0.01)
        out = asyncio.run(asyncio.wait_for(go(calls), 30))
    assert [r[0] for r in out] == [1, 4, 9, 16]
    assert calls.tasks == 2


def test_without_a_pool_a_call_runs_in_place():
    calls = Calls(None)
    out = asyncio.run(call_all(calls, [5, 13]))
    assert out[0] == (25, os.getpid())
    assert isinstance(out[1], ValueError)
    assert calls.tasks == 0


@IN_LOOP
def test_a_pool_that_is_shut_down_fails_its_callers_instead_of_leaving_them_waiting(in_loop):
    with worker_pool(1000, in_loop) as pool:
        pass
    with pytest.raises(RuntimeError):
        asyncio.run(asyncio.wait_for(Calls(pool, batch=1)(square_in, 2), 30))


class Unbuildable(Exception):
    """Pickles, but cannot be rebuilt from its args (its __init__ wants two)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = __import__("threading").Lock()


def raise_odd(x: int) -> int:
    if x == 1:
        raise Unbuildable("a", "b")
    if x == 2:
        raise Unpicklable()
    return x * 10


async def call_odd(calls: Calls, xs: list[int]) -> list:
    return await asyncio.gather(*(calls(raise_odd, x) for x in xs), return_exceptions=True)


@IN_LOOP
def test_an_error_that_cannot_make_the_trip_back_fails_only_its_call_and_not_the_pool(in_loop):
    with worker_pool(1000, in_loop) as pool:
        calls = Calls(pool, batch=8)
        out = asyncio.run(call_odd(calls, [0, 1, 2, 3]))
        again = asyncio.run(call_odd(calls, [4, 5]))  # the pool still works
    assert out[0] == 0 and out[3] == 30
    assert isinstance(out[1], RuntimeError) and "Unbuildable: a/b" in str(out[1])
    assert isinstance(out[2], RuntimeError) and "Unpicklable: holds a lock" in str(out[2])
    assert again == [40, 50]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
def test_a_worker_whose_run_died_before_it_asked_to_die_with_it_stops_at_once():
    """A worker asks the kernel to kill it with the run as it starts; a run killed just before that would not
    take it along. The worker then finds it has another parent and stops (here: the run it names is not it)."""
    code = ("import os, sys; from newsmirror.workers import _worker_init; "
            "_worker_init([], int(sys.argv[1])); print('working')")
    gone = subprocess.run([sys.executable, "-c", code, "1"], capture_output=True, text=True)
    assert gone.returncode != 0 and gone.stdout == ""
    ours = subprocess.run([sys.executable, "-c", code, str(os.getpid())], capture_output=True, text=True)
    assert ours.returncode == 0 and ours.stdout == "working\n"  # started by the run it names: it works


def pid_then_wait(x: float) -> int:
    import time

    time.sleep(x)
    return os.getpid()


def test_the_loop_pool_answers_without_a_thread_beside_the_event_loop():
    import threading

    async def go(calls: Calls) -> tuple[list, int]:
        running = asyncio.ensure_future(call_all(calls, list(range(30))))
        while not calls.tasks:  # (until a batch is sent)
            await asyncio.sleep(0)
        threads = threading.active_count()
        return await running, threads

    before = threading.active_count()  # (the test process's own, whatever earlier tests left)
    with worker_pool(1000, in_loop=True) as pool:
        assert isinstance(pool, LoopPool)
        out, threads = asyncio.run(asyncio.wait_for(go(Calls(pool, batch=4)), 30))
    assert [r[0] for r in out if not isinstance(r, Exception)] == [x * x for x in range(30) if x != 13]
    assert threads == before  # none started for the pool
    with worker_pool(1000) as executor:  # (where concurrent.futures' executor starts two)
        _, threads = asyncio.run(asyncio.wait_for(go(Calls(executor, batch=4)), 30))
    assert threads > before


def test_a_loop_pool_worker_killed_mid_task_fails_its_calls_and_every_later_one():
    from concurrent.futures.process import BrokenProcessPool

    async def go(calls: Calls) -> tuple[list, BaseException | None]:
        first = asyncio.gather(*(calls(pid_then_wait, 0.05) for _ in range(4)))
        pids = await first
        slow = asyncio.ensure_future(calls(pid_then_wait, 30))
        await asyncio.sleep(0.3)  # (it is being worked on: the kill below lands mid-task)
        for p in set(pids):
            os.kill(p, signal.SIGKILL)
        try:
            await asyncio.wait_for(slow, 20)
        except BrokenProcessPool as exc:
            err = exc
        else:
            err = None
        later = await asyncio.gather(calls(pid_then_wait, 0), return_exceptions=True)
        return later, err

    with worker_pool(1000, in_loop=True) as pool:
        later, err = asyncio.run(go(Calls(pool, batch=1, delay=0)))
    assert isinstance(err, BrokenProcessPool)
    assert isinstance(later[0], BrokenProcessPool)


def test_a_loop_pool_shut_down_leaves_no_worker_behind():
    with worker_pool(1000, in_loop=True) as pool:
        out = asyncio.run(asyncio.wait_for(call_all(Calls(pool, batch=2), [2, 3]), 30))
        procs = [w.process for w in pool._workers]
        assert {r[1] for r in out} <= {p.pid for p in procs}
        assert all(p.is_alive() for p in procs)
    assert not any(p.is_alive() for p in procs)


def test_a_dask_task_is_pickled_by_name_unless_something_in_it_cannot_be(monkeypatch):
    """task_blob: Python's pickle for what it can name (the pages of a task at half cloudpickle's cost), cloudpickle
    for a lambda or a local function, and for anything named in __main__ (a worker's __main__ is not the run's)."""
    import pickle

    import cloudpickle

    from newsmirror.workers import _run_batch, task_blob

    used: list[str] = []

    def by_value(obj: object, protocol: int) -> bytes:
        used.append("cloudpickle")
        return cloudpickle.dumps(obj, protocol=protocol)

    named = task_blob(_run_batch, ([(square_in, (3,))],), by_value)
    assert used == [] and named == pickle.dumps((_run_batch, ([(square_in, (3,))],)), pickle.HIGHEST_PROTOCOL)
    fn, args = pickle.loads(named)
    assert fn(*args)[0][1][0] == 9

    def local(x: int) -> int:
        return x + 1

    for odd in (local, lambda x: x + 1):
        fn, args = pickle.loads(task_blob(_run_batch, ([(odd, (1,))],), by_value))
        assert fn(*args) == [(True, 2)]
    assert used == ["cloudpickle", "cloudpickle"]
    def helper(x: int) -> int:  # what a script's own function looks like to pickle: named in __main__
        return x

    helper.__module__, helper.__qualname__ = "__main__", "nm_test_helper"
    monkeypatch.setattr(sys.modules["__main__"], "nm_test_helper", helper, raising=False)
    assert b"__main__" in pickle.dumps(helper)  # (pickle itself would name it so)
    task_blob(_run_batch, ([(helper, (1,))],), by_value)
    assert used == ["cloudpickle"] * 3
