"""Worker processes for the CPU-bound work of a run (analysing pages, images, rendering).

- `worker_pool(n)`: a forked process pool when there is enough work to pay for it, else None; for the fetch
  phases a LoopPool (loop_pool: its answers read by the event loop, no threads), for the build the executor.
- `Calls`: how the fetch stages hand work to the pool. Each page or image is one call, but the
  calls that arrive together travel as one task: a task costs the run's one busy process its pickling, a
  pipe each way and a turn of the event loop (with concurrent.futures' executor, a thread hand-off each way
  too), more than some calls themselves. Without a pool, a call simply runs in place.
- `DaskPool`: the same batches on a Dask cluster ([workers] engine = "dask"), for `Calls` to hand work to
  as it does to the process pool: the task functions are the same; they get bytes and return results,
  and touch neither the store nor the tree, which stay with the run.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from . import loop_pool
from .config_check import ConfigError
from .errors import ClusterLost
from .loop_pool import LoopPool
from .memory import release_free_memory

# the module a Dask worker preloads (README: `dask worker --preload newsmirror.pipeline.analyse`): the extractor
# imported once as it starts, and its dask_setup run
PRELOAD = "newsmirror.pipeline.analyse"
PARALLEL_FROM = 200  # pages or articles: below this, a worker pool costs more than it saves


def pool_size() -> int:
    return min(os.cpu_count() or 1, 8)


@contextmanager
def worker_pool(n_items: int, in_loop: bool = False) -> Iterator[ProcessPoolExecutor | LoopPool | None]:
    """Worker processes for CPU-bound work (extraction; Markdown and QR codes) when there is much of it.

    Forked, so nothing is imported again; None (work inline) for small jobs or where fork is missing. `in_loop`:
    a LoopPool, whose answers the caller's event loop reads (the fetch phases, through Calls); else concurrent.futures'
    executor (its `map` for the build).
    """
    workers = pool_size()
    if n_items < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    release_free_memory()  # what the last phase freed is not copied into every worker
    # what the run holds now is shared with the workers it forks: kept out of their garbage collections, which
    # would otherwise write to every object and so give each worker its own copy of the pages they live on.
    # It stays frozen after the pool: most of it (modules, config, store) lives as long as the run, and each
    # later collection, automatic or before the next pool, then scans only what was made since
    gc.freeze()
    # (a spawned worker has none of the run's descriptors: numbers to close would be others')
    initargs = (LOCK_FDS.copy() if not in_loop or loop_pool.START_METHOD == "fork" else [], os.getpid())
    pool: ProcessPoolExecutor | LoopPool = (
        LoopPool(workers, _worker_init, initargs) if in_loop else
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=_worker_init,
                            initargs=initargs))
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


# while workers are at work, the run's young garbage is collected every YOUNG_OBJECTS new container objects, not
# Python's 700: a page's fetch leaves a few dozen behind (futures, tasks, a response), so at 700 the run collected
# every 15 pages (274 collections for 4,000 pages, 7% of its CPU); what cyclic garbage waits meanwhile is a few MB
YOUNG_OBJECTS = 20_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """The block runs with the young generation's threshold at YOUNG_OBJECTS (or Python's, if higher)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], YOUNG_OBJECTS), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


LOCK_FDS: list[int] = []  # the run lock's descriptor: workers must not keep it (nor outlive the run)


def _worker_init(lock_fds: list[int], run_pid: int) -> None:
    for fd in lock_fds:
        try:
            os.close(fd)  # a forked worker shares the parent's flock; closing its copy keeps the lock the run's
        except OSError:
            pass
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the run's to handle (cli._ctrl_c); a worker dies with it
    try:  # Linux: die with the run, even when it is killed with SIGKILL
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != run_pid:  # the run died before the kernel was asked: it would not be told
        os._exit(1)


def _run_batch(calls: list[tuple[Callable[..., Any], tuple]]) -> list[tuple[bool, Any]]:
    """In a worker: each call's result, or the exception it raised (which goes back to that call alone)."""
    out: list[tuple[bool, Any]] = []
    for fn, args in calls:
        try:
            out.append((True, fn(*args)))
        except Exception as exc:  # noqa: BLE001 (handed to the caller, which decides)
            out.append((False, portable(exc)))
    return out


def _run_pickled(blob: bytes) -> Any:
    """On a Dask worker: the call DaskPool.submit pickled (fn, args), run. The scheduler hands a task's arguments on
    as it got them, and unpickles them first: as one bytes object they cost it a copy, not the pages' objects."""
    fn, args = pickle.loads(blob)
    return fn(*args)


def task_blob(fn: Callable[..., Any], args: tuple, by_value: Callable[..., bytes]) -> bytes:
    """(fn, args) pickled for a Dask worker, which runs it with _run_pickled: by Python's pickle, which names the
    functions (as cloudpickle does those it can import) at half cloudpickle's cost for a task's pages; by
    `by_value` (cloudpickle) when something in it cannot be named so (a lambda, a function of a test) or would be
    named in __main__, which a worker's is not."""
    try:
        blob = pickle.dumps((fn, args), pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError):
        return by_value((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
    return by_value((fn, args), protocol=pickle.HIGHEST_PROTOCOL) if b"__main__" in blob else blob


def portable(exc: Exception) -> Exception:
    """`exc` if it survives the trip back from a worker, else a RuntimeError that says what it was. One that
    does not pickle would fail its whole batch; one that pickles but cannot be rebuilt would break the pool."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 (any failure to make the trip)
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class Calls:
    """`await calls(fn, *args)`: fn(*args) in a worker process of `pool`, or here when `pool` is None.

    Calls made while others wait are gathered: a batch goes to the pool once it holds `batch` calls, or
    `delay` seconds after its first call, whichever comes first. `fn` and its arguments must pickle. `ahead`:
    batches the caller keeps waiting beyond one for each worker (`window`).
    """

    def __init__(self, pool: ProcessPoolExecutor | LoopPool | DaskPool | None, batch: int = 8,
                 delay: float = 0.002, ahead: int = 0) -> None:
        self.pool = pool
        self.batch = batch
        self.delay = delay
        self.ahead = ahead
        self.tasks = 0  # batches sent to the pool
        self._waiting: list[tuple[Callable[..., Any], tuple, asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def width(self) -> int:
        """Calls run at once elsewhere: the pool's workers (0 without a pool: they run in place)."""
        if self.pool is None:
            return 0
        return self.pool.width if isinstance(self.pool, DaskPool) else pool_size()

    @property
    def window(self) -> int:
        """Calls worth keeping waiting for the pool at once: a batch for each worker, and `ahead` batches more."""
        return self.batch * (self.width + self.ahead)

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.pool is None:
            return fn(*args)
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiting.append((fn, args, fut))
        if len(self._waiting) >= self.batch:
            self._send()
        elif self._timer is None:
            self._timer = loop.call_later(self.delay, self._send)
        return await fut

    def _send(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, []
        if not waiting:
            return
        assert self.pool is not None
        loop = asyncio.get_running_loop()
        futures = [f for _, _, f in waiting]
        try:
            task = self.pool.submit(_run_batch, [(fn, args) for fn, args, _ in waiting])
        except RuntimeError as exc:  # a broken or shut-down pool
            for f in futures:
                if not f.done():
                    f.set_exception(exc)
            return
        self.tasks += 1

        def done(task: Future | asyncio.Future) -> None:
            exc = asyncio.CancelledError() if task.cancelled() else task.exception()
            results = [(False, exc)] * len(futures) if exc is not None else task.result()
            for f, (ok, value) in zip(futures, results, strict=True):
                if not f.done():  # a caller cancelled meanwhile
                    f.set_result(value) if ok else f.set_exception(value)

        if isinstance(task, asyncio.Future):  # answered in this event loop (LoopPool)
            task.add_done_callback(done)
            return

        def back(task: Future) -> None:  # in the pool's thread: the results are handed to the event loop
            try:
                loop.call_soon_threadsafe(done, task)
            except RuntimeError:  # the loop is closed: the run is over, nobody waits for these
                pass

        task.add_done_callback(back)


CLUSTER_EXTRA = "pip install 'newsmirror[cluster]'"
CONNECT_SECONDS = 10  # how long a scheduler may take to answer before the run gives up on it
# how long the connection to a scheduler that went silent (its machine gone, the network cut) stays open: the run's
# client beats every HEARTBEAT_SECONDS, and the kernel drops a connection whose data goes unacknowledged this long
# (distributed.comm.timeouts.tcp: TCP_USER_TIMEOUT and keepalive probes); a scheduler killed outright is seen at once
TCP_SECONDS = 20
HEARTBEAT_SECONDS = 5
# a scheduler whose connection stays up but that answers nothing (frozen, stopped): while tasks wait, the run asks it
# every HEARTBEAT_SECONDS who it is, and gives it up when it has not answered in ANSWER_SECONDS
ANSWER_SECONDS = 20


class EngineUnavailable(ConfigError):
    """[workers] engine = "dask" cannot be had: the extra is missing, or the scheduler does not answer."""


def check_engine(engine: str) -> None:
    """Before a run starts: engine = "dask" needs Dask's `distributed` installed here (looked up, not imported)."""
    import importlib.util

    if engine == "dask" and importlib.util.find_spec("distributed") is None:
        raise EngineUnavailable(f'workers.engine = "dask" needs Dask\'s distributed, which is not installed: '
                                f'{CLUSTER_EXTRA}, or set engine = "local"')


class DaskPool:
    """`submit(fn, *args)` as a process pool's, on a Dask cluster: the scheduler at `scheduler`, else a cluster
    of worker processes on this machine. Opened once for the run (a cluster takes seconds to start), closed
    with it. A task whose worker is lost is run again on another by Dask itself."""

    def __init__(self, scheduler: str | None) -> None:
        check_engine("dask")
        import cloudpickle  # (what Dask pickles with: by reference where it can, by value where it must)
        import dask
        from distributed import Client, LocalCluster

        quiet_dask_logs()
        dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_SECONDS}s",
                         "distributed.comm.timeouts.tcp": f"{TCP_SECONDS}s",
                         "distributed.client.heartbeat": f"{HEARTBEAT_SECONDS}s",
                         # the client's link to the scheduler keeps its last 1,000 messages under 1 MB for
                         # debugging: every task sent, with the pages it carries (up to 250 MB held). None kept
                         "distributed.admin.low-level-log-length": 0,
                         # a worker samples its threads' stacks every 10 ms for the dashboard's profile: 15% of its
                         # CPU on a page. Off for the cluster on this machine; `dask worker` is told in its own
                         # config (README: DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False)
                         "distributed.worker.profile.enabled": False})
        self._dumps = cloudpickle.dumps  # a task's calls, as the one bytes object the scheduler passes on (submit)
        self._cluster = None
        self.scheduler = scheduler
        self.lost: ClusterLost | None = None  # once the cluster is gone, every later task fails at once with it
        self._waiting: set[Future] = set()  # what the run waits for from the cluster
        self._guard = threading.Lock()
        self._closing = threading.Event()
        try:
            if scheduler is None:
                # its HTTP servers on loopback ports of their own: not 8787, which another cluster may hold (Dask
                # then warns on stderr)
                self._cluster = LocalCluster(n_workers=pool_size(), threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                             worker_dashboard_address="127.0.0.1:0",
                                             preload=[PRELOAD])  # (as the README starts `dask worker`)
                self.client = Client(self._cluster, timeout=CONNECT_SECONDS)
            else:
                self.client = Client(scheduler, timeout=CONNECT_SECONDS)
        except OSError as exc:  # distributed raises OSError (TimeoutError) for a scheduler that does not answer
            self.shutdown()
            where = f"the scheduler at {scheduler}" if scheduler else "a cluster on this machine"
            raise EngineUnavailable(f"workers.scheduler: cannot reach {where} ({' '.join(str(exc).split())[:200]}); "
                                    "start it (`dask scheduler`) and check the address, or set "
                                    'engine = "local"') from None
        threading.Thread(target=self._watch, name="newsmirror-scheduler-watch", daemon=True).start()

    @property
    def width(self) -> int:
        """Calls the cluster runs at once (its workers' threads): how many the run keeps waiting for it."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 (a scheduler gone: the next task says so)
            return 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """fn(*args) on a worker; a concurrent.futures Future that Calls waits on as on a process pool's."""
        out: Future = Future()
        out.set_running_or_notify_cancel()
        if self.lost is None and self.client.status not in ("running", "connecting"):
            self.lost = self._gone("its client closed")
        if self.lost is not None:  # a task sent now would wait for a scheduler that is not coming back
            out.set_exception(self.lost)
            return out
        with self._guard:
            self._waiting.add(out)
        blob = task_blob(fn, args, self._dumps)
        task = self.client.submit(_run_pickled, blob, pure=False)  # pure=False: never merged with an equal one

        def settle(task: Any) -> None:  # in the client's thread
            try:
                result: tuple[bool, Any] = (True, task.result())
            except BaseException as exc:  # noqa: BLE001 (the task ran in _run_batch, which returns its errors:
                result = (False, self._lost(exc))  # what arrives here is the cluster failing it)
            _settle(out, result, self._guard, self._waiting)

        task.add_done_callback(settle)
        return out

    def _watch(self) -> None:
        """In a thread of its own: give the scheduler up when, with tasks waiting, it has not answered in
        ANSWER_SECONDS (a connection that stays up to a process that answers nothing closes nothing)."""
        while not self._closing.wait(HEARTBEAT_SECONDS):
            if self.lost is not None:
                return
            if not self._waiting:
                continue
            try:
                self.client.sync(self.client.scheduler.identity, callback_timeout=ANSWER_SECONDS)
            except Exception:  # noqa: BLE001 (no answer in time, or a connection that failed meanwhile)
                if self._closing.is_set() or self.lost is not None:
                    return
                self.lost = self._gone(f"no answer in {ANSWER_SECONDS} s")
                with self._guard:
                    waiting = list(self._waiting)
                for out in waiting:
                    _settle(out, (False, self.lost), self._guard, self._waiting)
                return

    def _lost(self, exc: BaseException) -> ClusterLost:
        """What a task's failure says about the cluster: a task that killed its workers (Dask's KilledWorker, after
        distributed.scheduler.allowed-failures of them), the scheduler gone (the client cancels its tasks), or
        the cluster failing a task some other way (a result that cannot be read back, say)."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        if isinstance(exc, KilledWorker):
            lost = ClusterLost("a page killed every Dask worker it was given to (distributed.scheduler.allowed-"
                               "failures); what was mirrored so far is kept, and the page counts a failed attempt: "
                               "run again, or lower fetch.max_bytes", page_at_fault=True)
        elif isinstance(exc, CancelledError | asyncio.CancelledError | OSError):
            lost = self._gone(_why(exc))
        else:
            lost = ClusterLost(f"the Dask cluster failed a task ({_why(exc)}); what was mirrored so far is kept, "
                               "and the next run goes on from there: check the workers' logs (the same newsmirror "
                               'version on every worker?), or set workers.engine = "local", and run again')
        self.lost = self.lost or lost
        return lost

    def _gone(self, why: str) -> ClusterLost:
        where = f"the Dask scheduler at {self.scheduler}" if self.scheduler else "the Dask cluster on this machine"
        return ClusterLost(f"lost {where} mid-run ({why}); what was mirrored so far is kept, and the next run goes "
                           "on from there: restart the scheduler and its workers (or set workers.engine = "
                           '"local") and run again')

    def shutdown(self, cancel_futures: bool = True) -> None:
        if hasattr(self, "_closing"):
            self._closing.set()
        for part in (getattr(self, "client", None), self._cluster):
            if part is not None:
                try:
                    part.close(timeout=CONNECT_SECONDS)  # bounded: a lost scheduler cannot say goodbye
                except Exception:  # noqa: BLE001 (closing what may already be gone)
                    pass


def _settle(out: Future, result: tuple[bool, Any], guard: threading.Lock, waiting: set[Future]) -> None:
    """Give `out` its result or error, once (the task's answer and the watch may both try)."""
    with guard:
        waiting.discard(out)
        if out.done():
            return
        ok, value = result
        out.set_result(value) if ok else out.set_exception(value)


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}"


def quiet_dask_logs() -> None:
    """distributed logs to stderr through its own handler (a lost scheduler: a dozen lines and tracebacks); a run
    says what happened in one line of its own, so they are shown only with -v (newsmirror's log at DEBUG)."""
    import logging

    verbose = logging.getLogger("newsmirror").isEnabledFor(logging.DEBUG)
    for handler in logging.getLogger("distributed").handlers:
        handler.setLevel(logging.NOTSET if verbose else logging.CRITICAL)
