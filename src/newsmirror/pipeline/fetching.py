"""The fetch-and-analyse phase: fetch each selected URL (a few lanes per host), analyse the page in a worker
process, and hand what it yields to the store phase; then the pages that link to what arrived are due."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

from ..config import Rules
from ..errors import ClusterLost, PageRejected
from ..fetch import Fetcher, FetchError
from ..fetch.warc import WarcWriter
from ..models import Candidate, RunReport, WarcRef
from .analyse import HTML_TYPES, Analysis
from .context import Context
from .images import WORKER_DIED
from .ingest import fail, store_pages
from .seams import SEAMS

log = logging.getLogger("newsmirror")
KILLED_WORKERS = "the Dask workers died while working on it (distributed.scheduler.allowed-failures of them)"


def rules_of(ctx: Context, source_name: str) -> Rules | None:
    src = ctx.source(source_name)
    return src.rules if src is not None else None


def obey(ctx: Context, source_name: str) -> bool | None:
    src = ctx.source(source_name)
    return src.obey_robots if src is not None else None


async def fetch_and_analyse(ctx: Context, todo: list[Candidate], fetcher: Fetcher, report: RunReport) -> set[str]:
    """Fetch, analyse and store every URL of `todo`; the ids of the articles whose pages must be made. The pages
    that link to what was stored (and so now point at our copy) are marked due in the transactions that stored
    it (ingest.store_pages), so they are not looked up again here, and a run killed after it leaves them due."""
    changed: set[str] = set()
    if not todo:
        return changed
    ctx.progress.start("fetching", len(todo))
    with ctx.workers(len(todo)), ctx.store.grouped():
        await _fetch_each(ctx, todo, fetcher, report, changed)
    ctx.progress.stop()
    SEAMS.after_fetch(changed)
    return changed


class _Storing:
    """`await storing(c, analysis, body)`: store one analysed page (ingest.store_pages) with those that arrived
    with it. A worker batch's results come back at once, and wake their pages' tasks in one turn of the event loop:
    the first of them waits one turn for the others, then stores them all in one transaction; the article's id
    when it is new or changed."""

    def __init__(self, ctx: Context, report: RunReport) -> None:
        self.ctx, self.report = ctx, report
        self.waiting: list[tuple[Candidate, Analysis, bytes | None, asyncio.Future]] = []

    async def __call__(self, c: Candidate, analysis: Analysis, body: bytes | None) -> str | None:
        fut = asyncio.get_running_loop().create_future()
        self.waiting.append((c, analysis, body, fut))
        if len(self.waiting) == 1:
            try:
                await asyncio.sleep(0)  # the pages woken with this one append themselves meanwhile
            except BaseException:  # cancelled (the run is ending): none of them is stored
                batch, self.waiting = self.waiting, []
                for *_, f in batch:
                    f.cancel()
                raise
            batch, self.waiting = self.waiting, []
            self._store(batch)
        return await fut

    def _store(self, batch: list[tuple[Candidate, Analysis, bytes | None, asyncio.Future]]) -> None:
        warc = self.ctx.warc

        def archive(a: Analysis, body: bytes | None) -> Callable[[], WarcRef | None]:
            if a.ref is not None:  # archived by the worker process, in a file of its own
                return functools.partial(_adopted, warc, a.ref)
            return lambda: warc.append(a.records, body, flush=False) if warc and a.records else None

        try:
            ids = store_pages(self.ctx, [(c, a, archive(a, body)) for c, a, body, _ in batch], self.report,
                              warc.flush if warc else lambda: None)
        except BaseException as exc:  # nothing of the batch is stored: each of its pages says why
            for *_, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (*_, fut), aid in zip(batch, ids, strict=True):
            if not fut.done():  # (a page's task cancelled meanwhile: the run is ending)
                fut.set_result(aid)


def _adopted(warc: WarcWriter | None, ref: WarcRef) -> WarcRef:
    """`ref`, a record a worker process wrote to a file of its own, which the run's writer syncs when it closes."""
    if warc is not None:
        warc.adopt(ref.file)
    return ref


async def _fetch_each(ctx: Context, todo: list[Candidate], fetcher: Fetcher, report: RunReport,
                      changed: set[str]) -> None:
    deferred: list[str] = []
    inflight = ctx.inflight()
    storing = _Storing(ctx, report)

    async def one(c: Candidate) -> None:
        try:
            if ctx.past_deadline():  # bounded runs: what is left stays pending for the next one
                deferred.append(c.url)
                return
            async with inflight:
                aid = await mirror_one(ctx, c, fetcher, report, storing)
            if aid:
                changed.add(aid)
        finally:
            ctx.progress.advance()

    await ctx.by_host_lanes(todo, lambda c: c.url, one)
    if deferred:
        report.deferred = len(deferred)
        log.warning("fetch.max_run_seconds (%s s) reached: %d URLs left for the next run",
                    ctx.cfg.fetch.max_run_seconds, len(deferred))


async def _analysed(ctx: Context, c: Candidate, fetcher: Fetcher) -> tuple[Analysis, bytes]:
    """The page at `c` fetched and analysed (in a worker), and its body as received (for its WARC record, which the
    worker makes without it). Raises PageRejected, BrokenProcessPool, ClusterLost."""
    try:
        resp = await fetcher.get(c.url, obey_robots=obey(ctx, c.source), decoded=False)
    except FetchError as exc:
        raise PageRejected(exc.reason) from None
    ctype = resp.headers.get("content-type", "text/html")
    if not HTML_TYPES.match(ctype.strip()):
        raise PageRejected(f"not an HTML page (Content-Type: {ctype.split(';')[0]})")
    return await ctx.calls(SEAMS.analyse_page, resp, rules_of(ctx, c.source), ctx.warc_target(),
                           ctx.cfg.fetch.max_bytes), resp.raw_body


async def mirror_one(ctx: Context, c: Candidate, fetcher: Fetcher, report: RunReport,
                     storing: _Storing | None = None) -> str | None:
    try:
        analysis, body = await _analysed(ctx, c, fetcher)
    except PageRejected as exc:
        fail(ctx, c, exc.reason, report)
        return None
    except BrokenProcessPool:  # the run ends; this page counts a failed attempt, so one that kills its
        fail(ctx, c, WORKER_DIED, report)  # worker every time is given up after fetch.max_attempts
        raise
    except ClusterLost as exc:  # the run ends; the page stays pending, unless it killed the workers itself
        if exc.page_at_fault:
            fail(ctx, c, KILLED_WORKERS, report)
        raise
    return await (storing or _Storing(ctx, report))(c, analysis, body)
