"""A CJK-aware content extractor on one lxml parse.

1. Prune what is never article text: scripts, forms, navigation, hidden
   elements, and blocks whose class/id says comment, related, share, sidebar…
2. Cut the page into text blocks (the nearest block-level owner of each text
   node) and give each a value: its non-link characters, weighted by how
   sentence-like it is (punctuation such as ，。 counts, CJK characters count
   more than Latin letters), minus its link characters.
3. The article is the element whose subtree has the largest total value
   (a maximum-subtree search, one bottom-up pass): navigation, link lists and
   short labels pull a subtree's value down, paragraphs push it up.
4. Inside it, drop blocks that are boilerplate: link lists, share prompts,
   disclaimers and copyright lines, "related" headings with what follows them.

The search (3) is here; the blocks (2) are in blocks.py, the pruning (1) in prune.py, and the
cleaning (4) in trim.py and paragraphs.py.
"""

from __future__ import annotations

from lxml.html import HtmlElement

from .blocks import Block, _signature, _size, _starts_with_link, blocks_of, is_prose, subtree_values
from .paragraphs import split_paragraphs
from .prune import drop_junk, prune_unlikely
from .trim import (
    LINK_LIST_SHARE,
    LINK_LIST_TAGS,
    PHOTO_CREDIT,
    clean_container,
    cut_promo_lines,
    drop_datelines,
    drop_photo_credits,
    drop_promos,
    drop_teasers,
    end_at_editor_line,
    trim_edges,
)


def best_subtree(root: HtmlElement, blocks: dict[HtmlElement, Block]) -> tuple[HtmlElement | None, float]:
    """The element whose subtree's block values add up highest."""
    totals: dict[HtmlElement, float] = {}
    best, best_val = None, 0.0
    for el in reversed(list(root.iter())):  # children before parents
        if not isinstance(el.tag, str):
            continue
        total = blocks[el].value if el in blocks else 0.0
        for child in el:
            total += totals.get(child, 0.0)
        totals[el] = total
        if total > best_val:
            best, best_val = el, total
    # prefer the smallest element that holds nearly all of the best value (no wrapper chrome)
    return best, best_val


def widen(best: HtmlElement, root: HtmlElement, blocks: dict[HtmlElement, Block]) -> HtmlElement:
    """Climb from the best subtree to an ancestor that holds much more paragraph text at a small cost.

    An article whose paragraphs are split between a nested wrapper and its parent, or interleaved
    with link-heavy items, has its best subtree too low; teasers and link lists are removed later, so
    the cost of climbing is counted without them (see _net_after_cleaning).
    """
    net = _net_after_cleaning(root, blocks)
    pos = subtree_values(root, blocks, positive=True)
    current = best
    for parent in best.iterancestors():
        if parent.tag in ("body", "html") or parent is root:
            break
        if pos[parent] >= 1.3 * pos[current] and net[parent] >= 0.7 * net[current]:
            current = parent
        elif net[parent] < 0.7 * net[current]:
            break
    return current


LEAD_LEVELS = 4  # how far above the article's container its lead may sit (a sibling of a near ancestor)
_NO_LEAD_TAGS = frozenset({"h1", "li", "td", "th", "dd", "dt", "figcaption", "caption"})  # a headline, items, captions
LEAD_LOOKBACK = 6  # blocks looked at before the container: the headline, a byline, a date, a picture's credit…


def recover_lead(best: HtmlElement, root: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Move into the container the lead paragraphs that stand just before it in a wrapper of their own.

    Many pages set the standfirst or first paragraph in the header block with the headline
    (`<div class="intro">`), so the best subtree starts below it, and its value is too small to
    make the search climb. Walking back from the container past short labels (headline, byline,
    date), the paragraphs met before any link list are the article's lead; only within a few levels
    of the container, so that nothing from another part of the page comes in.
    """
    found: list[HtmlElement] = []
    seen = 0
    for el in _preceding_blocks(best, blocks):
        b = blocks[el]
        if seen >= LEAD_LOOKBACK:
            break
        seen += 1
        caption = _captions_a_picture(el)
        if not found and (caption or PHOTO_CREDIT.search(b.text)):
            continue  # a picture's caption between the lead and the body, its credit a link
        if b.link_chars > 0.3 * b.chars:
            break
        if is_prose(b) and el.tag not in _NO_LEAD_TAGS and not caption:
            found.append(el)
        elif found:
            break
    for el in found:  # nearest first: each goes in at the top, so they keep their order
        parent, tail = el.getparent(), el.tail
        el.tail = None
        if parent is not None and tail and tail.strip():
            prev = el.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + tail
            else:
                parent.text = (parent.text or "") + tail
        best.insert(0, el)


def _captions_a_picture(el: HtmlElement) -> bool:
    """Whether a block is a picture's caption: in a <figure>, or alone with an image in its wrapper."""
    if any(a.tag in ("figure", "figcaption") for a in el.iterancestors()):
        return True
    parent = el.getparent()
    if parent is None or parent.find(".//img") is None:
        return False
    return len(" ".join(parent.text_content().split())) <= 1.2 * len(" ".join(el.text_content().split()))


def _preceding_blocks(best: HtmlElement, blocks: dict[HtmlElement, Block]) -> list[HtmlElement]:
    """The text blocks before `best` within LEAD_LEVELS levels of it, nearest first."""
    out: list[HtmlElement] = []
    node: HtmlElement | None = best
    for _ in range(LEAD_LEVELS):
        if node is None or node.tag in ("body", "html"):
            break
        for sib in node.itersiblings(preceding=True):
            if isinstance(sib.tag, str):
                out.extend(reversed([e for e in sib.iter() if e in blocks and blocks[e].chars > 3]))
        node = node.getparent()
    return out


_LINK_LIST_TAGS = LINK_LIST_TAGS | {"nav"}  # (and a navigation block the lenient pass kept)


def _net_after_cleaning(root: HtmlElement, blocks: dict[HtmlElement, Block]) -> dict[HtmlElement, float]:
    """Per element, the sum of its subtree's block values, as it will be once cleaning has removed the link
    lists (lists, tables and boxes that are mostly links, which `clean_container` drops): a wiki's navigation
    tables beside its text cost nothing to take in, since they go."""
    totals: dict[HtmlElement, float] = {}
    chars: dict[HtmlElement, int] = {}
    links: dict[HtmlElement, int] = {}
    for el in reversed(list(root.iter())):
        if not isinstance(el.tag, str):
            continue
        b = blocks.get(el)
        total, c, n = (b.value, b.chars, b.link_chars) if b is not None else (0.0, 0, 0)
        for child in el:
            total += totals.get(child, 0.0)
            c += chars.get(child, 0)
            n += links.get(child, 0)
        chars[el], links[el] = c, n
        totals[el] = 0.0 if el.tag in _LINK_LIST_TAGS and c and n > LINK_LIST_SHARE * c and el is not root else total
    return totals


class NotAnArticle(Exception):
    """The page is something else (a list of links, a section front)."""


def looks_like_listing(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> bool:
    """Headlines that are links, as many as paragraphs or more: a section front, not an article. Not when
    the paragraphs hold four times the text of the links (a forum thread, a page of letters)."""
    headlines = prose = 0
    headline_chars = prose_chars = 0
    for el in container.iter():
        b = blocks.get(el)
        if b is None or b.chars <= 3:
            continue
        if b.chars >= 8 and b.link_chars >= 0.6 * b.chars:
            headlines += 1
            headline_chars += b.chars
        elif is_prose(b):
            prose += 1
            prose_chars += b.chars - b.link_chars
    # a thread of posts, each led by its author's name, reads like a list of teasers; but a teaser's text is a
    # line or two under its headline link, and a post's text is many times its links
    if prose >= 3 and prose_chars >= 4 * headline_chars:
        return False
    if headlines >= 2 and headlines >= prose:
        return True
    # the best block is one of several like it, each led by a headline link: one item of a list
    node: HtmlElement | None = container
    for _ in range(3):
        parent = node.getparent() if node is not None else None
        if parent is None or parent.tag in ("body", "html"):
            return False
        if _starts_with_link(node):
            sig = _signature(node)
            alike = [c for c in parent if isinstance(c.tag, str) and _signature(c) == sig and _starts_with_link(c)]
            if len(alike) >= 2:
                return True
        node = parent
    return False


def _has_article_text(el: HtmlElement, blocks: dict[HtmlElement, Block]) -> bool:
    """Two paragraphs, or one long one: text that reads as an article, not as a teaser."""
    sizes = [_size(blocks[b]) for b in el.iter() if b in blocks and is_prose(blocks[b])]
    return len(sizes) >= 2 and sum(sizes) >= 200 or any(s >= 300 for s in sizes)


def article_beside_list(root: HtmlElement, listing: HtmlElement, value: float,
                        blocks: dict[HtmlElement, Block]) -> HtmlElement | None:
    """When the best subtree is a list of headline links, the article that may stand beside it.

    A list outweighs a short article (a teaser column next to a news item, a forum's thread index
    next to a post), so "not an article" needs evidence: the list is set aside and the search run
    again; an element that holds article text and no list, worth a fair part of the list, is the
    article. Without one the page is a listing. Up to three lists are set aside.
    """
    for _ in range(3):
        if listing is root or listing.getparent() is None:
            return None
        listing.drop_tree()
        best, best_value = best_subtree(root, blocks)
        if best is None or best_value < 0.25 * value or not _has_article_text(best, blocks):
            return None
        if not looks_like_listing(best, blocks):
            return best
        listing = best
    return None


def find_content(doc: HtmlElement, title: str | None = None, typed_article: bool = False,
                 lenient: bool = False) -> HtmlElement | None:
    """The article container of a parsed page (pruned and cleaned in place), or None.

    Raises NotAnArticle for a list of headline links, unless the page's metadata says it is an
    article (`typed_article`). `lenient` is the second pass for when the first answer looks weak
    (Readability's retry with fewer flags): no element is removed for its class or id name, and
    only what is never text (and forms that hold little of the page's text) is dropped before the search.
    """
    body = doc.find("body")
    root = body if body is not None else doc
    drop_junk(root, lenient)
    blocks = blocks_of(root)
    prune_unlikely(root, blocks, forms_only=lenient)
    best, value = best_subtree(root, blocks)
    if best is None or value <= 0:
        return None
    if not typed_article and looks_like_listing(best, blocks):
        best = article_beside_list(root, best, value, blocks)
        if best is None:
            raise NotAnArticle("a list of headline links (a section or index page), not an article")
    best = widen(best, root, blocks)
    recover_lead(best, root, blocks)
    tidy(best, root, blocks, title, prune=not lenient)
    return best


def tidy(best: HtmlElement, root: HtmlElement, blocks: dict[HtmlElement, Block], title: str | None,
         prune: bool = True) -> None:
    """Clean an article container in place: what is inside it but not the article goes."""
    if prune:
        prune_unlikely(best, blocks)
    if split_paragraphs(best):
        blocks.update(blocks_of(root))  # the new paragraphs are blocks of their own
    drop_teasers(best)
    clean_container(best, blocks)
    trim_edges(best, blocks, title)
    drop_promos(best, blocks)
    drop_datelines(best, blocks)
    drop_photo_credits(best, blocks)
    end_at_editor_line(best, blocks)
    cut_promo_lines(best)
