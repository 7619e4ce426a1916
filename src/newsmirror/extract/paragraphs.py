"""Paragraphs made of text that runs loose in a block, for sites that separate them with spacers
or double line breaks instead of <p>."""

from __future__ import annotations

from lxml.html import HtmlElement

from .blocks import BLOCK_TAGS

_SPLIT_IN = frozenset({"div", "section", "article", "main", "td", "blockquote", "body"})


def _empty_block(el: HtmlElement) -> bool:
    return el.tag in BLOCK_TAGS and el.tag not in ("hr", "table", "figure") and not el.text_content().strip() \
        and el.find(".//img") is None


def split_paragraphs(root: HtmlElement) -> bool:
    """Make paragraphs of text that runs loose in a block, cut at empty blocks and at double line breaks.

    Some sites separate paragraphs with `<br><div class="spacer"></div>` or `<br><br>` rather than <p>;
    the spacer holds no text and would be dropped (or rendered as nothing), leaving one wall of text
    joined by hard line breaks. Single line breaks stay inside their paragraph. True when it made any.
    """
    made = False
    for el in list(root.iter(*_SPLIT_IN)):
        kids = [k for k in el if isinstance(k.tag, str)]
        seps = sum(1 for k in kids if _empty_block(k)) + sum(
            1 for a, b in zip(kids, kids[1:], strict=False) if a.tag == b.tag == "br" and not (a.tail or "").strip())
        loose = (el.text or "").strip() or any((k.tail or "").strip() for k in kids)
        if not seps or not loose:
            continue
        _rebuild_paragraphs(el)
        made = True
    return made


def _rebuild_paragraphs(el: HtmlElement) -> None:
    import lxml.html

    pieces: list[HtmlElement | str] = [el.text] if el.text else []
    for k in list(el):
        tail, k.tail = k.tail, None
        el.remove(k)
        pieces.append(k)
        if tail:
            pieces.append(tail)
    el.text = None
    current: list[HtmlElement | str] = []

    def flush() -> None:
        while current and (isinstance(current[-1], str) and not current[-1].strip() or
                           not isinstance(current[-1], str) and current[-1].tag == "br"):
            current.pop()
        while current and (isinstance(current[0], str) and not current[0].strip() or
                           not isinstance(current[0], str) and current[0].tag == "br"):
            current.pop(0)
        if current:
            p = lxml.html.Element("p")
            for piece in current:
                if isinstance(piece, str):
                    if len(p):
                        p[-1].tail = (p[-1].tail or "") + piece
                    else:
                        p.text = (p.text or "") + piece
                else:
                    p.append(piece)
            el.append(p)
        current.clear()

    for piece in pieces:
        if isinstance(piece, str) or not isinstance(piece.tag, str):
            current.append(piece)
        elif _empty_block(piece):
            flush()
        elif piece.tag == "br" and current and not isinstance(current[-1], str) and current[-1].tag == "br":
            flush()
        elif piece.tag in BLOCK_TAGS:
            flush()
            el.append(piece)
        else:
            current.append(piece)
    flush()
