"""Generic body extraction for pages without rules (trafilatura for now)."""

from __future__ import annotations

import lxml.html
import trafilatura


def generic_body(html: str, url: str | None) -> str | None:
    """The article body as an HTML fragment, or None when nothing looks like an article."""
    out = trafilatura.extract(
        html,
        url=url,
        output_format="html",
        include_images=True,
        include_links=True,
        include_formatting=True,
        include_tables=True,
        include_comments=False,
        with_metadata=False,
    )
    if not out:
        return None
    doc = lxml.html.document_fromstring(out)
    body = doc.find("body")
    if body is None:
        return None
    parts = [body.text or ""] if body.text and body.text.strip() else []
    parts += [lxml.html.tostring(child, encoding="unicode") for child in body]
    return "".join(parts).strip() or None
