"""Sitemaps: sitemap indexes, gzip, Google News sitemaps, discovery from robots.txt.

Bounded everywhere: at most `max_sitemaps` files, `max_depth` levels of
indexes, `fetch.max_bytes` per file (decompressed), 50,000 URLs per file;
only URLs newer than `max_age_days` (by news:publication_date or lastmod;
undated URLs are taken). XML is parsed without DTDs, entities or network.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from lxml import etree

from ..config import Source
from ..extract.meta import parse_date
from ..fetch.fetcher import FetchError, decompress
from ..ids import absolute_url
from ..models import Candidate
from .feed import refuses_entities
from .http import SourceHTTP

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


def parse_sitemap(body: bytes, url: str, cap: int) -> tuple[list[tuple[str, datetime | None]],
                                                            list[tuple[str, datetime | None, str | None]]]:
    """(child sitemaps with lastmod, page URLs with date and title) of one sitemap file."""
    from . import SourceError

    if body[:2] == b"\x1f\x8b":  # a .xml.gz served as a file, not as Content-Encoding
        body = decompress(body, "gzip", cap, url)
    if refuses_entities(body):
        raise SourceError(f"{url}: the sitemap declares XML entities; refused")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{url}: not a sitemap ({exc})") from None
    if root is None:
        raise SourceError(f"{url}: not a sitemap (empty or not XML)")
    kind = _local(root.tag)
    children: list[tuple[str, datetime | None]] = []
    pages: list[tuple[str, datetime | None, str | None]] = []
    if kind == "sitemapindex":
        for sm in root:
            loc = _child_text(sm, "loc")
            if loc and (child := absolute_url(url, loc, normalise=False)) is not None:
                children.append((child, parse_date(_child_text(sm, "lastmod"))))
    elif kind == "urlset":
        for u in root:
            if _local(u.tag) != "url":
                continue
            loc = _child_text(u, "loc")
            if not loc or (loc := absolute_url(url, loc)) is None:
                continue
            when = parse_date(_child_text(u, "lastmod"))
            title = None
            for news in u:
                if _local(news.tag) == "news":
                    when = parse_date(_child_text(news, "publication_date")) or when
                    title = _child_text(news, "title")
            pages.append((loc, when, title))
            if len(pages) >= MAX_URLS_PER_FILE:
                break
    else:
        raise SourceError(f"{url}: not a sitemap (root element <{kind}>)")
    return children, pages


def _looks_like_sitemap(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith((".xml", ".xml.gz", ".gz")) or "sitemap" in path


# the validators of a sitemap are kept under its URL and this mark, and only for a list of pages (urlset):
# one kept by an older version under the bare URL may belong to an index, and is not used
LIST_OF_PAGES = "#urlset"


async def discover_sitemap(source: Source, http: SourceHTTP) -> list[Candidate]:
    from . import SourceError

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
    out: list[tuple[datetime | None, Candidate]] = []
    fetched = 0
    errors: list[str] = []
    while queue and fetched < source.max_sitemaps:
        url, depth = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        fetched += 1
        try:
            resp = await http.get(url, key=url + LIST_OF_PAGES)
        except FetchError as exc:
            errors.append(f"{url}: {exc.reason}")
            continue
        if resp is None:  # 304: a list of pages, unchanged
            continue
        try:
            children, pages = parse_sitemap(resp.body, resp.final_url, http.fetcher.cfg.max_bytes)
        except (SourceError, FetchError) as exc:
            errors.append(str(exc) if isinstance(exc, SourceError) else f"{url}: {exc.reason}")
            continue
        if children:  # an index is read whole every run: its 304 would hide what changed in the sitemaps it
            http.validators.pop(url + LIST_OF_PAGES, None)  # lists, or one that failed or was not reached
        for child, lastmod in children:
            if depth >= source.max_depth:
                errors.append(f"{child}: deeper than max_depth ({source.max_depth}); skipped")
                break
            if lastmod is None or lastmod >= cutoff:
                queue.append((child, depth + 1))
        for loc, when, title in pages:
            if when is not None and when < cutoff:
                continue
            out.append((when, Candidate(url=loc, source=source.name, category=source.category,
                                        title=title, published=when, pick=source.is_pick)))
    if queue and fetched >= source.max_sitemaps:
        log.warning("source %s: stopped after max_sitemaps (%d) sitemap files", source.name, source.max_sitemaps)
    if not out and errors and not http.not_modified:
        raise SourceError("; ".join(errors[:3]))
    for e in errors[:5]:
        log.warning("source %s: %s", source.name, e)
    # newest first; undated last
    out.sort(key=lambda x: x[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return [c for _, c in out]
