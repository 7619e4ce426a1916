"""Allowlist sanitising of an article body (nh3), after removing ads, pixels and embeds."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import lxml.html
import nh3

from ..htmlfrag import inner_html

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "q", "cite",
    "strong", "b", "em", "i", "u", "s", "del", "ins", "sub", "sup", "mark", "small", "a", "img", "figure",
    "figcaption", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "pre", "code", "div", "span",
    "dl", "dt", "dd", "abbr", "time",
}
ALLOWED_ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "abbr": {"title"},
}
_AD_CLASS = re.compile(
    r"(?:^|[\s_-])(?:ad|ads|adv|advert\w*|advertisement|adsbygoogle|sponsor\w*|promo|gpt)(?:$|[\s_-])",
    re.IGNORECASE,
)
_TRACKER = re.compile(r"(?:pixel|beacon|tracking|/track|analytics|doubleclick|/count(?:er)?[./?])", re.IGNORECASE)


def _is_ad(el: lxml.html.HtmlElement) -> bool:
    marks = f"{el.get('class', '')} {el.get('id', '')}"
    if el.tag == "ins" and any(k.startswith("data-ad") for k in el.attrib):
        return True  # an ad slot (<ins data-ad-client=… data-ad-slot=…>); a plain <ins> is an edit mark and stays
    return bool(_AD_CLASS.search(marks))


def _is_pixel(img: lxml.html.HtmlElement) -> bool:
    for attr in ("width", "height"):
        v = (img.get(attr) or "").strip().rstrip("px")
        if v.isdigit() and int(v) <= 2:
            return True
    style = (img.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "width:0" in style or "height:0" in style or "width:1px" in style:
        return True
    return bool(_TRACKER.search(img.get("src") or ""))


def _holds_the_body(el: lxml.html.HtmlElement, total: int) -> bool:
    """Whether an element holds most of the body's text: then its tag or class name is not evidence enough
    to remove it (a legal text laid out in a table inside a <form>, an article wrapper named "promo")."""
    return total >= 200 and len("".join(el.text_content().split())) > 0.5 * total


def _absolute(url: str, base_url: str | None) -> str | None:
    """`url` resolved against the page's address; None for one that is not a URL (a bad IPv6 host…)."""
    if not base_url:
        return url
    try:
        return urljoin(base_url, url)
    except ValueError:
        return None


def sanitize(body_html: str, base_url: str | None = None) -> str:
    """A safe HTML fragment: absolute http(s) links and images, no active content, no ads or pixels."""
    if not body_html.strip():
        return ""
    frag = lxml.html.fragment_fromstring(body_html, create_parent="div")
    total = len("".join(frag.text_content().split()))
    for el in list(frag.iter()):
        if not isinstance(el.tag, str) or el is frag:
            continue
        if el.getparent() is None:
            continue
        if el.tag in ("iframe", "embed", "object", "video", "audio"):
            src = (el.get("src") or el.get("data") or "").strip()
            src = (_absolute(src, base_url) or "") if src else ""
            if src.startswith(("http://", "https://")):
                link = lxml.html.fromstring(f'<p><a href="">{el.tag}</a></p>')
                link[0].set("href", src)
                link[0].text = f"嵌入内容 / embedded content: {src}"
                link.tail = el.tail
                el.getparent().replace(el, link)
            else:
                el.drop_tree()
        elif el.tag in ("script", "style", "noscript", "template", "button", "input", "select",
                        "textarea", "svg", "canvas"):
            el.drop_tree()
        elif el.tag == "form" or _is_ad(el):
            if _holds_the_body(el, total):
                el.drop_tag()  # the page's wrapper (ASP.NET puts every page in a <form>), not an ad: its text stays
            else:
                el.drop_tree()
        elif el.tag == "img":
            # a lazy image's real URL is in data-src/data-original; its src is then only a placeholder
            src = (el.get("data-src") or el.get("data-original") or el.get("src") or "").strip()
            if not src or _is_pixel(el) or (src := _absolute(src, base_url)) is None:
                el.drop_tree()
            else:
                el.set("src", src)
        elif el.tag == "a" and base_url and (href := el.get("href")) is not None:
            # links made absolute (the only other address the allowlist keeps); one that is not a URL goes
            absolute = _absolute(href.strip(), base_url)
            if absolute is None:
                del el.attrib["href"]
            else:
                el.set("href", absolute)
    return nh3.clean(
        inner_html(frag),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRS,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    ).strip()
