"""Listing pages: a section front whose article links are picked by CSS selector or URL regex."""

from __future__ import annotations

import logging
import re

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from ..config_sources import ListingSource
from ..fetch import FetchError
from ..ids import absolute_url
from ..models import Candidate
from .base import Reading
from .http import SourceHTTP

log = logging.getLogger("newsmirror")


def parse_listing(html: str, url: str, source: ListingSource) -> tuple[list[Candidate], str | None]:
    """Article candidates on one listing page, and the next page's URL (if any)."""
    # lxml refuses a str with an XML declaration (XHTML pages) and raises on a page with no elements
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    if not html.strip():
        return [], None
    try:
        doc = lxml.html.document_fromstring(html)
    except lxml.etree.ParserError:
        return [], None
    if source.link_selector:
        anchors = CSSSelector(source.link_selector)(doc)
        anchors = [a if a.tag == "a" else (a.find(".//a") if a.find(".//a") is not None else a) for a in anchors]
    else:
        anchors = doc.iter("a")
    pattern = re.compile(source.link_pattern) if source.link_pattern else None
    out = []
    for a in anchors:
        href = a.get("href")
        if not href:
            continue
        link = absolute_url(url, href)
        if link is None:
            continue
        if pattern and not pattern.search(link):
            continue
        title = " ".join(a.text_content().split()) or None
        out.append(Candidate(url=link, source=source.name, category=source.category, title=title,
                             pick=source.is_pick))
    nxt = None
    if source.next_selector:
        found = CSSSelector(source.next_selector)(doc)
    else:
        found = doc.xpath('//a[@rel="next"] | //link[@rel="next"]')
    for el in found:
        if el.get("href") and (nxt := absolute_url(url, el.get("href"), normalise=False)) is not None:
            break
    return out, nxt


async def discover_listing(source: ListingSource, http: SourceHTTP) -> list[Candidate]:
    assert source.url
    url: str | None = source.url
    seen_pages: set[str] = set()
    out: list[Candidate] = []
    for _ in range(source.max_pages):
        if not url or url in seen_pages:
            break
        first = not seen_pages
        seen_pages.add(url)
        try:
            resp = await http.get(url, conditional=first)  # only the front page is asked conditionally
        except FetchError as exc:
            if first:
                raise
            log.warning("source %s: page %s: %s; keeping the links of the pages before it", source.name, url,
                        exc.reason)
            # and asking for the front page in full next time: a 304 to it would skip the pages not read
            http.validators[source.url] = (None, None)
            break
        if resp is None:  # 304: the front page is unchanged, so are the articles it lists
            return []
        found, url = parse_listing(resp.text, resp.final_url, source)
        out.extend(found)
    if not out:
        from .base import SourceError

        raise SourceError(f"{source.url}: no article links matched; check link_selector / link_pattern of "
                          f"source {source.name!r}")
    return out


KINDS = ("listing",)  # the source kinds this module reads: a section front page
OPTIONS = ListingSource  # their options (in config_sources, as the config may not import this package)


async def discover(source: ListingSource, http: SourceHTTP, reading: Reading) -> list[Candidate]:
    return await discover_listing(source, http)
