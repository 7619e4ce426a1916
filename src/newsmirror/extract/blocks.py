"""Text blocks: the text each element owns directly, and how much it reads like an article.

Every text node belongs to its nearest block-level owner; a block's value is its non-link
characters weighted by how sentence-like they are, minus its link characters. The search,
the pruning and the trimming all judge elements by these blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt",
    "dd", "blockquote", "pre", "table", "tr", "td", "th", "figure", "figcaption", "header", "address", "center",
    "body", "html", "tbody", "thead", "caption", "hr", "font-block",
})
PUNCT = re.compile(r"[，。！？；：、,.!?;:…—]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
WS = re.compile(r"\s+")


def flat_text(el: HtmlElement) -> str:
    """An element's text on one line: every run of white space one space, none at the ends."""
    return WS.sub(" ", el.text_content()).strip()
_WORD_SPLIT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _words(marks: str) -> set[str]:
    return {w.lower() for w in _WORD_SPLIT.findall(marks)} | {t.lower() for t in marks.split()}


def _marks(el: HtmlElement) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


@dataclass
class Block:
    el: HtmlElement
    text: str
    chars: int
    link_chars: int
    value: float


def _collect(el: HtmlElement, owner: HtmlElement, in_link: bool, acc: dict) -> None:
    """Attribute every text node to its nearest block-level owner, noting link text."""
    tag = el.tag if isinstance(el.tag, str) else ""
    own = el if tag in BLOCK_TAGS else owner
    link = in_link or tag == "a"
    if el.text and tag:
        _add(acc, own, el.text, link)
    for child in el:
        _collect(child, own, link, acc)
        if child.tail:
            _add(acc, own, child.tail, link)


def _add(acc: dict, owner: HtmlElement, text: str, in_link: bool) -> None:
    t = text.strip()
    if not t:
        return
    entry = acc.get(owner)
    if entry is None:
        entry = acc[owner] = [[], 0]
    entry[0].append(text)
    if in_link:
        entry[1] += len(WS.sub("", t))


def block_value(text: str, link_chars: int) -> float:
    """How article-like a block of text is: positive for sentences, negative for links and labels.

    Links inside real sentences cost little (articles link a lot); a block that
    is mostly links without sentences around them (menus, tags, lists of
    headlines) costs twice its link text.
    """
    chars = len(text)
    plain = chars - link_chars
    if chars == 0:
        return 0.0
    cjk = len(CJK.findall(text))
    weight_len = plain + 1.5 * min(cjk, plain)  # a CJK character says more than a letter
    puncts = len(PUNCT.findall(text))
    if plain < 8 and puncts == 0:
        return -0.5 * chars - 2 * link_chars
    if plain >= 40 and puncts >= 2:  # sentences, whatever their links
        return weight_len - 0.5 * link_chars
    sentence = 1.0 if puncts else (0.55 if plain >= 40 else 0.25)
    if link_chars / chars > 0.5:
        sentence *= 0.2
    return weight_len * sentence - 2.0 * link_chars


def blocks_of(root: HtmlElement) -> dict[HtmlElement, Block]:
    acc: dict[HtmlElement, list] = {}
    _collect(root, root, False, acc)
    out: dict[HtmlElement, Block] = {}
    for el, (parts, link_chars) in acc.items():
        text = WS.sub(" ", "".join(parts)).strip()
        dense = text.replace(" ", "")
        links = min(link_chars, len(dense))
        out[el] = Block(el, text, len(dense), links, block_value(dense, links))
    return out


def subtree_values(root: HtmlElement, blocks: dict[HtmlElement, Block], positive: bool = False
                   ) -> dict[HtmlElement, float]:
    """Per element, the sum of its subtree's block values (only the positive ones with `positive`)."""
    totals: dict[HtmlElement, float] = {}
    for el in reversed(list(root.iter())):
        if not isinstance(el.tag, str):
            continue
        v = blocks[el].value if el in blocks else 0.0
        total = max(v, 0.0) if positive else v
        for child in el:
            total += totals.get(child, 0.0)
        totals[el] = total
    return totals


SENTENCE_END = re.compile(r"[。！？!?.…”\"’)）」』]\s*$")
CJK_SENTENCE = re.compile(r"[，。！？；、]")


def is_prose(b: Block) -> bool:
    """A block that reads like a paragraph of an article (not a label, a byline or a link)."""
    plain = b.chars - b.link_chars
    if b.link_chars > 0.5 * b.chars:
        return False
    cjk = len(CJK.findall(b.text))
    size = plain + cjk  # a CJK character counts twice
    if size >= 120:
        return True
    if cjk * 2 >= plain:  # mostly CJK: a clause mark is enough
        return size >= 20 and bool(CJK_SENTENCE.search(b.text))
    return size >= 30 and bool(PUNCT.search(b.text)) and bool(SENTENCE_END.search(b.text) or size >= 60)


def _size(b: Block) -> int:
    return b.chars - b.link_chars + len(CJK.findall(b.text))


def _starts_with_link(el: HtmlElement) -> bool:
    """Whether the first text of `el` is inside a link (a teaser: headline link, then a summary)."""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text and node.text.strip():
            return node.tag == "a" or any(a.tag == "a" for a in node.iterancestors() if a is not el) and \
                _inside(node, el)
        if node is not el and node.tail and node.tail.strip():
            return False
    return False


def _inside(node: HtmlElement, top: HtmlElement) -> bool:
    for anc in node.iterancestors():
        if anc is top:
            return True
    return False


def _signature(el: HtmlElement) -> tuple[str, str]:
    first_class = (el.get("class") or "").split()[:1]  # items differ in later classes (post-123)
    return el.tag, first_class[0] if first_class else ""
