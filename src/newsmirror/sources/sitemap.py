"""Sitemaps: sitemap indexes, gzip, Google News sitemaps, discovery from robots.txt.

Bounded everywhere: at most `max_sitemaps` files, `max_depth` levels of
indexes, `fetch.max_bytes` per file (decompressed), 50,000 URLs per file;
only URLs newer than `max_age_days` (by news:publication_date or lastmod;
undated URLs are taken). XML is parsed without DTDs, entities or network.
"""

from __future__ import annotations

import heapq
import io
import logging
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from lxml import etree

from ..config_sources import SitemapSource
from ..dates import parse_date
from ..fetch.fetcher import FetchError, decompress
from ..ids import absolute_url
from ..models import Candidate
from .base import BATCH, NeedsWork, Reading
from .http import SourceHTTP
from .xmlsafe import canonical_xml, refuses_entities

log = logging.getLogger("newsmirror.sources")

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
MAX_URLS_PER_FILE = 50_000
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                          remove_comments=True, recover=True)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(el: etree._Element, name: str) -> str | None:
    for child in el:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def iter_sitemap(body: bytes, url: str, cap: int) -> Iterator[tuple[str, str, datetime | None, str | None]]:
    """What one sitemap file lists, as it is read: ("sitemap", URL, lastmod, None) for each sitemap of an index,
    ("page", URL, date, title) for each page of a list (at most MAX_URLS_PER_FILE). Streamed: each entry is
    dropped from the parsed tree once read, so memory does not grow with the number of entries."""
    from .base import SourceError

    if body[:2] == b"\x1f\x8b":  # a .xml.gz served as a file, not as Content-Encoding
        body = decompress(body, "gzip", cap, url)
    body = canonical_xml(body)
    if refuses_entities(body):
        raise SourceError(f"{url}: the sitemap declares XML entities; refused")
    events = etree.iterparse(io.BytesIO(body), events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False, remove_comments=True, recover=True)
    root: etree._Element | None = None
    kind = ""
    pages = 0
    try:
        for event, el in events:
            if root is None:
                root, kind = el, _local(el.tag)
                if kind not in ("sitemapindex", "urlset"):
                    raise SourceError(f"{url}: not a sitemap (root element <{kind}>)")
                continue
            if event != "end" or el.getparent() is not root:
                continue
            name = _local(el.tag)
            if kind == "sitemapindex" and name == "sitemap":
                loc = _child_text(el, "loc")
                if loc and (child := absolute_url(url, loc, normalise=False)) is not None:
                    yield "sitemap", child, parse_date(_child_text(el, "lastmod")), None
            elif kind == "urlset" and name == "url":
                loc = _child_text(el, "loc")
                if loc and (loc := absolute_url(url, loc)) is not None:
                    when = parse_date(_child_text(el, "lastmod"))
                    title = None
                    for news in el:
                        if _local(news.tag) == "news":
                            when = parse_date(_child_text(news, "publication_date")) or when
                            title = _child_text(news, "title")
                    yield "page", loc, when, title
                    pages += 1
                    if pages >= MAX_URLS_PER_FILE:
                        return
            el.clear()  # what was read: the tree holds one (emptied) entry at a time
            while el.getprevious() is not None:
                del root[0]
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{url}: not a sitemap ({exc})") from None
    if root is None:
        raise SourceError(f"{url}: not a sitemap (empty or not XML)")


def parse_sitemap(body: bytes, url: str, cap: int) -> tuple[list[tuple[str, datetime | None]],
                                                            list[tuple[str, datetime | None, str | None]]]:
    """(child sitemaps with lastmod, page URLs with date and title) of one sitemap file, as lists."""
    children: list[tuple[str, datetime | None]] = []
    pages: list[tuple[str, datetime | None, str | None]] = []
    for what, loc, when, title in iter_sitemap(body, url, cap):
        if what == "sitemap":
            children.append((loc, when))
        else:
            pages.append((loc, when, title))
    return children, pages


def _looks_like_sitemap(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith((".xml", ".xml.gz", ".gz")) or "sitemap" in path


# the validators of a sitemap are kept under its URL and this mark, and only for a list of pages (urlset):
# one kept by an older version under the bare URL may belong to an index, and is not used
LIST_OF_PAGES = "#urlset"


class _Newest:
    """The `keep` newest candidates that need work, of however many go by: a heap, fed in batches (the store
    is asked about a batch at once), so memory holds `keep` + one batch whatever the sitemaps list."""

    def __init__(self, keep: int, needs_work: NeedsWork | None) -> None:
        self.keep = keep
        self.needs_work = needs_work
        self.heap: list[tuple[float, int, Candidate]] = []
        self.held: set[str] = set()
        self.batch: list[Candidate] = []
        self.seen = 0

    def add(self, c: Candidate) -> None:
        self.batch.append(c)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        for c in self.needs_work(batch) if self.needs_work is not None else batch:
            if c.url in self.held:
                continue
            self.seen += 1  # newer first; of one date, the first listed first
            item = (c.published.timestamp() if c.published else float("-inf"), -self.seen, c)
            if len(self.heap) < self.keep:
                heapq.heappush(self.heap, item)
            else:
                item = heapq.heappushpop(self.heap, item)
                self.held.discard(item[2].url)
                if item[2] is c:
                    continue
            self.held.add(c.url)

    def newest_first(self) -> list[Candidate]:
        self.flush()
        return [c for _, _, c in sorted(self.heap, key=lambda x: (x[0], x[1]), reverse=True)]


async def discover_sitemap(source: SitemapSource, http: SourceHTTP,
                           needs_work: NeedsWork | None = None) -> list[Candidate]:
    """The newest candidates that need work (one more than `source.limit`: then the caller knows more wait),
    newest first; sitemaps are read one entry at a time, and only that many are held."""
    from .base import SourceError

    assert source.url
    if _looks_like_sitemap(source.url):
        start = [source.url]
    else:
        start = await http.fetcher.robots.sitemaps(source.url)
        if not start:
            p = urlsplit(source.url)
            start = [f"{p.scheme}://{p.netloc}/sitemap.xml"]
        log.info("source %s: sitemaps from robots.txt: %s", source.name, ", ".join(start[:5]))
    cutoff = datetime.now(UTC) - timedelta(days=source.max_age_days)
    queue: deque[tuple[str, int]] = deque((u, 1) for u in start)
    seen: set[str] = set()
    out = _Newest(source.limit + 1, needs_work)
    listed = 0
    fetched = 0
    errors: list[str] = []
    while queue and fetched < source.max_sitemaps:
        url, depth = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        fetched += 1
        try:
            resp = await http.get(url, key=url + LIST_OF_PAGES, as_text=False)  # (its XML reader decodes it)
        except FetchError as exc:
            errors.append(f"{url}: {exc.reason}")
            continue
        if resp is None:  # 304: a list of pages, unchanged
            continue
        body, resp = resp.body, None  # the parse below is all that holds the file
        too_deep = False
        try:
            for what, loc, when, title in iter_sitemap(body, url, http.fetcher.cfg.max_bytes):
                if what == "sitemap":  # an index is read whole every run: its 304 would hide what changed in
                    http.validators.pop(url + LIST_OF_PAGES, None)  # the sitemaps it lists, or a failed one
                    if depth >= source.max_depth:
                        if not too_deep:
                            errors.append(f"{loc}: deeper than max_depth ({source.max_depth}); skipped")
                        too_deep = True
                    elif when is None or when >= cutoff:
                        queue.append((loc, depth + 1))
                elif when is None or when >= cutoff:
                    listed += 1
                    out.add(Candidate(url=loc, source=source.name, category=source.category, title=title,
                                      published=when, pick=source.is_pick))
        except (SourceError, FetchError) as exc:
            errors.append(str(exc) if isinstance(exc, SourceError) else f"{url}: {exc.reason}")
            continue
        finally:
            del body
    if queue and fetched >= source.max_sitemaps:
        log.warning("source %s: stopped after max_sitemaps (%d) sitemap files", source.name, source.max_sitemaps)
    if not listed and errors and not http.not_modified:
        raise SourceError("; ".join(errors[:3]))
    for e in errors[:5]:
        log.warning("source %s: %s", source.name, e)
    return out.newest_first()  # newest first; undated last


KINDS = ("sitemap",)  # the source kinds this module reads: a sitemap or its index
OPTIONS = SitemapSource  # their options (in config_sources, as the config may not import this package)


async def discover(source: SitemapSource, http: SourceHTTP, reading: Reading) -> list[Candidate]:
    return await discover_sitemap(source, http, reading.needs_work)  # streamed: holds the newest few only
