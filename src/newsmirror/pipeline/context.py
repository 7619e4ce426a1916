"""What every phase of a run shares: the config, the store, the output tree, the worker processes, the clock."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, Source
from ..fetch.warc import WarcTarget, WarcWriter
from ..ids import host_of
from ..loop_pool import LoopPool
from ..publish.git import git_folder
from ..render import Renderer
from ..store import Store
from ..workers import Calls, DaskPool, fewer_collections, worker_pool
from .seams import SEAMS

# the pages' calls a task carries, at most, and the seconds its first call waits for more, on either engine: a task
# costs the run (pickling, pipes or the scheduler, a thread hand-off each way) and a batch of pages is stored in one
# transaction (ingest.store_pages), so the more a batch holds, the less each page costs the run; the pictures,
# up to images.max_bytes each, go 8 at a time (Calls' default)
PAGE_BATCH, PAGE_DELAY = 32, 0.02
# on a Dask cluster, at most DASK_PAGE_BATCH pages a task, and a batch more than the workers kept waiting: a task
# costs its scheduler and its worker about 3 ms of CPU each beside the pages' own work, and a worker that finishes
# finds the next task queued at the scheduler instead of waiting while a batch is fetched (benchmarks/cluster.py,
# 2 workers, 10,000 pages: articles/s 0.78 of the local pool's with 32 a task and none ahead, 0.96 with these).
# A run of few pages spreads them over all the workers (fewer a task)
DASK_PAGE_BATCH, DASK_AHEAD = 128, 1


class RunLocked(Exception):
    pass


class Progress:
    """What the pipeline tells whoever watches: override to show bars; the default says nothing."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def stop(self) -> None: ...


def _device(path: Path) -> int:
    """The file system `path` is on (or will be on, when it does not exist yet)."""
    for p in (path, *path.parents):
        try:
            return os.stat(p).st_dev
        except FileNotFoundError:
            continue
    return -1


@dataclass
class Context:
    """One run's shared state, handed to each phase (the phases keep none of their own)."""

    cfg: Config
    store: Store
    renderers: list[Renderer]  # one per format in site.formats and script in site.variants
    images_home: str  # where the one copy of each image is: "" or "site/"
    progress: Progress = field(default_factory=Progress)
    started: float = field(default_factory=lambda: SEAMS.clock())
    calls: Calls = field(default_factory=lambda: Calls(None))  # the worker processes of the stage at work
    warc: WarcWriter | None = None
    cluster: DaskPool | None = None  # [workers] engine = "dask": opened at the first phase that needs it
    _warc_target: WarcTarget | None = None
    _pages: bool = False  # `calls` takes pages in batches (Context.workers)

    _sources: tuple[list[Source], int, dict[str, Source]] | None = None  # (cfg.sources, its length, by name)

    @property
    def out(self) -> Path:
        return self.cfg.output_dir

    def source(self, name: str) -> Source | None:
        """The configured source of this name, or None (an article `add`ed by hand, a source since removed): asked
        twice a page, and a config may list hundreds, so looked up by name (again when the list is another)."""
        sources = self.cfg.sources
        if self._sources is None or self._sources[0] is not sources or self._sources[1] != len(sources):
            by_name: dict[str, Source] = {}
            for src in sources:
                by_name.setdefault(src.name, src)  # (the first of a name, as Config.source)
            self._sources = (sources, len(sources), by_name)
        return self._sources[2].get(name)

    @functools.cached_property
    def tmp_dir(self) -> Path:
        """Where files are written before they are renamed into the output tree (never inside the tree): beside
        the store, or in the tree's .git folder when the store is on another file system, as a rename cannot
        cross from one to the other. (store_path resolves symlinks: asked once.)"""
        store_dir = self.cfg.store_path.parent
        if _device(store_dir) != _device(self.out):
            git_dir = git_folder(self.out)
            if _device(git_dir) == _device(self.out):
                return git_dir / "newsmirror-tmp"
        return store_dir / ".newsmirror-tmp"

    @property
    def warc_dir(self) -> Path:
        return self.cfg.store_path.parent / "warcs"

    def warc_target(self) -> bool | WarcTarget:
        """What analyse_page is told of the run's WARC: False (none kept); with worker processes on this machine, a
        WarcTarget (each archives its pages in a file of its own: the page's bytes never come back); else True
        (the records come back without the body, and the run appends them)."""
        if self.warc is None:
            return False
        if isinstance(self.calls.pool, ProcessPoolExecutor | LoopPool):
            if self._warc_target is None or self._warc_target.run_id != self.warc.run_id:
                self._warc_target = WarcTarget(self.warc_dir, self.warc.run_id)  # (warc_dir resolves paths)
            return self._warc_target
        return True

    def deadline(self) -> float:
        """When the run stops starting work (SEAMS.clock()): fetch.max_run_seconds after it began."""
        return self.started + self.cfg.fetch.max_run_seconds

    def past_deadline(self) -> bool:
        return SEAMS.clock() > self.deadline()

    def inflight(self) -> asyncio.Semaphore:
        """Bounded memory: a page or picture fetched waits for its worker holding its bytes (a picture up to
        images.max_bytes), so only a few more than are fetched at once may wait (8; for pages in batches, the
        calls' window: a batch for each worker, on Dask one more); the lanes are more than that."""
        return asyncio.Semaphore(self.cfg.fetch.concurrency + (self.calls.window if self._pages else 8))

    @contextmanager
    def workers(self, n_items: int, writes_tree: bool = False) -> Iterator[None]:
        """Workers that `self.calls` hands work to, for a phase: the Dask cluster with [workers] engine = "dask",
        else worker processes here when `n_items` is worth them. Work that writes into the tree (`writes_tree`:
        the pictures) stays on this machine's processes whatever the engine, as a remote worker has no tree.
        The phase collects its garbage less often (workers.fewer_collections)."""
        with fewer_collections():
            yield from self._workers(n_items, writes_tree)

    def _workers(self, n_items: int, writes_tree: bool) -> Iterator[None]:
        if self.cfg.workers.engine == "dask" and not writes_tree and n_items:
            if self.cluster is None:
                self.cluster = DaskPool(self.cfg.workers.scheduler)
            # what the run holds now (modules, config, store, Dask's client) lives as long as it: kept out of every
            # later garbage collection, as the local pool does (workers.worker_pool), so each scans only what the
            # phase makes
            gc.freeze()
            batch = max(1, min(DASK_PAGE_BATCH, -(-n_items // self.cluster.width)))
            self.calls = Calls(self.cluster, batch=batch, delay=PAGE_DELAY, ahead=DASK_AHEAD)
            self._pages = True
            try:
                yield
            finally:
                self.calls, self._pages = Calls(None), False
            return
        with worker_pool(n_items, in_loop=True) as pool:
            self.calls = Calls(pool) if writes_tree else Calls(pool, batch=PAGE_BATCH, delay=PAGE_DELAY)
            self._pages = not writes_tree
            try:
                yield
            finally:
                self.calls, self._pages = Calls(None), False

    def close_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.shutdown()
            self.cluster = None

    async def by_host_lanes(self, items: list, url_of: Callable[[Any], str],
                            one: Callable[[Any], Awaitable[None]]) -> None:
        """`one(item)` for every item, by a few lanes per host, each taking that host's next item: tasks stay
        few however many URLs there are (bounded memory), and a slow or rate-limited host holds up only its own.
        Per host: as many lanes as may fetch from it at once, and as many again whose pages are being analysed."""
        by_host: dict[str, list] = {}
        for item in items:
            by_host.setdefault(host_of(url_of(item)), []).append(item)

        async def drain(queue: Iterator) -> None:
            for item in queue:
                await one(item)

        lanes = self.cfg.fetch.per_host + self.calls.window + 2
        await asyncio.gather(*(drain(q) for group in by_host.values() for q in [iter(group)] * min(len(group), lanes)))
