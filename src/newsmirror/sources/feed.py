"""RSS and Atom feeds (feedparser)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from urllib.parse import urljoin

import feedparser

from ..config import Source
from ..ids import normalise_url
from ..models import Candidate
from .http import SourceHTTP


def _when(entry: dict, key: str) -> datetime | None:
    parsed = dict.get(entry, f"{key}_parsed")  # not entry.get: feedparser maps updated to published
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError):
        return None


def refuses_entities(body: bytes) -> bool:
    """A DOCTYPE that declares entities has no business in a feed or sitemap: billion laughs, XXE."""
    head = body[:65536]
    return b"<!ENTITY" in head or b"<!entity" in head


def parse_feed(body: bytes, url: str, source: Source) -> list[Candidate]:
    from . import SourceError

    if refuses_entities(body):
        raise SourceError(f"{url}: the feed declares XML entities (an entity-expansion or external-entity "
                          f"attack); refused")
    feed = feedparser.parse(body, response_headers={"content-location": url},
                            resolve_relative_uris=False, sanitize_html=False)
    if not feed.entries:
        why = f" ({feed.bozo_exception})" if feed.get("bozo") else ""
        raise SourceError(f"{url}: no entries in the feed{why}; check sources.url points at an RSS/Atom feed")
    out = []
    for entry in feed.entries:
        link = entry.get("link") or (entry.get("id") if str(entry.get("id", "")).startswith("http") else None)
        if not link:
            continue
        link = urljoin(url, link)
        if not link.startswith(("http://", "https://")):
            continue
        out.append(Candidate(
            url=normalise_url(link), source=source.name, category=source.category,
            title=(entry.get("title") or "").strip() or None,
            published=_when(entry, "published"), updated=_when(entry, "updated"), pick=source.is_pick,
        ))
    return out


async def discover_feed(source: Source, http: SourceHTTP) -> list[Candidate]:
    assert source.url
    resp = await http.get(source.url)
    if resp is None:  # 304: unchanged since the last run
        return []
    return parse_feed(resp.body, resp.final_url, source)
