"""A sanitised HTML body → clean Markdown (paragraphs, headings, lists, quotes, images, links).

HTML stays only where Markdown cannot say it (<sub>/<sup>).

The body has been through `transform.sanitize` (nh3), so its tags are a short, known list. The
conversion follows markdownify's rules (whitespace next to blocks dropped, newlines between
blocks collapsed), walking the lxml tree the rest of the pipeline already uses; at 10,000 pages
a run, BeautifulSoup's parse alone cost more than all of this.

Text stays text: every character that Markdown reads as syntax inside a line (`\\` `` ` `` `*` `_` `[` `]`
`<` `|` `~`, and `&` before an entity name) is escaped, and so is what would start a heading, list, quote or
fence at the start of a line (of a block, after a <br>, or after a newline in the text). So a page that
writes out "[text](url)" or "<script>" shows those characters, and link_policy = "neutralize" makes no link
of it. A bare web address in the text is left as it is: GitHub shows it as a link (as it does in any text),
and a backslash in it would become part of that link.

Every CommonMark renderer (GitHub's cmark-gfm, markdown-it, mistune) must read the same page: emphasis follows
the flanking rules, which a "**" next to punctuation and a letter breaks (`**算法方面，**阿里`). So punctuation at
the edge of a bold or italic run moves outside it, adjacent runs of one kind become one, and a run whose edge is
still punctuation (a link, code, an escape) is written as HTML (`<strong>`). A table that holds paragraphs (a
page laid out with tables) is unwrapped into its paragraphs: only tables of data stay tables.

The escaping is in md_escape.py, the mending of the tree and of the text in md_mend.py.
"""

from __future__ import annotations

import re

import lxml.html

from .md_escape import (
    _CELL_BAR,
    _LINE_START_CHARS,
    _TEXT_SPECIAL,
    _URL_AT_END,
    _escape_line_starts,
    _escape_text,
    md_bare_url,
    md_run,
    md_text,
    md_url,
)
from .md_mend import _INLINE_MARKS, _drop_trailing_breaks, _mend_marks, _punctuation, _tag, _unwrap_layout_tables

__all__ = ["html_to_markdown", "md_bare_url", "md_run", "md_text", "md_url"]

_LINE_START = "_linestart"
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# blocks: whitespace just inside and just outside them is not content
_BLOCKS = frozenset({"p", "blockquote", "article", "div", "section", "ol", "ul", "li", "dl", "dt", "dd", "table",
                     "thead", "tbody", "tfoot", "tr", "td", "th", *_HEADINGS})
_ENDS_LINE = frozenset({*_BLOCKS, "pre", "br"})
_MARK_TAGS = {"**": "strong", "*": "em", "~~": "del"}
_CODE = frozenset({"code", "kbd", "samp"})
_DROP = frozenset({"script", "style"})
_LINE = re.compile(r"^(.*)", re.MULTILINE)
_WS = re.compile(r"[\t ]+")
_ALL_WS = re.compile(r"[\t \r\n]+")
_NEWLINE_WS = re.compile(r"[\t \r\n]*[\r\n][\t \r\n]*")
_EDGE_NEWLINES = re.compile(r"^(\n*)((?:.*[^\n])?)(\n*)$", re.DOTALL)
_BACKTICKS = re.compile(r"`+")
_PRE_LEAD = re.compile(r"^[ \n]*\n")
_PRE_TRAIL = re.compile(r"[ \n]*$")
_ROOT = "[root]"
_TRAILING_WS = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


def _block(el: object, root: object = None) -> bool:
    return el is not root and _tag(el) in _BLOCKS


def _block_or_pre(el: object) -> bool:
    return _block(el) or _tag(el) == "pre"


def _chomp(text: str) -> tuple[str, str, str]:
    """<b> word</b> → " **word**": an inline mark's edge spaces go outside it."""
    prefix = " " if text[:1] == " " else ""
    suffix = " " if text[-1:] == " " else ""
    return prefix, suffix, text.strip()


def _indent(text: str, first: str, rest: str) -> str:
    """Every non-empty line indented by `rest`, the first line starting with `first` instead."""
    text = _LINE.sub(lambda m: rest + m.group(1) if m.group(1) else "", text)
    return first + text[len(rest):]


class _Converter:
    def __init__(self, root: lxml.html.HtmlElement) -> None:
        self.root = root

    # -- text
    def text(self, text: str, parent, prev, nxt, ctx: frozenset[str], line_start: bool = False) -> str:
        """`line_start`: the text begins a line of the Markdown (what comes before it ends one)."""
        if "pre" not in ctx:
            if "\n" in text or "\r" in text:
                text = _NEWLINE_WS.sub("\n", text)
            if "\t" in text or "  " in text:
                text = _WS.sub(" ", text)
        if "_noformat" not in ctx and (_TEXT_SPECIAL.search(text) or "&" in text):
            # "<" too: text that reads "<script>" in the page must not become raw HTML in the Markdown
            text = _escape_text(text, linkable="a" not in ctx)
        inside = _block(parent, self.root)
        if _block_or_pre(prev) or (inside and prev is None):
            text = text.lstrip(" \t\r\n")
        if _block_or_pre(nxt) or (inside and nxt is None):
            text = text.rstrip()
        # "# ", "1. ", "> " … where a line starts: text, not a heading, list or quote
        if "_noformat" not in ctx and (text.lstrip(" \t")[:1] in _LINE_START_CHARS or "\n" in text):
            text = _escape_line_starts(text, line_start)
        return text

    def _ignorable(self, text: str, parent, prev, nxt) -> bool:
        if text.strip():
            return False
        if _block(parent, self.root) and (prev is None or nxt is None):
            return True
        return _block_or_pre(prev) or _block_or_pre(nxt)

    # -- elements
    def convert(self, el, ctx: frozenset[str], in_pre: bool = False) -> str:
        tag = _tag(el)
        name = _ROOT if el is self.root else tag
        if tag in _DROP:
            return ""
        child_ctx = set(ctx)
        child_ctx.discard(_LINE_START)
        child_ctx.add(name)
        if tag in _HEADINGS or tag in ("td", "th"):
            child_ctx.add("_inline")
        if tag == "pre" or tag in _CODE:
            child_ctx.add("_noformat")
        cctx = frozenset(child_ctx)
        cctx_start = cctx | {_LINE_START}  # for a child that begins a line (<li><span>1. …)
        in_pre = in_pre or tag == "pre"
        parts: list[str] = []
        children = list(el)
        # what begins a line: the start of a block (or of an element that begins one), what follows a block or
        # a <br>, and what follows a newline in the text
        at_start = el is self.root or _block(el) or _LINE_START in ctx
        if el.text and not self._ignorable(el.text, el, None, children[0] if children else None):
            parts.append(self.text(el.text, el, None, children[0] if children else None, cctx, at_start))
        before = el.text
        starts = at_start
        for i, child in enumerate(children):
            ctag = _tag(child)
            if before and before.strip():
                starts = before.rstrip(" \t").endswith("\n")
            if ctag is not None:
                done = self.convert(child, cctx_start if starts else cctx, in_pre)
                if ctag == "br" and parts and _URL_AT_END.search(parts[-1][-300:]):
                    parts[-1] += " "  # the hard break's "\\" would become the last character of the link
                parts.append(done)
                if done or ctag in _ENDS_LINE:  # an empty <span> leaves the line where it was
                    starts = ctag in _ENDS_LINE  # what follows this child begins a line
            before = child.tail
            if before:
                nxt = children[i + 1] if i + 1 < len(children) else None
                if not self._ignorable(before, el, child, nxt):
                    parts.append(self.text(before, el, child, nxt, cctx, starts))
        parts = [p for p in parts if p]
        if not in_pre:
            parts = _collapse_newlines(parts)
        text = "".join(parts)
        fn = getattr(self, f"c_{tag}", None) if tag and name != _ROOT else None
        if fn is not None:
            return fn(el, text, ctx)
        if tag in _HEADINGS:
            return self.heading(_HEADINGS[tag], text, ctx)
        if tag in _INLINE_MARKS:
            return self.mark(_INLINE_MARKS[tag], text, ctx)
        if tag in _CODE:
            return self.code(text, ctx)
        return text  # the root, and tags kept for their text only (span, time, abbr, cite, small, mark, u, ins)

    @staticmethod
    def mark(symbol: str, text: str, ctx: frozenset[str]) -> str:
        if "_noformat" in ctx:
            return text
        before = after = ""  # a line break just inside the mark goes outside it: "**a\\\n**" marks nothing
        if text.startswith("\\\n"):
            before, text = "\\\n", text[2:]
        if text.endswith("\\\n"):
            text, after = text[:-2], "\\\n"
        prefix, suffix, text = _chomp(text)
        if not text:
            return before + after
        if _punctuation(text[0]) or _punctuation(text[-1]):
            # a delimiter next to punctuation may not open or close (CommonMark's flanking rules): HTML always does
            tag = _MARK_TAGS[symbol]
            return f"{before}{prefix}<{tag}>{text}</{tag}>{suffix}{after}"
        return f"{before}{prefix}{symbol}{text}{symbol}{suffix}{after}"

    @staticmethod
    def code(text: str, ctx: frozenset[str]) -> str:
        if "_noformat" in ctx:
            return text
        prefix, suffix, text = _chomp(text)
        if not text:
            return ""
        if "\n" in text or "\r" in text:  # a code span is one line (a line starting "<div" would be raw HTML)
            text = _ALL_WS.sub(" ", text)
        longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
        fence = "`" * (longest + 1)
        if longest:
            text = f" {text} "
        return f"{prefix}{fence}{text}{fence}{suffix}"

    @staticmethod
    def heading(n: int, text: str, ctx: frozenset[str]) -> str:
        if "_inline" in ctx:
            return text
        text = _ALL_WS.sub(" ", text.strip())
        if text.endswith("#"):  # "热搜话题 #": a trailing run of # would be read as the heading's closing marks
            text = text[:-1] + "\\#"
        return f"\n\n{'#' * n} {text}\n\n"

    def c_p(self, el, text: str, ctx) -> str:
        text = text.strip(" \t\r\n")
        if "_inline" in ctx:
            return f" {text} "
        text = _escape_line_starts(text)  # a paragraph's lines hold no block of their own (<p><span># …)
        return f"\n\n{text}\n\n" if text else ""

    def c_div(self, el, text: str, ctx) -> str:
        if "_inline" in ctx:
            return f" {text.strip()} "
        text = text.strip()
        return f"\n\n{text}\n\n" if text else ""

    c_article = c_section = c_dl = c_div

    def c_blockquote(self, el, text: str, ctx) -> str:
        text = (text or "").strip(" \t\r\n")
        if "_inline" in ctx:
            return f" {text} "
        if not text:
            return "\n"
        return "\n" + _LINE.sub(lambda m: "> " + m.group(1) if m.group(1) else ">", text) + "\n\n"

    def c_br(self, el, text: str, ctx) -> str:
        if "_noformat" in ctx:  # in code: a new line of it, not a Markdown hard break (a "\\" there is shown)
            return "\n" + text
        if "_inline" in ctx:
            return text + " " if text else " "
        return "\\\n" + text

    def c_hr(self, el, text: str, ctx) -> str:
        return "\n\n---\n\n"

    def c_a(self, el, text: str, ctx) -> str:
        href = el.get("href")
        text = text.strip()
        if not href:
            return text
        if not text:
            return ""
        return f"[{text}]({md_url(href)})"

    def c_img(self, el, text: str, ctx) -> str:
        src = el.get("src") or ""
        if not src:
            return ""
        return f"![{md_text(el.get('alt') or '')}]({md_url(src)})"

    def c_figure(self, el, text: str, ctx) -> str:
        return f"\n\n{text.strip()}\n\n"

    def c_figcaption(self, el, text: str, ctx) -> str:
        caption = " ".join(text.split())
        return f"\n\n_{caption}_\n\n" if caption else ""

    def c_sub(self, el, text: str, ctx) -> str:
        return f"<sub>{text}</sub>" if text.strip() else ""

    def c_sup(self, el, text: str, ctx) -> str:
        return f"<sup>{text}</sup>" if text.strip() else ""

    def c_q(self, el, text: str, ctx) -> str:
        return f'"{text}"'

    def c_pre(self, el, text: str, ctx) -> str:
        if not text:
            return ""
        # a fence longer than any run of backticks inside: the text cannot close it and go on as Markdown
        fence = "`" * max(3, 1 + max((len(m) for m in _BACKTICKS.findall(text)), default=0))
        return f"\n\n{fence}\n{_PRE_TRAIL.sub('', _PRE_LEAD.sub('', text))}\n{fence}\n\n"

    def c_ul(self, el, text: str, ctx) -> str:
        before_paragraph = _next_content_tag(el) not in (None, "ul", "ol")
        if "li" in ctx:
            return "\n" + text.rstrip()
        return "\n\n" + text + ("\n" if before_paragraph else "")

    c_ol = c_ul

    def c_li(self, el, text: str, ctx) -> str:
        text = (text or "").strip()
        if not text:
            return "\n"
        parent = el.getparent()
        if _tag(parent) == "ol":
            start = parent.get("start") or ""
            first = int(start) if start.isdigit() else 1
            bullet = f"{first + sum(1 for s in el.itersiblings(preceding=True) if _tag(s) == 'li')}. "
        else:
            bullet = "- "
        return _indent(text, bullet, " " * len(bullet)) + "\n"

    def c_dt(self, el, text: str, ctx) -> str:
        text = _ALL_WS.sub(" ", (text or "").strip())
        if "_inline" in ctx:
            return f" {text} "
        return f"\n\n{text}\n" if text else "\n"

    def c_dd(self, el, text: str, ctx) -> str:
        text = (text or "").strip()
        if "_inline" in ctx:
            return f" {text} "
        if not text:
            return "\n"
        return ":" + _indent(text, "    ", "    ")[1:] + "\n"

    def c_table(self, el, text: str, ctx) -> str:
        return "\n\n" + text.strip() + "\n\n"

    def c_caption(self, el, text: str, ctx) -> str:
        return text.strip() + "\n\n"

    def c_td(self, el, text: str, ctx) -> str:
        # a "|" ends the cell even inside a code span: GitHub's tables want "\|" there too
        return " " + _CELL_BAR.sub(r"\\|", text.strip().replace("\n", " ")) + " |" * _colspan(el)

    c_th = c_td

    def c_tr(self, el, text: str, ctx) -> str:
        cells = [c for c in el.iterdescendants("td", "th")]
        parent = el.getparent()
        ptag = _tag(parent)
        first = el.getprevious() is None
        head = all(c.tag == "th" for c in cells) or (ptag == "thead" and len(parent.findall(".//tr")) == 1)
        head_missing = (first and ptag != "tbody") or (
            first and ptag == "tbody" and parent.getparent() is not None
            and not parent.getparent().findall(".//thead"))
        width = sum(_colspan(c) for c in cells)
        over = under = ""
        if head and first:
            under = "| " + " | ".join(["---"] * width) + " |\n"
        elif head_missing or (first and (ptag == "table" or (ptag == "tbody" and parent.getprevious() is None))):
            over = "| " + " | ".join([""] * width) + " |\n" + "| " + " | ".join(["---"] * width) + " |\n"
        return over + "|" + text + "\n" + under


def _next_content_tag(el) -> str | None:
    """The tag of what follows `el` in its parent ("#text" for words), skipping whitespace and comments."""
    if el.tail and el.tail.strip():
        return "#text"
    for sib in el.itersiblings():
        if _tag(sib) is not None:
            return _tag(sib)
        if sib.tail and sib.tail.strip():
            return "#text"
    return None


def _colspan(cell) -> int:
    span = cell.get("colspan") or ""
    return max(1, min(1000, int(span))) if span.isdigit() else 1


def _collapse_newlines(parts: list[str]) -> list[str]:
    """Where one part ends and the next begins with newlines, keep the larger run (at most 2)."""
    out = [""]
    for part in parts:
        lead, content, trail = _EDGE_NEWLINES.match(part).groups()  # type: ignore[union-attr]
        if out[-1] and lead:
            prev = out.pop()
            lead = "\n" * min(2, max(len(prev), len(lead)))
        out.extend((lead, content, trail))
    return out


def html_to_markdown(body_html: str) -> str:
    if not body_html.strip():
        return "\n"
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    if "<table" in body_html:
        _unwrap_layout_tables(root)
    if any(f"<{t}>" in body_html or f"<{t} " in body_html for t in _INLINE_MARKS):
        _mend_marks(root)
    md = _Converter(root).convert(root, frozenset()).strip("\n")
    if "\\\n" in md or md.endswith("\\"):
        md = _drop_trailing_breaks(md)
    # (each regex pass over a long CJK text costs more than the whole conversion's other string work: asked
    # for only when there is something to mend)
    if " \n" in md or "\t\n" in md:
        md = _TRAILING_WS.sub("\n", md)
    if "\n\n\n" in md:
        md = _BLANK_LINES.sub("\n\n", md)
    return md.strip(" \t\r\n") + "\n"  # not a paragraph's ideographic indent (U+3000): "　1. …" is no list
