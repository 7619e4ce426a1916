"""HTML fragments: what an element holds, serialised (shared by extract and transform)."""

from __future__ import annotations

from html import escape

import lxml.html

_WHOLE_FROM = 4  # children
_RAW_TEXT = ("script", "style")  # their text is not escaped when serialised whole


def inner_html(el: lxml.html.HtmlElement) -> str:
    """The HTML inside `el` (its leading text, escaped, then its children with their tails).

    An element with several children (a body: a dozen or more) is serialised in one call, its own
    attributes set aside for it, and its tags cut off: a call of the serialiser costs about what a child's
    does, so this halves the time. A small one is serialised child by child."""
    tag = el.tag
    if len(el) >= _WHOLE_FROM and isinstance(tag, str) and tag.isalnum() and tag not in _RAW_TEXT:
        attrs = dict(el.attrib)
        el.attrib.clear()
        try:
            html = lxml.html.tostring(el, encoding="unicode", with_tail=False)
        finally:
            el.attrib.update(attrs)
        start, end = f"<{tag}>", f"</{tag}>"
        if html.startswith(start) and html.endswith(end):
            return html[len(start):-len(end)]
    parts = [escape(el.text, quote=False)] if el.text else []
    parts += [lxml.html.tostring(child, encoding="unicode") for child in el]
    return "".join(parts)
