"""The store phase: deduplicate analysed pages (by URL, canonical URL and content) and save each one's article,
links and images, with where its response is archived. The pages that arrive together (a worker batch's) are
stored in one transaction, their look-ups and writes made for all of them at once (store.batch); each page still
sees those before it as if it had been stored alone."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from ..dedup import MAX_DISTANCE
from ..errors import DuplicateOf, PageRejected
from ..ids import article_id, same_site, site_of, url_id
from ..models import ADDED_SOURCE, Candidate, RunReport, StoredArticle, WarcRef
from ..render import page_path
from ..store import Known
from .analyse import Analysis
from .context import Context

log = logging.getLogger("newsmirror")


def links_due(ctx: Context, urls: Iterable[str]) -> None:
    """The pages that link to these URLs are due (their links now lead to our copy, or no longer do): marked in the
    transaction that records what became of the URLs, before it commits, so a run killed after the commit leaves
    them dirty (the next run does not fetch those pages again); looked up for many pages at once."""
    if ctx.cfg.site.link_policy == "mirror":
        ctx.store.mark_linking_dirty(urls)


def fail(ctx: Context, c: Candidate, reason: str, report: RunReport) -> None:
    """A page that yields no article this time: a failed attempt (tried again next run, up to max_attempts)."""
    log.error("failed %s: %s", c.url, reason)
    ctx.store.mark_url(c.url, c.source, "failed", reason=reason, failed=True)
    links_due(ctx, [c.url])  # (a URL that led to an article may lead nowhere now)
    report.failed += 1
    report.failures.append((c.url, reason))


def _existing(known: Known, c: Candidate, a: Analysis) -> StoredArticle | None:
    """The article this page is (by canonical URL, then by the URL it was found at), or None; raises
    PageRejected when that article is of another site, DuplicateOf when its words are another article's."""
    art = a.article
    existing = known.article_by_url(art.canonical_url)
    if existing is None and c.url != art.canonical_url:
        existing = known.article_by_url(c.url)
    if existing is not None and not same_site(existing.canonical_url, art.url):
        raise PageRejected(f"served from {site_of(art.url)}, it would replace {existing.canonical_url}, an article "
                           "of another site: refused")
    if existing is None:
        twin = known.article_by_hash(a.content_hash)
        if twin is not None:
            raise DuplicateOf(twin.id, twin.canonical_url)
        fp = a.simhash
        twin = known.near_twin(fp, MAX_DISTANCE, art.title) if fp is not None else None
        if twin is not None:  # the same article with a few characters changed: kept once, this URL an alias
            raise DuplicateOf(twin.id, twin.canonical_url, "nearly the same")
    return existing


def _unchanged(c: Candidate, a: Analysis, existing: StoredArticle) -> bool:
    """The same words, and not just made a pick (`add`) nor moved to another category by one."""
    art = a.article
    return existing.content_hash == a.content_hash and not (
        c.pick and (not existing.pick or existing.category != art.category))


Archive = Callable[[], WarcRef | None]


def store_page(ctx: Context, c: Candidate, a: Analysis, archive: Archive, report: RunReport) -> str | None:
    """Deduplicate and store one analysed page; the article's id when it is new or changed. `archive()` writes
    the response to the WARC (before the store refers to it) and returns where."""
    return store_pages(ctx, [(c, a, archive)], report)[0]


def store_pages(ctx: Context, pages: list[tuple[Candidate, Analysis, Archive]], report: RunReport,
                flush: Callable[[], None] = lambda: None) -> list[str | None]:
    """store_page() for each of `pages`, in order, in one transaction; `flush()` after the last `archive()`, before
    the transaction ends (the WARC records the store refers to are in the file first)."""
    keys: tuple[set[str], set[str], set[int], set[str]] = (set(), set(), set(), set())
    for c, a, _ in pages:
        art = a.article
        art.source, art.category = c.source, c.category
        art.published = art.published or c.published
        keys[0].update((art.canonical_url, c.url))
        keys[1].add(a.content_hash)
        if a.simhash is not None:
            keys[2].add(a.simhash)
        own = url_id(art.canonical_url) if a.own_id is None else a.own_id
        if own:
            keys[3].add(own)
    store = ctx.store
    saved: list[tuple[str, str, str]] = []  # (new or updated, URL, page): said once they are in the store
    with store.tx(weight=len(pages)), store.deferred():
        known = store.known(*keys)
        out = [_store_one(ctx, known, c, a, archive, report, saved) for c, a, archive in pages]
        flush()
    if log.isEnabledFor(logging.INFO):
        for how, url, page in saved:
            log.info("%s %s → %s", how, url, page)
    return out


def _store_one(ctx: Context, known: Known, c: Candidate, a: Analysis, archive: Archive, report: RunReport,
               saved: list[tuple[str, str, str]]) -> str | None:
    art = a.article
    links_due(ctx, [c.url])  # whatever becomes of it: an article, a duplicate of one, an alias, a failure
    try:
        existing = _existing(known, c, a)
    except PageRejected as exc:
        fail(ctx, c, exc.reason, report)
        known.wrote(None, [c.url])
        return None
    except DuplicateOf as dup:
        log.info("duplicate %s: %s content as %s", c.url, dup.how, dup.article_id)
        ctx.store.mark_url(c.url, c.source, "duplicate", article_id=dup.article_id, reason=dup.reason)
        known.wrote(None, [c.url])
        report.duplicates += 1
        return None
    note = "; ".join(art.notes) or None
    if note:
        log.warning("%s: %s (used %s extraction)", c.url, note, art.extracted_by)
    if existing is not None:
        art.id = existing.id
        if existing.canonical_url != art.canonical_url and known.article_by_url(art.canonical_url) is None:
            art.canonical_url = existing.canonical_url
        art.category = existing.category if c.source != ADDED_SOURCE else c.category
        if art.category != existing.category:  # its page moves: links to any of its URLs change (asked of the
            ctx.store.flush_writes()  # store itself, the batch's writes made first, as Known does)
            links_due(ctx, ctx.store.urls_of([existing.id]))
        if _unchanged(c, a, existing):
            ctx.store.touch_article(existing.id)
            ctx.store.mark_url(c.url, c.source, "ok", article_id=existing.id, reason=note)
            known.wrote(existing.id, [c.url])
            report.unchanged += 1
            return None
        report.updated += 1
    else:
        art.id = article_id(art.canonical_url, lambda i: known.id_taken(i, art.canonical_url), a.own_id)
        report.new += 1
    _save(ctx, c, a, archive(), new=existing is None, note=note)
    known.wrote(art.id, {c.url, art.url, art.canonical_url}, a.content_hash, a.simhash, art.title)
    if log.isEnabledFor(logging.INFO):
        saved.append(("new" if existing is None else "updated", c.url, page_path(art.category, art.id)))
    return art.id


def _save(ctx: Context, c: Candidate, a: Analysis, ref: WarcRef | None, new: bool, note: str | None) -> None:
    art = a.article
    ctx.store.save_article(art, a.content_hash, c.pick, ref, simhash=a.simhash, body=a.body)
    ctx.store.set_links(art.id, a.links, new=new)
    ctx.store.set_article_images(art.id, a.images, new=new)
    ctx.store.mark_url(c.url, c.source, "ok", article_id=art.id, reason=note)
    if art.canonical_url != c.url:
        ctx.store.mark_url(art.canonical_url, c.source, "ok", article_id=art.id)
    links_due(ctx, {art.url, art.canonical_url})  # (and c.url: _store_one)
