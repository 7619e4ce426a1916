"""The tree made ready for Markdown before it is converted, and the text mended after: bold, italic and
struck runs that every CommonMark renderer parses alike, tables of layout unwrapped into their paragraphs,
and no hard break left at the end of a paragraph."""

from __future__ import annotations

import re
import unicodedata

import lxml.html

_INLINE_MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "del": "~~", "s": "~~"}
# a hard break ("\\" at the end of a line) that ends a block breaks nothing: Markdown shows the backslash
_TRAILING_BREAK = re.compile(r"(?<!\\)((?:\\\\)*)\\(?=\n\n|\n?$)")
_FENCED = re.compile(r"(^(`{3,})\n.*?\n\2$)", re.MULTILINE | re.DOTALL)
# what makes a table one of layout, not of data: a cell holding blocks
_LAYOUT_BLOCKS = ("p", "div", "table", "ul", "ol", "dl", "blockquote", "figure", "pre", "section", "article",
                  "h1", "h2", "h3", "h4", "h5", "h6")


def _tag(el: object) -> str | None:
    """An element's tag name; None for comments, processing instructions and no element at all."""
    tag = getattr(el, "tag", None)
    return tag if isinstance(tag, str) else None


def _punctuation(ch: str) -> bool:
    """A character CommonMark counts as punctuation (Unicode P and S categories; the backslash of an escape)."""
    return unicodedata.category(ch)[0] in "PS"


def _edge(text: str | None, at_end: bool) -> int:
    """How many characters of whitespace and punctuation `text` has at its end (or start)."""
    if not text:
        return 0
    n = 0
    chars = reversed(text) if at_end else iter(text)
    for ch in chars:
        if not (ch.isspace() or _punctuation(ch)):
            break
        n += 1
    return n


def _add_before(el, text: str) -> None:
    """`text` placed just before `el` (at the end of its previous sibling's tail, or of its parent's text)."""
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + text
    else:
        parent = el.getparent()
        parent.text = (parent.text or "") + text


def _mend_marks(root) -> None:
    """Bold, italic and struck runs that every CommonMark renderer parses: adjacent runs of one kind joined (a
    "****" between them would open nothing), and whitespace and punctuation at their edges moved outside them
    (`<b>算法方面，</b>阿里` → `**算法方面**，阿里`). Innermost first, so what an inner run gives up leaves the
    outer one too."""
    marks = [el for el in root.iter(*_INLINE_MARKS) if el is not root]
    for el in marks:  # join <b>A</b><b>B</b>
        nxt = el.getnext()
        while (nxt is not None and not (el.tail or "") and _tag(nxt) in _INLINE_MARKS
               and _INLINE_MARKS[_tag(nxt)] == _INLINE_MARKS[_tag(el)] and el.getparent() is not None):
            if len(el):
                el[-1].tail = (el[-1].tail or "") + (nxt.text or "")
            else:
                el.text = (el.text or "") + (nxt.text or "")
            el.extend(list(nxt))
            el.tail = nxt.tail
            el.getparent().remove(nxt)
            nxt = el.getnext()
    for el in reversed([m for m in marks if m.getparent() is not None]):
        n = _edge(el.text, at_end=False)
        if n:
            _add_before(el, el.text[:n])
            el.text = el.text[n:]
        last = el[-1] if len(el) else None
        end = last.tail if last is not None else el.text
        n = _edge(end, at_end=True)
        if n:
            el.tail = end[len(end) - n:] + (el.tail or "")
            if last is not None:
                last.tail = end[:len(end) - n]
            else:
                el.text = end[:len(end) - n]


def _layout_table(table) -> bool:
    """A table used to lay a page out (a cell holds paragraphs, lists or another table; or it has one column, or
    no text at all), not one of data."""
    rows = list(table.iter("tr"))
    if all(len(r.findall("td")) + len(r.findall("th")) <= 1 for r in rows) or not table.text_content().strip():
        return True
    for cell in table.iter("td", "th"):
        if any(_tag(d) in _LAYOUT_BLOCKS for d in cell.iterdescendants()):
            return True
    return False


def _unwrap_layout_tables(root) -> None:
    """Each layout table replaced by its cells' contents, one block per cell (innermost tables first): Markdown
    has no table of paragraphs, and one made of them shows lone "|" rows and empty headers."""
    for table in reversed([t for t in root.iter("table") if t is not root]):
        if table.getparent() is None or not _layout_table(table):
            continue
        holder = lxml.html.Element("div")
        for cell in table.iter("td", "th", "caption"):
            block = lxml.html.Element("div")
            block.text = cell.text
            block.extend(list(cell))
            holder.append(block)
        holder.tail = table.tail
        table.getparent().replace(table, holder)


def _drop_trailing_breaks(md: str) -> str:
    """No hard break at the end of a paragraph (`<p>文字<br></p>`), where Markdown would show its backslash;
    code blocks are left as they are."""
    if "```" not in md:
        return _no_trailing_break(md)
    out, last = [], 0
    for m in _FENCED.finditer(md):
        out += [_no_trailing_break(md[last:m.start()]), m.group(0)]
        last = m.end()
    return "".join(out) + _no_trailing_break(md[last:])


def _no_trailing_break(md: str) -> str:
    while True:  # (a run of them: "文字\\\n\\\n\\")
        mended = _TRAILING_BREAK.sub(r"\1", md)
        if mended == md:
            return mended
        md = mended
