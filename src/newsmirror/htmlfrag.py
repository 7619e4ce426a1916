"""HTML fragments: what an element holds, serialised (shared by extract and transform)."""

from __future__ import annotations

from html import escape

import lxml.html


def inner_html(el: lxml.html.HtmlElement) -> str:
    """The HTML inside `el` (its leading text, escaped, then its children with their tails)."""
    parts = [escape(el.text, quote=False)] if el.text else []
    parts += [lxml.html.tostring(child, encoding="unicode") for child in el]
    return "".join(parts)
