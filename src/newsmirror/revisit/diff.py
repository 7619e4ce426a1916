"""What changed between two versions of an article: title first, then the body paragraph by paragraph, each
changed paragraph character by character in Chinese (and other scripts without spaces), word by word otherwise.

Made of the standard library's difflib: a change page lists only what differs, short enough for a phone.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import lxml.html

BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "figcaption", "td", "dd", "dt")
_WORDS = re.compile(r"\w+|\s+|[^\w\s]")
_NO_SPACES = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")

Ops = list[tuple[str, str]]  # ("=", same) ("-", removed) ("+", added)


@dataclass
class Changes:
    title: Ops | None = None  # None: the title did not change
    blocks: list[tuple[str, Ops]] = field(default_factory=list)  # ("changed" | "removed" | "added", ops)

    @property
    def empty(self) -> bool:
        return self.title is None and not self.blocks


def paragraphs(body_html: str) -> list[str]:
    """The body's text, one entry per paragraph (block element holding no other block), whitespace folded."""
    root = lxml.html.fragment_fromstring(body_html or "<p></p>", create_parent="div")
    out = []
    for el in root.iter(BLOCKS):
        if any(True for _ in el.iterdescendants(BLOCKS)):
            continue
        text = " ".join(el.text_content().split())
        if text:
            out.append(text)
    if not out:
        text = " ".join(root.text_content().split())
        out = [text] if text else []
    return out


def tokens(text: str) -> list[str]:
    """Characters for a text in a script without spaces between words, else words, spaces and punctuation."""
    return list(text) if _NO_SPACES.search(text) else _WORDS.findall(text)


def inline(old: str, new: str) -> Ops:
    """`old` → `new` as runs of kept, removed and added text."""
    a, b = tokens(old), tokens(new)
    ops: Ops = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + text)
        else:
            ops.append((op, text))

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("=", "".join(a[i1:i2]))
        else:
            put("-", "".join(a[i1:i2]))
            put("+", "".join(b[j1:j2]))
    return ops


def changes(old_title: str, old_body: str, new_title: str, new_body: str) -> Changes:
    """What differs between two versions (bodies as HTML)."""
    out = Changes()
    if " ".join(old_title.split()) != " ".join(new_title.split()):
        out.title = inline(old_title, new_title)
    a, b = paragraphs(old_body), paragraphs(new_body)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        old, new = a[i1:i2], b[j1:j2]
        for k in range(max(len(old), len(new))):
            if tag == "replace" and k < len(old) and k < len(new):
                out.blocks.append(("changed", inline(old[k], new[k])))
            elif k < len(old):
                out.blocks.append(("removed", [("-", old[k])]))
            else:
                out.blocks.append(("added", [("+", new[k])]))
    return out
