"""Pruning before the search: what is never article text (scripts, forms, navigation, hidden
elements), and blocks whose class/id names say comment, related, share, sidebar…"""

from __future__ import annotations

from lxml.html import HtmlElement

from .blocks import Block, _marks, _words, subtree_values

JUNK_TAGS = frozenset({
    "script", "style", "noscript", "template", "button", "form-junk", "input", "select", "textarea", "svg", "canvas",
    "nav", "aside", "footer", "iframe", "object", "embed", "link", "meta", "label", "dialog", "menu", "audio",
    "video", "source", "picture-source", "map",
})
KEEP_ROOTS = frozenset({"html", "body", "article", "main"})
# what is never text, even when a page's markup is broken: the lenient pass drops only these (it keeps
# <noscript>, which some pages fill with the whole article for readers without JavaScript)
NEVER_TEXT_TAGS = frozenset({
    "script", "style", "template", "button", "input", "select", "textarea", "svg", "canvas", "iframe",
    "object", "embed", "link", "meta", "audio", "video", "source", "map",
})

# words of class/id names (split at -, _, digits and camelCase) that mark non-article blocks
STRONG_UNLIKELY = frozenset("""
comment comments commentlist disqus replies related relate relatedposts recommend recommended recommendation
recommendations tuijian xgyd share shares sharing sharebar social sns sidebar advert adverts advertisement advertising
ad ads
adsbygoogle adslot adunit sponsor sponsored outbrain taboola newsletter subscribe subscription breadcrumb
breadcrumbs crumb crumbs copyright disclaimer qrcode erweima tags taglist popular trending mostread hotnews
ranking promo promotion cookie cookies gdpr consent login signup
""".split())
UNLIKELY_WORDS = STRONG_UNLIKELY | frozenset("""
footer foot footnote nav navbar navigation menu masthead header banner popup modal hot rank pagination pager
toolbar widget statement skip print tag keywords cta more extra supplemental shoutbox combx community
bio biography authorbio
""".split())
MAYBE_WORDS = frozenset("article articles body content contents entry main post story text detail column "
                        "articlebody postbody storybody embed embedded tweet".split())


def _hidden(el: HtmlElement) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _walk_prune(root: HtmlElement, decide) -> None:
    """Depth-first; `decide(el)` True drops el (and its subtree is not visited)."""
    stack = list(reversed(root))
    while stack:
        el = stack.pop()
        if decide(el):
            if el.getparent() is not None:
                el.drop_tree()
            continue
        stack.extend(reversed(el))


FOOTERISH = frozenset("footer copyright disclaimer".split())
COMMENTISH = frozenset("comment comments commentlist disqus replies related relate recommend recommended "
                       "recommendation recommendations tuijian xgyd popular trending mostread hotnews ranking"
                       .split())


def drop_junk(root: HtmlElement, lenient: bool = False) -> None:
    """Remove, in place, tags that are never article text and hidden elements.

    `lenient` keeps the semantic tags (nav, aside, footer…) and hidden elements: an unclosed <nav>
    can swallow a whole page, and some pages hide their article until a script shows it."""
    tags = NEVER_TEXT_TAGS if lenient else JUNK_TAGS

    def junk(el: HtmlElement) -> bool:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None:  # comments, processing instructions
            return True
        if tag in KEEP_ROOTS:
            return False
        if lenient and tag == "noscript":  # an article, not a "please enable JavaScript" line
            if len(el.text_content().strip()) < 200:
                return True
            el.tag = "div"  # content from here on: sanitising and rendering drop <noscript>
            return False
        return tag in tags or (not lenient and _hidden(el))

    _walk_prune(root, junk)


def prune_unlikely(root: HtmlElement, blocks: dict[HtmlElement, Block], forms_only: bool = False) -> None:
    """Remove blocks whose class/id names say comment, related, share, sidebar…

    A class name alone never removes a block that holds much of the page's
    paragraph text ("sidebar-layout" and "share-area" wrappers around a whole
    article exist): weak names may remove up to 30% of it, strong ones
    (comment, related, share, ad…) up to 50%. A form (a comment or newsletter form) goes when it holds less
    than 30% of that text; `forms_only` (the lenient pass) removes forms and nothing for its name.
    """
    pos = subtree_values(root, blocks, positive=True)
    total = pos.get(root, 0.0) or 1.0

    def unlikely(el: HtmlElement) -> bool:
        if el.tag in KEEP_ROOTS:
            return False
        if el.tag == "form":
            return pos.get(el, 0.0) < 0.3 * total
        if forms_only:
            return False
        marks = _marks(el)
        if not marks.strip():
            return False
        words = _words(marks)
        if not words & UNLIKELY_WORDS:
            return False
        if words & MAYBE_WORDS and not words & COMMENTISH:
            return False
        limit = 0.8 if words & FOOTERISH else 0.5 if words & STRONG_UNLIKELY else 0.3
        return pos.get(el, 0.0) < limit * total

    _walk_prune(root, unlikely)
