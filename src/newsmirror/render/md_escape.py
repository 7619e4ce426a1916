"""Text and addresses made safe inside Markdown: each character Markdown reads as syntax gets a backslash
(and what would start a block at the start of a line), but a bare web address GitHub shows as a link keeps
its characters, as a backslash in it would become part of the link."""

from __future__ import annotations

import re

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
