"""The store phase: deduplicate one analysed page (by URL, canonical URL and content) and save its article,
links and images in one transaction, with where its response is archived."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..dedup import MAX_DISTANCE
from ..errors import DuplicateOf, PageRejected
from ..ids import article_id, same_site, site_of
from ..models import ADDED_SOURCE, Candidate, RunReport, StoredArticle, WarcRef
from ..render import page_path
from .analyse import Analysis
from .context import Context

log = logging.getLogger("newsmirror")


def fail(ctx: Context, c: Candidate, reason: str, report: RunReport) -> None:
    """A page that yields no article this time: a failed attempt (tried again next run, up to max_attempts)."""
    log.error("failed %s: %s", c.url, reason)
    ctx.store.mark_url(c.url, c.source, "failed", reason=reason, failed=True)
    report.failed += 1
    report.failures.append((c.url, reason))


def _existing(ctx: Context, c: Candidate, a: Analysis) -> StoredArticle | None:
    """The article this page is (by canonical URL, then by the URL it was found at), or None; raises
    PageRejected when that article is of another site, DuplicateOf when its words are another article's."""
    art = a.article
    existing = ctx.store.article_by_url(art.canonical_url)
    if existing is None and c.url != art.canonical_url:
        existing = ctx.store.article_by_url(c.url)
    if existing is not None and not same_site(existing.canonical_url, art.url):
        raise PageRejected(f"served from {site_of(art.url)}, it would replace {existing.canonical_url}, an article "
                           "of another site: refused")
    if existing is None:
        twin = ctx.store.article_by_hash(a.content_hash)
        if twin is not None:
            raise DuplicateOf(twin.id, twin.canonical_url)
        fp = a.simhash
        twin = ctx.store.near_twin(fp, MAX_DISTANCE, art.title) if fp is not None else None
        if twin is not None:  # the same article with a few characters changed: kept once, this URL an alias
            raise DuplicateOf(twin.id, twin.canonical_url, "nearly the same")
    return existing


def _unchanged(c: Candidate, a: Analysis, existing: StoredArticle) -> bool:
    """The same words, and not just made a pick (`add`) nor moved to another category by one."""
    art = a.article
    return existing.content_hash == a.content_hash and not (
        c.pick and (not existing.pick or existing.category != art.category))


def store_page(ctx: Context, c: Candidate, a: Analysis, archive: Callable[[], WarcRef | None],
               report: RunReport) -> str | None:
    """Deduplicate and store one analysed page; the article's id when it is new or changed. `archive()` writes
    the response to the WARC (before the store refers to it) and returns where."""
    art = a.article
    art.source, art.category = c.source, c.category
    art.published = art.published or c.published
    try:
        existing = _existing(ctx, c, a)
    except PageRejected as exc:
        fail(ctx, c, exc.reason, report)
        return None
    except DuplicateOf as dup:
        log.info("duplicate %s: %s content as %s", c.url, dup.how, dup.article_id)
        ctx.store.mark_url(c.url, c.source, "duplicate", article_id=dup.article_id, reason=dup.reason)
        report.duplicates += 1
        return None
    note = "; ".join(art.notes) or None
    if note:
        log.warning("%s: %s (used %s extraction)", c.url, note, art.extracted_by)
    if existing is not None:
        art.id = existing.id
        if existing.canonical_url != art.canonical_url and ctx.store.article_by_url(art.canonical_url) is None:
            art.canonical_url = existing.canonical_url
        art.category = existing.category if c.source != ADDED_SOURCE else c.category
        if _unchanged(c, a, existing):
            ctx.store.touch_article(existing.id)
            ctx.store.mark_url(c.url, c.source, "ok", article_id=existing.id, reason=note)
            report.unchanged += 1
            return None
        report.updated += 1
    else:
        art.id = article_id(art.canonical_url, lambda i: ctx.store.id_taken(i, art.canonical_url))
        report.new += 1
    _save(ctx, c, a, archive(), new=existing is None, note=note)
    log.info("%s %s → %s", "new" if existing is None else "updated", c.url, page_path(art.category, art.id))
    return art.id


def _save(ctx: Context, c: Candidate, a: Analysis, ref: WarcRef | None, new: bool, note: str | None) -> None:
    art = a.article
    with ctx.store.tx():
        ctx.store.save_article(art, a.content_hash, c.pick, ref, simhash=a.simhash)
        ctx.store.set_links(art.id, a.links, new=new)
        ctx.store.set_article_images(art.id, a.images, new=new)
        ctx.store.mark_url(c.url, c.source, "ok", article_id=art.id, reason=note)
        if art.canonical_url != c.url:
            ctx.store.mark_url(art.canonical_url, c.source, "ok", article_id=art.id)
        if ctx.cfg.site.link_policy == "mirror":  # the pages that link to it, due with it (marked in the
            # transaction that saves it, before it commits: a kill after the commit leaves them dirty, and the next
            # run does not fetch this article again); looked up for many articles at once
            ctx.store.mark_linking_dirty({c.url, art.url, art.canonical_url})
