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
"""

from __future__ import annotations

import re
import unicodedata

import lxml.html

_MD_ESCAPES = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})  # each character Markdown gives a meaning


def md_text(text: str | None) -> str:
    """Plain text made safe to stand inside Markdown (link text, headings, emphasis)."""
    if not text:
        return ""
    return " ".join(str(text).split()).translate(_MD_ESCAPES)


def md_run(text: str | None) -> str:
    """A run of text inside a line of Markdown (a piece of a diff): escaped like md_text, but the spaces at its
    ends kept, as they part it from the next run."""
    return re.sub(r"\s+", " ", str(text or "")).translate(_MD_ESCAPES)


def md_url(url: str) -> str:
    """A URL made safe inside Markdown's (…) link target."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


# a bare URL written as text (the original's address): what would end it early, start HTML or a comment, or
# read as emphasis or link syntax is percent-encoded; what a URL may hold is kept as it is
_BARE_URL_UNSAFE = re.compile(r"[\x00-\x20\x7f<>\"`{}|\\^*\[\]]")


def md_bare_url(url: str) -> str:
    """A URL made safe to stand alone in Markdown text, where GitHub shows it as a link."""
    return _BARE_URL_UNSAFE.sub(lambda m: f"%{ord(m.group(0)):02X}", url)


# in body text: each character that could start Markdown syntax anywhere in a line (emphasis, code, links, raw
# HTML, table cells) gets a backslash, the backslash itself first
_TEXT_SPECIAL = re.compile(r"[\\`*_\[\]<|~]")
# at the start of a line: what would make it a heading, quote, list item or setext underline
# or code fence ("1." is escaped as "1\.", a backslash before a digit being no escape)
_LINE_START_SPECIAL = re.compile(r"^([ \t]{0,3})(#{1,6}|>|[-+]|=+|-+|~{3,}|\d{1,9}[.)])(?=[ \t]|$)", re.MULTILINE)
# a web address GitHub shows as a link (its autolink extension): "www." after the start, a space or one of *_~(,
# or a scheme not after a letter or digit; then a host name with a dot in it; the link goes on up to an ASCII
# space or "<" (the punctuation GitHub leaves out at the end stays unescaped too: a backslash there would
# become the link's last character)
_BARE_URL = re.compile(r"(?:(?<![A-Za-z0-9])https?://|(?<![^ \t\n*_~(])www\.)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+"
                       r"[^ \t\n\r\f\v<]*")
_BRACKETS = re.compile(r"[\[\]]")
_URL_AT_END = re.compile(r"(?:https?://|www\.)[^ \t\n\r\f\v<]*$")
# "&copy;" written out in the page: Markdown would show ©
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_LINE_START = "_linestart"
_CELL_BAR = re.compile(r"(?<!\\)\|")


def _escape_line_start(m: re.Match[str]) -> str:
    indent, mark = m.group(1), m.group(2)
    return indent + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark)


def _escape_text(text: str, linkable: bool = True) -> str:
    """Text with a backslash before each character Markdown would read as syntax; but in a bare web address that
    GitHub will show as a link, only its brackets (a backslash in it ends up in the link), when `linkable` (not
    inside a link's own text)."""
    if not linkable or not ("://" in text or "www." in text):
        return _escape_plain(text)
    out: list[str] = []
    last = 0
    for m in _BARE_URL.finditer(text):
        out.append(_escape_plain(text[last:m.start()]))
        out.append(_BRACKETS.sub(r"\\\g<0>", m.group(0)))  # but "[" and "]", which could still make a link
        last = m.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    text = _TEXT_SPECIAL.sub(r"\\\g<0>", text)
    return _ENTITY.sub(r"\\&", text) if "&" in text else text


def _escape_line_starts(text: str, first: bool = True) -> str:
    """`text` with what would start a block escaped at the start of each line (but its first when not `first`)."""
    if "\n" in text:
        if first:
            return _LINE_START_SPECIAL.sub(_escape_line_start, text)
        head, _, rest = text.partition("\n")
        return head + "\n" + _LINE_START_SPECIAL.sub(_escape_line_start, rest)
    if first and text.lstrip(" \t")[:1] in _LINE_START_CHARS:
        m = _LINE_START_SPECIAL.match(text)
        if m:
            return _escape_line_start(m) + text[m.end():]
    return text


_LINE_START_CHARS = frozenset("#>-+=~0123456789")

_HEADINGS = {f"h{n}": n for n in range(1, 7)}
# blocks: whitespace just inside and just outside them is not content
_BLOCKS = frozenset({"p", "blockquote", "article", "div", "section", "ol", "ul", "li", "dl", "dt", "dd", "table",
                     "thead", "tbody", "tfoot", "tr", "td", "th", *_HEADINGS})
_ENDS_LINE = frozenset({*_BLOCKS, "pre", "br"})
_INLINE_MARKS = {"strong": "**", "b": "**", "em": "*", "i": "*", "del": "~~", "s": "~~"}
_MARK_TAGS = {"**": "strong", "*": "em", "~~": "del"}
# a hard break ("\\" at the end of a line) that ends a block breaks nothing: Markdown shows the backslash
_TRAILING_BREAK = re.compile(r"(?<!\\)((?:\\\\)*)\\(?=\n\n|\n?$)")
_FENCED = re.compile(r"(^(`{3,})\n.*?\n\2$)", re.MULTILINE | re.DOTALL)
# what makes a table one of layout, not of data: a cell holding blocks
_LAYOUT_BLOCKS = ("p", "div", "table", "ul", "ol", "dl", "blockquote", "figure", "pre", "section", "article",
                  "h1", "h2", "h3", "h4", "h5", "h6")
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


def _tag(el: object) -> str | None:
    """An element's tag name; None for comments, processing instructions and no element at all."""
    tag = getattr(el, "tag", None)
    return tag if isinstance(tag, str) else None


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
