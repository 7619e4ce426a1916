"""The headline and the publication date as the page shows them.

Metadata (og:title, JSON-LD) is often truncated, stale or carries the site's
name; <title> nearly always carries it. The visible heading that agrees with
them is the best title. Many Chinese pages have no date metadata at all: the
date is the line under the headline ("2019-09-07 13:43:45 来源: …",
"2019年11月25日 16:04", "10-08 12:00").
"""

from __future__ import annotations

import re
from datetime import datetime

from lxml.html import HtmlElement

from ..dates import parse_date, parse_text_date

_TITLE_MARK = re.compile(r"(?:^|[-_\s])(?:title|headline|heading|tit|biaoti)(?:$|[-_\s\d])", re.I)
_SEP = re.compile(r"\s*(?:[|｜_–—]|--|-\s|\s-)\s*")


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _cands(doc: HtmlElement) -> list[tuple[int, HtmlElement, str]]:
    """Visible heading-like elements: (rank, element, text); a lower rank is a better kind."""
    out = []
    for i, el in enumerate(doc.iter("h1", "h2", "h3", "div", "p", "span", "strong", "td", "header")):
        tag = el.tag
        if tag in ("h1", "h2", "h3"):
            rank = {"h1": 0, "h2": 2, "h3": 3}[tag]
        elif _TITLE_MARK.search(f"{el.get('class', '')} {el.get('id', '')}"):
            rank = 1
        else:
            continue
        text = _norm(el.text_content())
        if 4 <= len(text) <= 200:
            out.append((rank, el, text))
        if i > 5000:
            break
    return out


def best_title(doc: HtmlElement, meta_title: str | None,
               page_title: str | None) -> tuple[str | None, HtmlElement | None]:
    """The page's headline and the element that shows it (None when only metadata has it)."""
    meta_title = _norm(meta_title) or None
    page_title = _norm(page_title) or None
    cands = _cands(doc)
    agree = []
    for rank, el, text in cands:
        exact = bool(meta_title) and text == meta_title
        prefix = bool(meta_title) and (text.startswith(meta_title) or meta_title.startswith(text))
        inside = bool(page_title) and text in page_title
        if exact or prefix or inside:
            # agreeing with the article's own metadata beats being a part of <title> (a logo h1 is too)
            agree.append((not exact, not prefix, not inside, rank, -len(text), el, text))
    if agree:
        agree.sort(key=lambda x: x[:5])
        el, text = agree[0][5], agree[0][6]
        return text, el
    if meta_title:
        return meta_title, None
    h1s = [(el, t) for rank, el, t in cands if rank == 0]
    if len(h1s) == 1:
        return h1s[0][1], h1s[0][0]
    if page_title:
        parts = [p for p in _SEP.split(page_title) if p]
        return (max(parts, key=len) if parts else page_title), None
    if h1s:
        return h1s[0][1], h1s[0][0]
    return None, None


_DATE_MARK = re.compile(r"date|time|pub|post-?info|info|source|meta|byline|author|laiyuan|fabu|riqi", re.I)


def _url_year(url: str | None) -> int | None:
    m = re.search(r"/((?:19|20)\d\d)(?:[/_-]?[01]\d)?", url or "")
    return int(m.group(1)) if m else None


def find_date(doc: HtmlElement, title_el: HtmlElement | None, url: str | None = None) -> datetime | None:
    """The publication date shown on the page: in date-marked elements, else in the text under the headline."""
    hint = _url_year(url)
    texts: list[str] = []
    if title_el is not None:
        # the date line is near the headline: the text right after it (and the headline's own block)
        following = title_el.xpath("following::text()[normalize-space()][position() <= 40]")
        texts.append(" ".join(str(t) for t in following)[:800])
    for el in doc.iter("time"):  # machine-readable, with its zone
        iso = parse_date(el.get("datetime")) if el.get("datetime") else None
        if iso:
            return iso
    times = [el.text_content() for el in doc.iter("time")]
    marked = []
    body = doc.find("body")
    for el in (body.iter() if body is not None else ()):
        if not isinstance(el.tag, str) or el.tag in ("script", "style"):
            continue
        if _DATE_MARK.search(f"{el.get('class', '')} {el.get('id', '')}"):
            t = _norm(el.text_content())
            if 6 <= len(t) <= 300:
                marked.append(t)
                if len(marked) >= 20:
                    break
    for t in times + texts + marked:
        dt = parse_text_date(t, hint)
        if dt:
            return dt
    return None
