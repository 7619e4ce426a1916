"""The run's revisit step: fetch the articles that are due (within revisit.budget), with the run's Fetcher
(robots.txt, Crawl-delay, rate limits and the address guard apply as to first fetches) and WARC writer, and
record what each says: unchanged, a new version, evidence of deletion (marked only once a later check agrees),
or nothing (an outage)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import lxml.html

from ..fetch import FetchError, decode_response
from ..fetch.warc import warc_records
from ..models import RunReport
from ..store import Store
from .evidence import Verdict, from_error, from_page
from .schedule import next_due

if TYPE_CHECKING:
    from ..fetch import Fetcher
    from ..pipeline import Mirror

log = logging.getLogger("newsmirror.revisit")


def comparable(title: str, body_html: str, ignore: list[re.Pattern[str]]) -> tuple[str, str]:
    """An article's title and body text as versions are compared: volatile parts (revisit.ignore: view counters,
    dates) left out, whitespace folded."""
    body = lxml.html.fragment_fromstring(body_html or "<p></p>", create_parent="div").text_content()

    def norm(text: str) -> str:
        for pat in ignore:
            text = pat.sub("", text)
        return " ".join(text.split())

    return norm(title), norm(body)


def fronts_of(m: Mirror) -> set[str]:
    """The site pages a deleted article's URL may be sent to: the sources' own pages (listings, feeds)."""
    return {s.url for s in m.cfg.sources if s.url}


def sync_shown(store: Store, show: str) -> set[str]:
    """Once per change of revisit.show: every edited article shows its first or its latest version."""
    if store.get_meta("revisit_show") == show:
        return set()
    ids = set(store.edited_ids())
    with store.tx():
        for aid in ids:
            versions = store.versions(aid)
            store.show_version(aid, versions[0]["n"] if show == "first" else versions[-1]["n"])
        store.set_meta("revisit_show", show)
    return ids


async def revisit(m: Mirror, fetcher: Fetcher, report: RunReport,
                  clock: Callable[[], datetime] | None = None) -> set[str]:
    """Revisit what is due now (`clock()`, by default the mirror's); the ids whose pages must be made again."""
    cfg = m.cfg.revisit
    if not cfg.enabled or cfg.budget == 0:
        return set()
    at = (clock or m.clock)()
    changed = sync_shown(m.store, cfg.show)
    due = m.store.revisits_due(at, cfg.schedule[0], cfg.budget)
    if m.cfg.fetch.obey_robots:  # each host's robots.txt is a request of the budget too
        due = due[: max(0, cfg.budget - len({urlsplit(r["url"]).hostname for r in due}))]
    if not due:
        return changed
    deadline = m._deadline()
    ignore = [re.compile(p) for p in cfg.ignore]
    fronts = fronts_of(m)

    async def one(row) -> None:  # noqa: ANN001 (a store row)
        if time.monotonic() > deadline:  # bounded runs: it stays due for the next one
            return
        verdict = await _check(m, fetcher, row, fronts)
        report.revisited += 1
        with m.store.tx():
            if _record(m, row, verdict, at, ignore, report):
                changed.add(row["id"])

    with m.store.grouped():
        await asyncio.gather(*(one(r) for r in due))
    log.info("revisited %d articles: %d edited, %d deletions confirmed, %d to confirm, %d back", report.revisited,
             report.edits, report.deletions, report.deletions_pending, report.restored)
    return changed


async def _check(m: Mirror, fetcher: Fetcher, row, fronts: set[str]) -> Verdict:  # noqa: ANN001
    """Fetch one article again (conditionally when we hold its validators) and say what the answer means."""
    from ..pipeline import HTML_TYPES, analyse

    url = row["url"]
    etag, last_modified = m.store.validators(url)
    try:
        resp = await fetcher.get(url, etag=etag, last_modified=last_modified, obey_robots=m._obey(row["source"]),
                                 decoded=False)
        if resp.status == 304:
            return Verdict("unchanged")
        if not HTML_TYPES.match(resp.headers.get("content-type", "text/html").strip()):
            return Verdict("unknown", "not an HTML page")
        page = decode_response(resp, m.cfg.fetch.max_bytes)
    except FetchError as exc:
        return from_error(exc)
    analysed = await m.calls(analyse, page.text, page.final_url, m._rules(row["source"]))
    verdict = from_page(url, page, analysed, fronts, m.cfg.revisit.removal_notices)
    ref = None
    if m.warc:  # every version, and every page that says the article is gone, is kept as evidence
        try:
            ref = m.warc.append(warc_records(page))
        except Exception as exc:  # noqa: BLE001 (without its record, this revisit proves nothing)
            return Verdict("unknown", f"WARC record failed ({type(exc).__name__})")
    with m.store.tx():  # a page that says the article is gone must not answer the next check with a 304
        if verdict.kind == "page":
            m.store.set_validators(url, page.headers.get("etag"), page.headers.get("last-modified"))
        else:
            m.store.set_validators(url, None, None)
    if verdict.kind == "page":
        return Verdict("page", analysed=(verdict.analysed, ref))
    return verdict


def _record(m: Mirror, row, v: Verdict, at: datetime, ignore: list[re.Pattern[str]],  # noqa: ANN001
            report: RunReport) -> bool:
    """Store what one revisit found; whether the article's page must be made again."""
    store, cfg, aid = m.store, m.cfg.revisit, row["id"]
    first_seen = datetime.fromisoformat(row["first_seen"])
    step, due = next_due(first_seen, at, cfg.schedule)
    suspect = datetime.fromisoformat(row["suspect_since"]) if row["suspect_since"] else None
    if v.kind == "unknown":  # says nothing: asked again later, whatever was seen before stands
        log.info("revisit %s: no answer (%s); tried again in %g h", row["url"], v.reason, cfg.retry_hours)
        store.set_revisit(aid, last_checked=at, next_due=at + timedelta(hours=cfg.retry_hours))
        return False
    if v.kind == "gone":
        if row["deleted_at"]:
            store.set_revisit(aid, last_checked=at, step=step, next_due=due)
            return False
        confirm = timedelta(hours=cfg.confirm_hours)
        if suspect is None:
            log.warning("revisit %s: %s; deletion to be confirmed in %g h", row["url"], v.reason, cfg.confirm_hours)
            store.set_revisit(aid, last_checked=at, suspect_since=at, suspect_reason=v.reason, next_due=at + confirm)
            report.deletions_pending += 1
            return False
        if at - suspect < confirm:
            store.set_revisit(aid, last_checked=at, next_due=suspect + confirm)
            return False
        log.warning("revisit %s: deleted at the source (%s; first seen gone %s)", row["url"], v.reason, suspect)
        store.set_revisit(aid, last_checked=at, deleted_at=suspect, deleted_reason=v.reason, step=step, next_due=due)
        store.revisit_event(aid, suspect, "deleted", v.reason)
        report.deletions += 1
        return True
    # the article is there: any suspicion is lifted, and a mark of deletion with it
    changed = False
    store.set_revisit(aid, last_checked=at, step=step, next_due=due, last_good=at, suspect_since=None,
                      suspect_reason=None)
    if row["deleted_at"]:
        store.set_revisit(aid, count=False, deleted_at=None, deleted_reason=None)
        store.revisit_event(aid, at, "back", row["url"])
        log.warning("revisit %s: back at the source; the mark of deletion is lifted", row["url"])
        report.restored += 1
        changed = True
    if v.kind == "page":
        changed |= _compare(m, aid, v.analysed, at, ignore, report)
    return changed


def _compare(m: Mirror, aid: str, got, at: datetime, ignore: list[re.Pattern[str]],  # noqa: ANN001
             report: RunReport) -> bool:
    """Keep the page as a new version when its title or text differ from the last version's."""
    (art, content_hash, targets, images), ref = got
    store = m.store
    versions = store.versions(aid)
    if versions:
        last = versions[-1]
        last_title, last_body, last_hash = last["title"], last["body_html"], last["content_hash"]
    else:
        a = store.article(aid)
        if a is None:
            return False
        last_title, last_body, last_hash = a.title, a.body_html, a.content_hash
    if content_hash == last_hash:
        return False
    old, new = comparable(last_title, last_body, ignore), comparable(art.title, art.body_html, ignore)
    if old == new:
        return False
    if not versions:  # the version mirrored first, as the store holds it
        a = store.article(aid)
        assert a is not None
        store.add_version(aid, a.title, a.body_html, a.content_hash, a.fetched_at, store.warc_ref(aid))
    warc = (ref.file, ref.offset, ref.record_id, ref.payload_digest) if ref is not None else None
    n = store.add_version(aid, art.title, art.body_html, content_hash, at, warc)
    what = ", ".join(w for w, differs in (("title", old[0] != new[0]), ("body", old[1] != new[1])) if differs)
    store.revisit_event(aid, at, "edited", what)
    if m.cfg.revisit.show == "latest":
        store.show_version(aid, n)
        store.set_links(aid, targets)
        store.set_article_images(aid, images)
    log.warning("revisit %s: edited at the source (%s); version %d kept", art.url, what, n)
    report.edits += 1
    return True
