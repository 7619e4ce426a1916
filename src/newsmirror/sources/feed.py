"""RSS and Atom feeds (feedparser)."""

from __future__ import annotations

import calendar
import codecs
import re
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


def _as_text(body: bytes) -> str:
    """Enough of a decoding to see markup: UTF-16/32 by BOM or by a NUL beside the first '<', else latin-1."""
    for bom, enc in ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
                     (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(enc, "replace")
    if body[:2] == b"<\x00":
        return body.decode("utf-16-le", "replace")
    if body[:2] == b"\x00<":
        return body.decode("utf-16-be", "replace")
    return body.decode("latin-1")


_PROLOG_STOP = re.compile(r"[<\"']")


def _prolog(text: str) -> str:
    """What comes before the root element: the XML declaration, comments, PIs and the DOCTYPE with its DTD.

    One pass; comments, PIs and quoted literals (a SYSTEM id may hold a '<') are skipped whole, so a
    '<x' inside one does not end the prolog early.
    """
    i = 0
    while True:
        m = _PROLOG_STOP.search(text, i)
        if m is None:
            return text
        j = m.start()
        if text[j] != "<":
            end, skip = text.find(text[j], j + 1), 1
        elif text.startswith("<!--", j):
            end, skip = text.find("-->", j + 4), 3
        elif text.startswith("<?", j):
            end, skip = text.find("?>", j + 2), 2
        elif text.startswith("<!", j):  # <!DOCTYPE, and the declarations of its internal subset
            end, skip = j, 2
        else:
            return text[:j]
        if end < 0:
            return text
        i = end + skip


def refuses_entities(body: bytes) -> bool:
    """A DOCTYPE that declares entities has no business in a feed or sitemap: billion laughs, XXE.

    The whole prolog is looked at, however long: a fixed window is bypassed by a long comment before
    the DOCTYPE.
    """
    text = _as_text(body).lower()
    return "<!entity" in text and "<!entity" in _prolog(text)


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
