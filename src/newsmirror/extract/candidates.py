"""A second opinion on where a page's article is: Readability-style candidate scoring.

The density search (density.py) takes the subtree with the largest sum of text
value. It fails in a recognisable way: when a menu, a teaser column or a table
of links outweighs a short article, or when the article's paragraphs are split
across siblings it does not unite. Readability's method fails elsewhere, so it
is asked when the first answer looks weak. Each paragraph-like block (a <p>, a
<pre>, a table cell, a <div> with no block children) votes for its parent with
its length and clause count, and half that for its grandparent; a candidate's
score is then discounted by its link density, and the best candidate is joined
by the siblings that score near it or read as paragraphs.
"""

from __future__ import annotations

import lxml.html
from lxml.html import HtmlElement

from .blocks import CJK, Block, _marks, _words, blocks_of, flat_text
from .density import _has_article_text, looks_like_listing
from .prune import MAYBE_WORDS, STRONG_UNLIKELY, drop_junk, prune_unlikely

_PARA_TAGS = frozenset({"p", "pre", "td", "blockquote"})
_BLOCK_CHILDREN = frozenset({
    "a-block", "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul", "section", "article", "h1", "h2",
    "h3", "h4", "h5", "h6", "figure", "header", "footer", "main",
})
_TAG_BONUS = {"div": 5, "article": 8, "main": 5, "section": 2, "pre": 3, "td": 3, "blockquote": 3,
              "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
              "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5}
_CLAUSE = frozenset(",，、;；。")


def _link_density(el: HtmlElement, text_len: int) -> float:
    if not text_len:
        return 0.0
    links = sum(len(flat_text(a)) for a in el.iter("a"))
    return min(1.0, links / text_len)


def _class_weight(el: HtmlElement) -> int:
    marks = _marks(el)
    if not marks.strip():
        return 0
    words = _words(marks)
    weight = 0
    if words & STRONG_UNLIKELY:
        weight -= 25
    if words & MAYBE_WORDS:
        weight += 25
    return weight


def _weighted_len(text: str) -> float:
    """Characters, a CJK character counting as three (it carries about a word)."""
    return len(text) + 2 * len(CJK.findall(text))


def _paragraph_like(el: HtmlElement) -> bool:
    if el.tag in _PARA_TAGS:
        return True
    return el.tag == "div" and not any(isinstance(c.tag, str) and c.tag in _BLOCK_CHILDREN for c in el)


def score_candidates(root: HtmlElement) -> dict[HtmlElement, float]:
    """Readability's content scores of the elements of a pruned tree (before the link-density discount)."""
    scores: dict[HtmlElement, float] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not _paragraph_like(el):
            continue
        text = flat_text(el)
        size = _weighted_len(text)
        if size < 25:
            continue
        value = 1 + sum(1 for ch in text if ch in _CLAUSE) + min(size / 100, 3)
        parent = el.getparent()
        for level, anc in enumerate((parent, parent.getparent() if parent is not None else None)):
            if anc is None or not isinstance(anc.tag, str):
                break
            if anc not in scores:
                scores[anc] = _TAG_BONUS.get(anc.tag, 0) + _class_weight(anc)
            scores[anc] += value / (1 + level)
    return scores


def best_candidate(root: HtmlElement) -> tuple[HtmlElement | None, float]:
    scores = score_candidates(root)
    best, best_score = None, 0.0
    for el, s in scores.items():
        final = s * (1 - _link_density(el, len(flat_text(el))))
        if final > best_score:
            best, best_score = el, final
    return best, best_score


def _sibling_belongs(sib: HtmlElement, top: HtmlElement, threshold: float, scores: dict[HtmlElement, float]) -> bool:
    bonus = 0.2 * scores.get(top, 0.0) if sib.get("class") and sib.get("class") == top.get("class") else 0.0
    if sib in scores and scores[sib] * (1 - _link_density(sib, len(flat_text(sib)))) + bonus >= threshold:
        return True
    if sib.tag != "p":
        return False
    text = flat_text(sib)
    size = _weighted_len(text)
    density = _link_density(sib, len(text))
    if size > 80 and density < 0.25:
        return True
    return 0 < size <= 80 and density == 0 and text[-1:] in ".。!?！？"


def readable_content(doc: HtmlElement) -> tuple[HtmlElement | None, dict[HtmlElement, Block]]:
    """The article container by candidate scoring (pruned in place), with the text blocks of the page."""
    body = doc.find("body")
    root = body if body is not None else doc
    drop_junk(root)
    blocks = blocks_of(root)
    prune_unlikely(root, blocks)
    scores = score_candidates(root)
    best, best_score = best_candidate(root)
    if best is None or (looks_like_listing(best, blocks) and not _has_article_text(best, blocks)):
        return None, blocks  # one teaser of a list is no article
    parent = best.getparent()
    if parent is None or best.tag in ("body", "html"):
        return best, blocks
    threshold = max(10.0, 0.2 * best_score)
    holder = lxml.html.Element("div")
    for sib in list(parent):
        if not isinstance(sib.tag, str):
            continue
        if sib is best or _sibling_belongs(sib, best, threshold, scores):
            holder.append(sib)
    return holder, blocks


def _following(el: HtmlElement, top: HtmlElement) -> list[HtmlElement]:
    """What comes after `el` inside `top`, in document order (its later siblings, then its ancestors')."""
    out: list[HtmlElement] = []
    node = el
    while node is not None and node is not top:
        out.extend(s for s in node.itersiblings() if isinstance(s.tag, str))
        node = node.getparent()
    return out


def cut_tail(container: HtmlElement) -> None:
    """Drop what follows the article's own run of paragraphs inside an answer (in place).

    Candidate scoring names the element whose paragraphs are the article, and the siblings that belong
    with it; what comes after the last of those in the answer sits in another part of the page (an
    author's box, a "support us" appeal, contact lines, teasers), and goes. Only when that run holds
    most of the answer's text, so that a short run never cuts a long answer."""
    scores = score_candidates(container)
    best, best_score = None, 0.0
    for el, s in sorted(scores.items(), key=lambda kv: -kv[1]):
        if s <= best_score:  # the link-density discount only lowers a score: no later one can win
            break
        final = s * (1 - _link_density(el, len(flat_text(el))))
        if final > best_score:
            best, best_score = el, final
    if best is None or best is container:
        return
    parent = best.getparent()
    if parent is None:
        return
    threshold = max(10.0, 0.2 * best_score)
    members = [s for s in parent
               if isinstance(s.tag, str) and (s is best or _sibling_belongs(s, best, threshold, scores))]
    total = len(flat_text(container))
    if not total or sum(len(flat_text(m)) for m in members) < 0.5 * total:
        return
    for el in _following(members[-1], container):
        if el.getparent() is None:
            continue
        # a later part that holds a paragraph run of its own (half the best one's score, or the score of a
        # sibling when it is of the best one's class) is the article going on, past a figure or a box
        if any(_goes_on(x, best, scores, threshold, best_score) for x in el.iter() if x in scores):
            continue
        el.drop_tree()


def _goes_on(x: HtmlElement, best: HtmlElement, scores: dict[HtmlElement, float], threshold: float,
             best_score: float) -> bool:
    """Whether a candidate after the run scores as a run of its own (see cut_tail)."""
    need = threshold if best.get("class") and x.get("class") == best.get("class") else 0.5 * best_score
    return scores[x] >= need and scores[x] * (1 - _link_density(x, len(flat_text(x)))) >= need
