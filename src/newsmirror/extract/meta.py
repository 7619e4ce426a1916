"""Page metadata: JSON-LD first, then Open Graph / article:* / <meta>, then the markup itself."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from lxml import html as lxml_html

from ..dates import parse_date


@dataclass
class PageMeta:
    title: str | None = None
    canonical: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    image: str | None = None
    description: str | None = None
    language: str | None = None
    site_name: str | None = None
    section: str | None = None
    body_text: str | None = None  # JSON-LD articleBody
    is_article_type: bool = False  # JSON-LD says *Article/BlogPosting, or og:type = article
    title_from_meta: bool = False  # the title came from JSON-LD or og/twitter, not from <title> or <h1>


def _jsonld_items(doc: lxml_html.HtmlElement) -> list[dict]:
    items: list[dict] = []
    for script in doc.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, TypeError):
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            d = stack.pop(0)
            if isinstance(d, dict):
                if "@graph" in d and isinstance(d["@graph"], list):
                    stack.extend(d["@graph"])
                items.append(d)
            elif isinstance(d, list):
                stack.extend(d)
    return items


def _first_str(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list) and value:
        return _first_str(value[0])
    if isinstance(value, dict):
        return _first_str(value.get("url") or value.get("name") or value.get("@id"))
    return None


def _metas(doc: lxml_html.HtmlElement) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in doc.iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        content = m.get("content")
        if key and content and key not in out:
            out[key] = content.strip()
    return out


_TITLE_SPLIT = re.compile(r"\s+[|_\-–—]\s+|\s*[|｜]\s*")


def clean_title(title: str, h1s: list[str]) -> str:
    """Drop a ' | Site name' tail from a <title> when an <h1> or the first part says the real title."""
    title = " ".join(title.split())
    parts = _TITLE_SPLIT.split(title)
    for h in h1s:
        if h and h in title and h not in parts[1:]:  # an <h1> that is only the site-name tail is the logo
            return h
    return parts[0] if parts and len(parts[0]) >= 4 else title


def page_meta(doc: lxml_html.HtmlElement, url: str | None) -> PageMeta:
    m = PageMeta()
    metas = _metas(doc)
    for item in _jsonld_items(doc):
        t = item.get("@type")
        types = t if isinstance(t, list) else [t]
        if not any(isinstance(x, str) and ("Article" in x or x in ("BlogPosting", "Report")) for x in types):
            continue
        m.is_article_type = True
        m.title = m.title or _first_str(item.get("headline"))
        m.published = m.published or parse_date(_first_str(item.get("datePublished")))
        m.updated = m.updated or parse_date(_first_str(item.get("dateModified")))
        author = item.get("author")
        if isinstance(author, list):
            author = author[0] if author else None
        if isinstance(author, dict) and author.get("@type") != "Organization":
            m.author = m.author or _first_str(author.get("name"))
        elif isinstance(author, str):
            m.author = m.author or author.strip() or None
        m.image = m.image or _first_str(item.get("image"))
        m.body_text = m.body_text or _first_str(item.get("articleBody"))
        m.section = m.section or _first_str(item.get("articleSection"))
    h1s = [" ".join(h.text_content().split()) for h in doc.iter("h1")]
    m.title = m.title or metas.get("og:title") or metas.get("twitter:title")
    m.title_from_meta = bool(m.title)
    if not m.title:
        t = doc.find(".//title")
        if t is not None and t.text_content().strip():
            m.title = clean_title(t.text_content(), h1s)
        elif h1s:
            m.title = h1s[0]
    if m.title:
        m.title = " ".join(m.title.split())
    m.published = m.published or parse_date(
        metas.get("article:published_time") or metas.get("og:published_time") or metas.get("pubdate")
        or metas.get("publishdate") or metas.get("datepublished") or metas.get("date"))
    m.updated = m.updated or parse_date(metas.get("article:modified_time") or metas.get("og:updated_time")
                                         or metas.get("datemodified"))
    if not m.published:
        for t in doc.iter("time"):
            m.published = parse_date(t.get("datetime") or t.text_content())
            if m.published:
                break
    m.author = m.author or metas.get("author") or metas.get("article:author")
    if m.author and m.author.startswith("http"):
        m.author = None
    m.is_article_type = m.is_article_type or metas.get("og:type", "").lower() == "article"
    m.image = m.image or metas.get("og:image") or metas.get("twitter:image")
    m.description = metas.get("og:description") or metas.get("description")
    m.site_name = metas.get("og:site_name")
    m.section = m.section or metas.get("article:section")
    canon = doc.xpath('//link[@rel="canonical"]/@href') or ([metas["og:url"]] if "og:url" in metas else [])
    if canon and canon[0].strip():
        m.canonical = urljoin(url or "", canon[0].strip())
    m.language = (doc.get("lang") or metas.get("og:locale") or metas.get("content-language") or "").strip() or None
    if m.image and url:
        m.image = urljoin(url, m.image)
    return m


_CAPTION_CLASS = re.compile(r"caption|credit|img[-_]?desc|pic[-_]?(?:desc|note|info)|photo[-_]?(?:desc|text)",
                            re.IGNORECASE)


def same_image(a: str, b: str) -> bool:
    if a == b:
        return True
    name_a = a.split("?")[0].rsplit("/", 1)[-1]
    name_b = b.split("?")[0].rsplit("/", 1)[-1]
    return bool(name_a) and name_a == name_b


def find_image_element(doc: lxml_html.HtmlElement, image_url: str, base: str | None) -> lxml_html.HtmlElement | None:
    for img in doc.iter("img"):
        for attr in ("src", "data-src", "data-original", "data-lazy-src"):
            src = img.get(attr)
            if src and same_image(urljoin(base or "", src.strip()), image_url):
                return img
    return None


def caption_near(img: lxml_html.HtmlElement) -> str | None:
    """The caption of an image: its figure's <figcaption>, or a caption-classed element near it."""
    node = img
    for _ in range(3):
        parent = node.getparent()
        if parent is None:
            break
        for cand in parent.iter():
            if cand is img or not isinstance(cand.tag, str):
                continue
            if cand.tag == "figcaption" or _CAPTION_CLASS.search(cand.get("class", "") + " " + cand.get("id", "")):
                text = " ".join(cand.text_content().split())
                if text:
                    return text
        node = parent
    return None
