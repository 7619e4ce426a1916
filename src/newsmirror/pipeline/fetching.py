"""The fetch-and-analyse phase: fetch each selected URL (a few lanes per host), analyse the page in a worker
process, and hand what it yields to the store phase; then the pages that link to what arrived are due."""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool

from ..config import Rules
from ..errors import ClusterLost, PageRejected
from ..fetch import Fetcher, FetchError
from ..models import Candidate, RunReport, WarcRef
from .analyse import HTML_TYPES, Analysis
from .context import Context
from .images import WORKER_DIED
from .ingest import fail, store_page
from .seams import SEAMS

log = logging.getLogger("newsmirror")
KILLED_WORKERS = "the Dask workers died while working on it (distributed.scheduler.allowed-failures of them)"


def rules_of(ctx: Context, source_name: str) -> Rules | None:
    try:
        return ctx.cfg.source(source_name).rules
    except KeyError:
        return None


def obey(ctx: Context, source_name: str) -> bool | None:
    try:
        return ctx.cfg.source(source_name).obey_robots
    except KeyError:
        return None


def due(ctx: Context, ids: set[str]) -> set[str]:
    """Pages that must be rendered again, remembered in the store before the build does it: a run killed
    first leaves them to the next, which knows nothing of what this one found."""
    SEAMS.after_fetch(ids)
    with ctx.store.tx():
        ctx.store.mark_dirty(ids)
    return ids


async def fetch_and_analyse(ctx: Context, todo: list[Candidate], fetcher: Fetcher, report: RunReport) -> set[str]:
    """Fetch, analyse and store every URL of `todo`; the ids of the articles whose pages must be made."""
    changed: set[str] = set()
    if not todo:
        return changed
    ctx.progress.start("fetching", len(todo))
    with ctx.workers(len(todo)), ctx.store.grouped():
        await _fetch_each(ctx, todo, fetcher, report, changed)
    ctx.progress.stop()
    # pages that link to an article we just got now point at our copy
    if ctx.cfg.site.link_policy == "mirror" and changed:
        urls = ctx.store.urls_of(changed)
        urls.update(c.url for c in todo)
        changed |= due(ctx, ctx.store.linking_to(urls))
    return changed


async def _fetch_each(ctx: Context, todo: list[Candidate], fetcher: Fetcher, report: RunReport,
                      changed: set[str]) -> None:
    deferred: list[str] = []
    inflight = ctx.inflight()

    async def one(c: Candidate) -> None:
        try:
            if ctx.past_deadline():  # bounded runs: what is left stays pending for the next one
                deferred.append(c.url)
                return
            async with inflight:
                aid = await mirror_one(ctx, c, fetcher, report)
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
    return await ctx.calls(SEAMS.analyse_page, resp, rules_of(ctx, c.source), bool(ctx.warc),
                           ctx.cfg.fetch.max_bytes), resp.raw_body


async def mirror_one(ctx: Context, c: Candidate, fetcher: Fetcher, report: RunReport) -> str | None:
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

    def archive() -> WarcRef | None:
        return ctx.warc.append(analysis.records, body) if ctx.warc and analysis.records else None

    return store_page(ctx, c, analysis, archive, report)
