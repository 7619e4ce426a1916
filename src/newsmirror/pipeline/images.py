"""The images phase: download the pictures articles show, check and re-encode them in worker processes, and
store each once, content-addressed, in the tree; the pages showing one that arrived are marked due."""

from __future__ import annotations

import logging
from concurrent.futures.process import BrokenProcessPool

from ..fetch import Fetcher, FetchError
from ..models import RunReport
from ..transform.images import ASSETS, ImageError
from .context import Context
from .plan import asset_at
from .seams import SEAMS

log = logging.getLogger("newsmirror")

WORKER_DIED = "a worker process died while working on it (killed for lack of memory?)"


def image_dirs(ctx: Context) -> list[str]:
    """The image folder of the tree: assets/, or site/assets/ when the HTML site is on (images_home)."""
    return [ctx.images_home + ASSETS]


def forget_lost_images(ctx: Context) -> None:
    """Forget the mirrored images the tree no longer holds, so that they are fetched again when due: after
    images.download was off (the build removed every one), or after images.max_per_article changed (a lower
    cap removed those past it; a higher one shows them again). Once per change, as it looks at every image."""
    cfg = ctx.cfg.images
    if not cfg.download:
        return
    state = ctx.store.state()
    if state.images_download is True and state.images_cap == cfg.max_per_article:
        return
    gone = [url for url, asset in ctx.store.image_assets().items() if asset_at(ctx.out, ctx.images_home, asset) is None]
    with ctx.store.tx():
        ctx.store.forget_images(gone)
        ctx.store.set_state(images_download=True, images_cap=cfg.max_per_article)


class _Budget:
    """What this run's images may still take: time (fetch.max_run_seconds) and bytes (images.max_bytes_per_run);
    what is over either stays due, as it was, for the next run."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.spent = 0
        self.late = 0
        self.over = 0


async def _mirror_one(ctx: Context, fetcher: Fetcher, url: str, budget: _Budget) -> bool:
    """Fetch, check and store one image; False when it was left for the next run. Raises FetchError, ImageError."""
    cfg = ctx.cfg.images
    resp = await fetcher.get(url, as_text=False, max_bytes=cfg.max_bytes)
    budget.spent += len(resp.body)
    if ctx.warc:  # archived as received, so that a replay of its page shows it
        ctx.warc.write(resp)
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.startswith(("text/", "application/json", "application/xhtml")):
        raise ImageError(f"not an image (Content-Type: {ctype})")
    args = (resp.body, cfg, ctx.out, ctx.images_home, ctx.tmp_dir)
    try:
        asset, width, height, size = await ctx.calls(SEAMS.mirror_image, *args)
    except BrokenProcessPool:  # as for a page: a failed attempt, then the run ends
        ctx.store.image_failed(url, WORKER_DIED)
        raise
    budget.spent += max(0, size - len(resp.body))  # a small file may re-encode into a larger one
    with ctx.store.tx():  # the pages that show it are due with it: a kill after this leaves them dirty
        ctx.store.image_done(url, asset, width, height, size)
        ctx.store.mark_dirty(ctx.store.articles_showing([url]))
    return True


async def mirror_images(ctx: Context, fetcher: Fetcher, report: RunReport, begin_writing) -> list[str]:  # noqa: ANN001
    """Download the images articles show (new ones, and failed ones with tries left), check and re-encode
    them, and store them content-addressed in the tree; the pages showing one that arrived are re-rendered
    (they were marked due with it). `begin_writing()` is called before the tree changes. The URLs that arrived."""
    cfg = ctx.cfg.images
    forget_lost_images(ctx)
    due = ctx.store.images_due(cfg.max_attempts, cfg.max_per_article) if cfg.download else []
    if not due:
        return []
    arrived: list[str] = []
    ctx.progress.start("images", len(due))
    begin_writing()
    inflight = ctx.inflight()
    budget = _Budget(cfg.max_bytes_per_run)

    async def one(url: str) -> None:
        try:
            if ctx.past_deadline():  # bounded runs: it stays due for the next one
                budget.late += 1
                return
            async with inflight:
                if budget.spent >= budget.max_bytes:  # asked when its turn comes: those under way finish
                    budget.over += 1  # not an attempt: it stays due, as it was, for the next run
                    return
                await _mirror_one(ctx, fetcher, url, budget)
            arrived.append(url)
        except (FetchError, ImageError) as exc:
            reason = exc.reason if isinstance(exc, FetchError) else str(exc)
            log.warning("image %s: %s (its alt text is shown instead; tried again next run)", url, reason)
            ctx.store.image_failed(url, reason)
            report.images_failed += 1
        finally:
            ctx.progress.advance()

    with ctx.workers(len(due), writes_tree=True), ctx.store.grouped():
        await ctx.by_host_lanes(due, lambda u: u, one)
    ctx.progress.stop()
    _left_for_next_run(ctx, budget, report)
    report.images = len(arrived)
    return arrived


def _left_for_next_run(ctx: Context, budget: _Budget, report: RunReport) -> None:
    report.images_deferred = budget.late + budget.over
    if budget.late:
        log.warning("fetch.max_run_seconds (%s s) reached: %d images left for the next run",
                    ctx.cfg.fetch.max_run_seconds, budget.late)
    if budget.over:
        log.warning("images.max_bytes_per_run (%d bytes) reached: %d images left for the next run",
                    budget.max_bytes, budget.over)
