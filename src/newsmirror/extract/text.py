"""An HTML body fragment → plain text, paragraphs separated by blank lines."""

from __future__ import annotations

import re

import lxml.html

BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt",
    "dd", "blockquote", "pre", "table", "thead", "tbody", "tfoot", "tr", "figure", "figcaption", "header",
    "footer", "hr", "address", "center", "caption",
})
_WS = re.compile(r"[ \t\r\n\f\v\u00a0\u3000]+")


def element_text(root: lxml.html.HtmlElement) -> str:
    """The text of an element tree with a paragraph break at every block and a line break at <br>; ruby
    annotations (<rt>: the reading of 子 as こ, pinyin over 汉字) are not part of the text."""
    out: list[str] = []

    def walk(el: lxml.html.HtmlElement) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag in BLOCK_TAGS or tag in ("td", "th")
        if block:
            out.append("\n\n" if tag not in ("td", "th") else " ")
        if tag == "br":
            out.append("\n")
        elif tag in ("script", "style", "noscript", "template", "figcaption", "rt", "rp") or (
                tag and any(w in (el.get("class") or "").lower() for w in ("caption", "credit"))):
            pass
        else:
            if el.text and isinstance(el.tag, str):
                out.append(el.text)
            for child in el:
                walk(child)
        if block:
            out.append("\n\n" if tag not in ("td", "th") else " ")
        if el.tail:
            out.append(el.tail)

    walk(root)
    raw = "".join(out)
    paras = []
    for block in re.split(r"\n\s*\n", raw):
        lines = [_WS.sub(" ", ln).strip() for ln in block.split("\n")]
        text = "\n".join(ln for ln in lines if ln)
        if text:
            paras.append(text)
    return "\n\n".join(paras)


def html_to_text(body_html: str) -> str:
    if not body_html or not body_html.strip():
        return ""
    return element_text(lxml.html.fragment_fromstring(body_html, create_parent="div"))


_CJK_CHARS = "\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"  # Han, kana, Hangul
_NOT_CJK = re.compile(f"[^{_CJK_CHARS}]+")


def text_size(text: str) -> int:
    """How much text there is: non-space characters, a CJK character counting twice (it carries about a word;
    "决定任命张三同志为市教育局局长。" is a whole decision in 16 characters)."""
    dense = "".join(text.split())
    # the CJK characters counted as what is left once the runs of others are cut: one pass of the regex engine,
    # ten times as fast as listing them one by one (findall)
    return len(dense) + len(_NOT_CJK.sub("", dense))
