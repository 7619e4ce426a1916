"""Script variants: a rendered page in Simplified or Traditional characters (OpenCC).

A whole page is converted after it is rendered, so the article, the site's
labels and the templates' own words all come out in one script. What must
not change is left as it is: every URL (Markdown link targets, bare URLs,
tag attributes other than alt and title), comments (the provenance record),
and spans the renderer marks with `keep()` (the name of the other script
on its switch link).
"""

from __future__ import annotations

import re

from ..variants import VARIANTS

KEEP_START, KEEP_END = "\ue000", "\ue001"  # private-use characters: OpenCC passes them through
_SEP = "\ue002"  # joins the text segments of a page for one OpenCC call; no phrase spans it


# what a page's conversion leaves alone, in the order tried
_KEEP = re.compile(
    "|".join((
        f"{KEEP_START}.*?{KEEP_END}",  # marked by the renderer
        r"<!--.*?-->",  # comments: the provenance record
        r"(?<!\\)<[a-zA-Z/!][^>\n]*>",  # a tag (its alt and title are converted below); not an escaped \<
        r"\]\((?:[^()\s]|\([^()\s]*\))*\)",  # a Markdown link target
        # a bare URL, with balanced parentheses; it ends at CJK punctuation (详见https://x/a，这个…)
        r"(?:(?:https?|ftp|mailto|file):|www\.)(?:[^\s<>\[\]()\"'`\u3000-\u303f\uff00-\uffef]|\([^()\s<>]*\))+",
    )),
    re.S,
)
_TEXT_ATTR = re.compile(r"""(\s(?:alt|title|aria-label|placeholder)=)("[^"]*"|'[^']*')""")


def keep(text: str) -> str:
    """`text` marked to come through a page's conversion unchanged (the markers are removed then)."""
    return f"{KEEP_START}{text}{KEEP_END}"


class ScriptConverter:
    """Converts text and rendered pages into one variant's script."""

    def __init__(self, code: str) -> None:
        import opencc

        self.variant = VARIANTS[code]
        self._cc = opencc.OpenCC(self.variant.opencc + ".json")

    def text(self, text: str) -> str:
        return self._cc.convert(text)

    def page(self, page: str) -> str:
        """A rendered Markdown or HTML page in this script, every URL and marked span as it was."""
        parts: list[str] = []  # text, kept, text, kept, …, text
        pos = 0
        for m in _KEEP.finditer(page):
            parts.append(page[pos:m.start()])
            kept = m.group(0)
            if kept.startswith(KEEP_START):
                kept = kept[1:-1]
            elif kept.startswith("<") and not kept.startswith("<!--"):
                kept = _TEXT_ATTR.sub(lambda a: a.group(1) + self._cc.convert(a.group(2)), kept)
            parts.append(kept)
            pos = m.end()
        parts.append(page[pos:])
        texts = parts[0::2]
        converted = self._cc.convert(_SEP.join(texts)).split(_SEP)
        if len(converted) != len(texts):  # a page that held the separator itself: convert piece by piece
            converted = [self._cc.convert(t) for t in texts]
        parts[0::2] = converted
        return "".join(parts).replace(KEEP_START, "").replace(KEEP_END, "")
