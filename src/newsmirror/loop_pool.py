"""Worker processes whose answers the event loop reads itself: the pool of the fetch phases (workers.Calls).

concurrent.futures' ProcessPoolExecutor hands each task to its workers and each answer back through two threads of
the run: one that pickles tasks into a shared queue, one that waits on the workers, unpickles their answers and
wakes the event loop through a pipe of its own. Here each worker has a pipe of its own, which the event loop
watches (loop.add_reader): a worker is sent its next task as it answers the last, its answer is read as it comes,
and nothing else runs beside the loop, nor waits for the interpreter's lock. Measured (callgrind, the fetch phase
of 1,000 pages): 48k fewer instructions a page in the run's process, 3.5% of them.

As with the executor: a worker that dies (killed for lack of memory) breaks the pool; every call waiting on it, and
every later one, fails with BrokenProcessPool; shutting the pool down lets the workers finish what they hold.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

START_METHOD = "fork"  # how workers start: forked (nothing imported again); "spawn" for a tool that must not trace them
STOP = b""  # what tells a worker to exit once it is done with its task
SHUTDOWN_SECONDS = 60  # how long a worker may take to finish its task when the pool shuts down, before it is killed
BROKEN = ("A process in the process pool was terminated abruptly while the future was running or pending.")


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    task: asyncio.Future | None = None  # what it is working on, if anything

    @property
    def fds(self) -> tuple[int, int]:
        """What the loop watches for it: its pipe (an answer) and its process (its end)."""
        return self.conn.fileno(), self.process.sentinel


def _serve(conn: Connection, others: list[int], initializer: Callable[..., None], initargs: tuple) -> None:
    """A worker: run each task it is sent, `fn(payload)`, and send back (True, result) or (False, the error)."""
    for fd in others:  # the pipes of the workers forked before it are theirs
        try:
            os.close(fd)
        except OSError:
            pass
    initializer(*initargs)
    while True:
        try:
            blob = conn.recv_bytes()
        except (EOFError, OSError):  # the run is gone
            return
        if blob == STOP:
            return
        try:
            fn, payload = pickle.loads(blob)
            answer = pickle.dumps((True, fn(payload)), pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 (the task's own failure: its caller decides)
            from .workers import portable

            answer = pickle.dumps((False, portable(exc)), pickle.HIGHEST_PROTOCOL)
        conn.send_bytes(answer)


class LoopPool:
    """`await pool.submit(fn, payload)`: fn(payload) in one of `workers` forked processes (each started with
    initializer(*initargs)); the answers are read by the event loop of the caller."""

    def __init__(self, workers: int, initializer: Callable[..., None], initargs: tuple = ()) -> None:
        ctx = multiprocessing.get_context(START_METHOD)
        forked = START_METHOD == "fork"
        self._workers: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._queue: deque[tuple[bytes, asyncio.Future]] = deque()  # tasks waiting for a worker
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broken = False
        self._shut = False
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, daemon=True,
                               args=(theirs, [w.conn.fileno() for w in self._workers] + [mine.fileno()] if forked
                                     else [], initializer, initargs))
            proc.start()
            theirs.close()
            worker = _Worker(proc, mine)
            self._workers.append(worker)
            self._idle.append(worker)

    @property
    def width(self) -> int:
        return len(self._workers)

    def submit(self, fn: Callable[[Any], Any], payload: Any) -> asyncio.Future:
        """fn(payload) in a worker: a future of the event loop running this (raises BrokenProcessPool, or
        RuntimeError once the pool is shut down)."""
        if self._broken:
            raise BrokenProcessPool(BROKEN)
        if self._shut:
            raise RuntimeError("cannot schedule new futures after shutdown")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._watch(loop)
        fut = loop.create_future()
        self._queue.append((pickle.dumps((fn, payload), pickle.HIGHEST_PROTOCOL), fut))
        self._feed()
        return fut

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the workers' pipes (their answers) and processes (their deaths) from `loop`."""
        self._unwatch()
        self._loop = loop
        for w in self._workers:
            answers, end = w.fds
            loop.add_reader(answers, self._answered, w)
            loop.add_reader(end, self._died, w)

    def _unwatch(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            for w in self._workers:
                for fd in w.fds:
                    self._loop.remove_reader(fd)
        self._loop = None

    def _feed(self) -> None:
        """Hand the waiting tasks to the idle workers, one each (a worker's pipe then never holds more than it reads
        at once: the write does not wait on its work)."""
        while self._queue and self._idle and not self._broken:
            blob, fut = self._queue.popleft()
            if fut.done():  # its caller gave up meanwhile
                continue
            w = self._idle.popleft()
            w.task = fut
            try:
                w.conn.send_bytes(blob)
            except OSError:  # it died: its sentinel says so too
                self._died(w)

    def _answered(self, w: _Worker) -> None:
        try:
            ok, value = pickle.loads(w.conn.recv_bytes())
        except (EOFError, OSError):
            self._died(w)
            return
        fut, w.task = w.task, None
        _settle(fut, value) if ok else _settle(fut, error=value)
        if not self._shut:
            self._idle.append(w)
            self._feed()

    def _died(self, w: _Worker) -> None:
        """A worker is gone: the pool is broken, as the executor's is (every waiting call fails)."""
        if self._broken or (self._shut and w.task is None):
            return
        self._broken = True
        self._unwatch()
        waiting = [f for f in [*(x.task for x in self._workers), *(f for _, f in self._queue)] if f is not None]
        self._queue.clear()
        for x in self._workers:
            x.task = None
            if x.process.is_alive():
                x.process.kill()
        for f in waiting:
            _settle(f, error=BrokenProcessPool(BROKEN))

    def shutdown(self, cancel_futures: bool = True) -> None:
        """Stop the workers once they have finished their tasks (killed after SHUTDOWN_SECONDS); the tasks not
        begun are cancelled."""
        if self._shut:
            return
        self._shut = True
        self._unwatch()
        for _, fut in self._queue:
            fut.cancel()
        self._queue.clear()
        for w in self._workers:
            try:
                w.conn.send_bytes(STOP)
            except OSError:
                pass
        for w in self._workers:
            w.process.join(SHUTDOWN_SECONDS)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            w.conn.close()
            if w.task is not None:
                _settle(w.task, _CANCEL)


_CANCEL = object()


def _settle(fut: asyncio.Future | None, result: Any = None, error: BaseException | None = None) -> None:
    """Give `fut` its result, or its error, or (result _CANCEL) cancel it: unless it is settled already, or its
    event loop is closed (a task of an earlier loop: nobody waits for it any more)."""
    if fut is None or fut.done():
        return
    try:
        if error is not None:
            fut.set_exception(error)
        elif result is _CANCEL:
            fut.cancel()
        else:
            fut.set_result(result)
    except RuntimeError:
        pass
