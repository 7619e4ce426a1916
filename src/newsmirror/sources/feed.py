"""RSS and Atom feeds.

A well-formed RSS 2.0, RSS 1.0 or Atom feed is read with lxml, which takes a
few percent of feedparser's time (at a 1,000-item feed, seconds a run); any
feed that is not (malformed XML, another format, a date it cannot read) is
read by feedparser, which copes with the rest of the web's feeds.
"""

from __future__ import annotations

import calendar
import io
from datetime import UTC, datetime

import lxml.etree

from ..config_sources import FeedSource
from ..dates import parse_feed_date
from ..ids import absolute_url
from ..models import Candidate
from .base import Reading
from .http import SourceHTTP
from .xmlsafe import canonical_xml, http_charset, refuses_entities


def _when(entry: dict, key: str) -> datetime | None:
    parsed = dict.get(entry, f"{key}_parsed")  # not entry.get: feedparser maps updated to published
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError):
        return None


# (link, id, title, published, updated) of one entry
Entry = tuple[str | None, str | None, str | None, datetime | None, datetime | None]

_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"


class _Unusual(Exception):
    """Something the lxml reader leaves to feedparser."""


def _date(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_feed_date(text)
    except ValueError:
        raise _Unusual from None  # feedparser's reading of it is the one we keep


def _child_text(el: lxml.etree._Element, *tags: str) -> str | None:
    for tag in tags:
        found = el.find(tag)
        if found is not None:
            if len(found):  # markup inside a field: feedparser's rules for it
                raise _Unusual
            return found.text or ""
    return None


def _rss_item(item: lxml.etree._Element) -> Entry:
    guid = item.find("guid")
    link = _child_text(item, "link")
    if not link and guid is not None and guid.get("isPermaLink", "true").lower() == "true":
        link = guid.text
    return (link, guid.text if guid is not None else None, _child_text(item, "title"),
            _date(_child_text(item, "pubDate", f"{_DCTERMS}issued")),
            _date(_child_text(item, f"{_ATOM}updated", f"{_DCTERMS}modified", f"{_DC}date")))


def _atom_entry(entry: lxml.etree._Element) -> Entry:
    link = None
    for el in entry.iterfind(f"{_ATOM}link"):
        if el.get("rel", "alternate") == "alternate":
            link = el.get("href")
            break
    title = entry.find(f"{_ATOM}title")
    if title is not None and (len(title) or title.get("type", "text") not in ("text", "html")):
        raise _Unusual
    updated = _date(_child_text(entry, f"{_ATOM}updated", f"{_ATOM}modified"))
    published = _date(_child_text(entry, f"{_ATOM}published", f"{_ATOM}issued"))
    return (link, _child_text(entry, f"{_ATOM}id"), title.text if title is not None else None, published, updated)


def _rdf_item(item: lxml.etree._Element) -> Entry:
    return (_child_text(item, f"{_RSS1}link"), item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"),
            _child_text(item, f"{_RSS1}title"), _date(_child_text(item, f"{_DCTERMS}issued")),
            _date(_child_text(item, f"{_DCTERMS}modified", f"{_DC}date")))


# each kind of feed by its root's tag: what it calls an entry, the tag of the entry's parent (None: the root itself),
# and how an entry is read
_FEEDS = {"rss": ("item", "channel", _rss_item), f"{_ATOM}feed": (f"{_ATOM}entry", None, _atom_entry),
          "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}RDF": (f"{_RSS1}item", None, _rdf_item)}


def _lxml_entries(body: bytes) -> list[Entry]:
    """The entries of a feed, read as the parser goes: each entry is dropped from the tree once read, so that a
    feed of 10,000 items never stands whole in memory as a tree (20 MB for a 4 MB feed)."""
    if b"xml:base" in body:
        raise _Unusual  # relative links against a declared base: feedparser resolves those
    out: list[Entry] = []
    root: lxml.etree._Element | None = None
    try:
        for event, el in lxml.etree.iterparse(io.BytesIO(body), events=("start", "end"), resolve_entities=False,
                                              no_network=True, load_dtd=False, huge_tree=False, recover=False):
            if root is None:
                root = el
                if root.tag not in _FEEDS:
                    raise _Unusual
                tag, parent_tag, read = _FEEDS[root.tag]
                continue
            if event != "end" or el.tag != tag:
                continue
            parent = el.getparent()
            if parent is None or (parent is not root if parent_tag is None else (
                    parent.tag != parent_tag or parent.getparent() is not root)):
                continue
            out.append(read(el))
            el.clear()
            while el.getprevious() is not None:  # (what came before it in its parent: read, or not an entry)
                del parent[0]
    except (lxml.etree.XMLSyntaxError, ValueError):
        raise _Unusual from None
    if root is None:
        raise _Unusual
    if any(t is not None and "&" in t for _, _, t, _, _ in out):
        raise _Unusual  # an escaped entity in a title: feedparser decodes those
    return out


def _feedparser_entries(body: bytes, url: str) -> list[Entry]:
    import feedparser  # here, not at the top: a run whose feeds lxml reads never pays its 0.1 s import

    from .base import SourceError

    feed = feedparser.parse(body, response_headers={"content-location": url},
                            resolve_relative_uris=False, sanitize_html=False)
    if not feed.entries:
        why = f" ({feed.bozo_exception})" if feed.get("bozo") else ""
        raise SourceError(f"{url}: no entries in the feed{why}; check sources.url points at an RSS/Atom feed")
    return [(e.get("link"), e.get("id"), e.get("title"), _when(e, "published"), _when(e, "updated"))
            for e in feed.entries]


MAX_TITLE = 500  # characters of a feed's title kept for an article (a title is a line, not a book)
MAX_URL = 4096  # a link longer than this is no article's address


def parse_feed(body: bytes, url: str, source: FeedSource, charset: str | None = None) -> list[Candidate]:
    from .base import SourceError

    body = canonical_xml(body, charset)  # one decoding, for the check and both readers alike
    if refuses_entities(body):
        raise SourceError(f"{url}: the feed declares XML entities (an entity-expansion or external-entity "
                          f"attack); refused")
    try:
        entries = _lxml_entries(body)
    except _Unusual:
        entries = []
    if not entries:
        entries = _feedparser_entries(body, url)
    out = []
    for link, entry_id, title, published, updated in entries:
        link = link or (entry_id if str(entry_id or "").startswith("http") else None)
        if not link or len(link) > MAX_URL:
            continue
        link = absolute_url(url, link)
        if link is None:
            continue
        out.append(Candidate(
            url=link, source=source.name, category=source.category,
            title=(title or "").strip()[:MAX_TITLE] or None, published=published, updated=updated,
            pick=source.is_pick,
        ))
    return out


async def discover_feed(source: FeedSource, http: SourceHTTP) -> list[Candidate]:
    assert source.url
    resp = await http.get(source.url, as_text=False)  # (parse_feed decodes its bytes)
    if resp is None:  # 304: unchanged since the last run
        return []
    return parse_feed(resp.body, resp.final_url, source, http_charset(resp.headers))


KINDS = ("rss", "atom")  # the source kinds this module reads: a feed (RSS or Atom)
OPTIONS = FeedSource  # their options (in config_sources, as the config may not import this package)


async def discover(source: FeedSource, http: SourceHTTP, reading: Reading) -> list[Candidate]:
    return await discover_feed(source, http)
