"""extract: a page's HTML → an Article (title, dates, lead image + caption, body fragment).

Per-source CSS rules when given; else generic extraction. When rules stop
matching (a site redesign) the generic extractor takes over and the Article
records it in `extracted_by` and `notes`. A page with no body raises
ExtractError with the reason; nothing empty is ever returned.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import urljoin

import lxml.etree
import lxml.html
from lxml.cssselect import CSSSelector

from ..config import Rules
from ..dates import parse_date
from ..htmlfrag import inner_html
from ..ids import absolute_url, normalise_url, same_site
from ..models import Article
from .density import NotAnArticle, find_content
from .headline import best_title, find_date
from .meta import caption_near, find_image_element, page_meta
from .text import text_size

MIN_BODY_CHARS = 20  # as text_size counts: 20 letters or 10 CJK characters
# a sentence on the page: a page that shows one is no empty JavaScript shell, whatever else went wrong
_SENTENCE = re.compile(r"[\u3400-\u9fff][^。！？]{4,}[。！？]|[A-Za-z][^.!?]{15,}[.!?](?:\s|$)")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_ERROR_TITLE = re.compile(
    r"\b(?:404|403|410|500|502|503)\b|not found|page (?:not found|unavailable)|access denied|forbidden|"
    r"server error|页面不存在|页面未找到|找不到(?:页面|网页)|您访问的页面|出错了|无法访问|文章不存在|已被删除",
    re.I,
)
_FEED_START = re.compile(r"\s*<(?:rss|feed|rdf:RDF)\b")
_LEAD_JUNK = re.compile(r"<!--.*?-->|<\?[^>]*\?>|<!DOCTYPE[^>]*>", re.S | re.I)


def _is_feed(html: str) -> bool:
    return bool(_FEED_START.match(_LEAD_JUNK.sub("", html[:4000])))


class ExtractError(Exception):
    """A page that yields no article; `reason` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_html(html: str) -> lxml.html.HtmlElement:
    if not html or not html.strip():
        raise ExtractError("empty page")
    html = _XML_DECL.sub("", html, count=1)  # lxml refuses str input that declares an encoding
    if _is_feed(html):
        raise ExtractError("a feed (RSS/Atom), not an article page")
    try:
        return lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"not parseable as HTML ({exc})") from None


def _text(el: lxml.html.HtmlElement) -> str:
    return " ".join(el.text_content().split())


@functools.lru_cache(maxsize=512)
def _css(selector: str) -> CSSSelector:
    """A compiled CSS selector, compiled once per run and not once per page."""
    return CSSSelector(selector)


_BRACKETED = re.compile(r"\[[^\]]*\]|\([^)]*\)|\"[^\"]*\"|'[^']*'")


@functools.lru_cache(maxsize=512)
def _has_combinator(selector: str) -> bool:
    """Whether a CSS selector relates elements (descendant, child or sibling combinators), outside its
    attribute tests and pseudo-class arguments: then it may name elements outside the one it is run on."""
    return bool(re.search(r"[\s>+~]", _BRACKETED.sub("", selector.strip())))


def _rule_fields(doc: lxml.html.HtmlElement, rules: Rules, url: str | None) -> tuple[dict, list[str]]:
    """The fields other than the body that the rules find (the page is only read), and what they missed."""
    found: dict = {}
    missed: list[str] = []
    if rules.title:
        nodes = _css(rules.title)(doc)
        if nodes and _text(nodes[0]):
            found["title"] = _text(nodes[0])
        else:
            missed.append(f"title {rules.title!r} matched nothing")
    if rules.date:
        nodes = _css(rules.date)(doc)
        when = parse_date(nodes[0].get("datetime") or nodes[0].get("content") or _text(nodes[0])) if nodes else None
        if when:
            found["published"] = when
        else:
            missed.append(f"date {rules.date!r} matched no date")
    if rules.image:
        nodes = _css(rules.image)(doc)
        img = nodes[0] if nodes else None
        if img is not None and img.tag != "img":
            img = img.find(".//img")
        src = (img.get("src") or img.get("data-src")) if img is not None else None
        if src:
            found["image"] = urljoin(url or "", src.strip())
            found["_image_el"] = img
        else:
            missed.append(f"image {rules.image!r} matched no image")
    if rules.caption:
        nodes = _css(rules.caption)(doc)
        if nodes and _text(nodes[0]):
            found["caption"] = _text(nodes[0])
        else:
            missed.append(f"caption {rules.caption!r} matched nothing")
    return found, missed


def _rule_body(doc: lxml.html.HtmlElement, rules: Rules) -> tuple[lxml.html.HtmlElement | None, list[str]]:
    """The element holding the body the rules select, without what their `remove` selectors match inside it;
    several matches are gathered under one new <div>. Without a body (no `body` rule, or it found nothing),
    the `remove` selectors clean the whole page instead, for the generic extractor that then reads it.
    Only what the `remove` selectors match inside a body match (or the match itself) goes. A selector that
    may name what is around the body (`#main .share`) is matched against the whole page; a plain one (`.ad`)
    gives the same inside the match alone, and is looked for only there, which is far cheaper."""
    nodes = _css(rules.body)(doc) if rules.body else []
    outer = [n for n in nodes if not any(a in nodes for a in n.iterancestors())]  # a match inside another: with it
    in_page = [el for sel in rules.remove if _has_combinator(sel) for el in _css(sel)(doc)] if outer else []
    kept: list[lxml.html.HtmlElement] = []
    for n in outer:
        hits = [el for sel in rules.remove if not _has_combinator(sel) for el in _css(sel)(n)]
        hits += [el for el in in_page if el is n or any(a is n for a in el.iterancestors())]
        if any(el is n for el in hits):
            continue  # the match itself is to be removed
        for el in hits:
            if el.getparent() is not None:
                el.drop_tree()
        kept.append(n)
    missed: list[str] = []
    if rules.body and not kept:
        missed = [f"body {rules.body!r} matched nothing"]
    elif rules.body and sum(len(_text(n)) for n in kept) < MIN_BODY_CHARS:
        missed = [f"body {rules.body!r} matched no text"]
    if not rules.body or missed:
        for sel in rules.remove:
            for el in _css(sel)(doc):
                if el.getparent() is not None:
                    el.drop_tree()
        return None, missed
    if len(kept) == 1:
        return kept[0], []
    holder = lxml.html.Element("div")
    for n in kept:
        holder.append(n)
    return holder, []


def _drop_lead_image(frag: lxml.html.HtmlElement, image: str, caption: str | None, base: str | None) -> bool:
    """Remove the lead image (and its caption) from the body when the body repeats it: it is shown above.
    True when something was removed."""
    from .meta import same_image

    changed = False
    for img in list(frag.iter("img")):
        src = img.get("src") or img.get("data-src") or ""
        if src and same_image(urljoin(base or "", src), image):
            parent = img.getparent()
            target = parent if parent is not None and parent.tag == "figure" else img
            if target is not frag:
                target.drop_tree()
                changed = True
    want = " ".join(caption.split()) if caption else ""
    if want and want in " ".join(frag.text_content().split()):  # (else no element of the body can hold it)
        for el in list(frag.iter()):
            if el is not frag and isinstance(el.tag, str) and el.getparent() is not None \
                    and " ".join(el.text_content().split()) == want:
                el.drop_tree()
                changed = True
                break
    return changed


def _paragraphs_html(text: str) -> str:
    from html import escape

    return "".join(f"<p>{escape(p.strip())}</p>" for p in re.split(r"\n+", text) if p.strip())


# Readability's charThreshold: an answer shorter than this is checked against a second opinion
WEAK_CHARS = 500
# how much more text a second opinion must find to replace a weak first answer: the reading without pruning
# by names sees all that the first set aside (comment threads, consent banners, sidebars), so it must find an
# article of another order; candidate scoring prunes as the first does
LENIENT_FACTOR = 8
READABLE_FACTOR = 3


def _first_opinion(doc: lxml.html.HtmlElement, html: str, title: str | None, typed_article: bool,
                   lenient: bool = False) -> lxml.html.HtmlElement | None:
    if lenient:
        doc = lxml.html.document_fromstring(_XML_DECL.sub("", html, count=1))
    return find_content(doc, title, typed_article, lenient)


def _readable_opinion(html: str) -> lxml.html.HtmlElement | None:
    """Readability-style candidate scoring on a fresh parse, cleaned like the first answer."""
    from . import density as d
    from .candidates import readable_content

    content, blocks = readable_content(lxml.html.document_fromstring(_XML_DECL.sub("", html, count=1)))
    if content is None:
        return None
    d.tidy(content, content, blocks, None)
    return content


def _choose(html: str, doc: lxml.html.HtmlElement, title: str | None, typed_article: bool
            ) -> lxml.html.HtmlElement | None:
    """The first answer, or a second opinion when the first looks weak.

    A refusal ("not an article"), nothing, or less than WEAK_CHARS of text is a weak answer; the
    page is then read again without pruning by class names, semantic tags or <noscript> (an unclosed
    <nav>, a "widget" wrapper around the text, an article given only to readers without JavaScript),
    and by Readability-style candidate scoring. An answer with much more text (LENIENT_FACTOR,
    READABLE_FACTOR times) replaces the first; a refusal stands when neither finds an article. A first
    answer that is not weak ends where candidate scoring says the article's run of paragraphs ends."""
    refusal = None
    try:
        content = find_content(doc, title, typed_article)
    except NotAnArticle as exc:
        content, refusal = None, str(exc)
    size = len(_text(content)) if content is not None else 0
    if size >= WEAK_CHARS:
        from .candidates import cut_tail

        assert content is not None
        cut_tail(content)
        return content
    for opinion, factor in ((lambda: _first_opinion(doc, html, title, typed_article, lenient=True), LENIENT_FACTOR),
                            (lambda: _readable_opinion(html), READABLE_FACTOR)):
        try:
            other = opinion()
        except NotAnArticle:
            continue
        other_size = len(_text(other)) if other is not None else 0
        if other_size >= MIN_BODY_CHARS and other_size > factor * size:
            content, size, refusal = other, other_size, None
    if content is None and refusal:
        raise ExtractError(refusal)
    return content


def _generic(doc: lxml.html.HtmlElement, html: str, title: str | None, structured_body: str | None,
             typed_article: bool) -> str | None:
    content = _choose(html, doc, title, typed_article)
    body = None
    if content is not None:
        if title:  # the title is shown above the body; drop the body's own copy of it
            first = next((c for c in content.iter("h1", "h2") if isinstance(c.tag, str)), None)
            if first is not None and " ".join(first.text_content().split()) == title:
                first.drop_tree()
        body = inner_html(content).strip()
    # structured data (JSON-LD articleBody) when the page's markup holds much less text than it
    if structured_body and len(structured_body) >= 200:
        found = len(_text(content)) if content is not None else 0
        if found < 0.5 * len(" ".join(structured_body.split())):
            return _paragraphs_html(structured_body)
    return body


def extract(html: str, url: str | None = None, rules: Rules | None = None) -> Article:
    """Extract one article from a page's HTML. Raises ExtractError when there is none."""
    doc = parse_html(html)
    meta = page_meta(doc, url)
    notes: list[str] = []
    found: dict = {}
    missed: list[str] = []
    if rules is not None:
        found, missed = _rule_fields(doc, rules, url)
    # everything read from the page before rules or the extractor remove parts of it
    title_el = None
    title = found.get("title")
    published = found.get("published") or meta.published
    if title is None or published is None:
        shown_title, title_el = best_title(doc, meta.title if meta.title_from_meta else None,
                                           doc.findtext(".//title"))
        title = title or shown_title or meta.title
    if published is None:
        published = find_date(doc, title_el, url)
    image = found.get("image") or meta.image
    if image and url:  # a lead image is one we can fetch: http(s), not javascript: or data:
        image = absolute_url(url, image, normalise=False)
    caption = found.get("caption")
    if image and not caption:
        el = found.get("_image_el")
        if el is None:
            el = find_image_element(doc, image, url)
        if el is not None:
            caption = caption_near(el)
    extracted_by = "generic"
    body_el = None
    if rules is not None:
        body_el, body_missed = _rule_body(doc, rules)
        missed += body_missed
        extracted_by = "rules" if body_el is not None else "generic (rules failed)"
        if missed:
            notes.append("rules stopped matching: " + "; ".join(missed))
    body_html = None
    scripts = 0
    if body_el is not None:
        body_text = _text(body_el)
    else:
        scripts = len(doc.xpath("//script"))  # before the extractor prunes the page
        body_html = _generic(doc, html, title, meta.body_text, meta.is_article_type)
        body_el = lxml.html.fragment_fromstring(body_html, create_parent="div") if body_html else None
        body_text = _text(body_el) if body_el is not None else ""
    if text_size(body_text) < MIN_BODY_CHARS:
        visible = _text(doc.body) if doc.find("body") is not None else ""
        if scripts and len(visible) < 200 and not _SENTENCE.search(visible):
            raise ExtractError("no content: the page is an empty JavaScript shell (its text is made by scripts)")
        raise ExtractError("no article body found (not an article page, or the extractor missed it)")
    if not title:
        raise ExtractError("no title found")
    if _ERROR_TITLE.search(title) and len(body_text) < 600:
        raise ExtractError(f"an error page ({title!r}), not an article")
    assert body_el is not None
    if (image and _drop_lead_image(body_el, image, caption, url)) or body_html is None:
        body_html = inner_html(body_el)
    # the canonical address is published as the link to the original: http(s) only, else the page's own
    canonical = absolute_url(url or "", meta.canonical) if meta.canonical else None
    if canonical and url and not same_site(canonical, url):  # a page speaks for its own site only: believed,
        notes.append(f"ignored its canonical link to another site ({canonical})")  # it would replace that article
        canonical = None
    canonical = canonical or (normalise_url(url) if url else "")
    return Article(
        url=normalise_url(url) if url else canonical,
        canonical_url=canonical,
        title=title,
        body_html=body_html,
        published=published,
        updated=meta.updated,
        author=meta.author,
        image=image,
        caption=caption,
        language=meta.language,
        section=meta.section,
        extracted_by=extracted_by,
        notes=notes,
    )


__all__ = ["ExtractError", "extract", "parse_date"]
