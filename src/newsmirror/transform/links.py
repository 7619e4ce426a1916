"""The in-body link policy: mirror | keep | neutralize | drop."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import lxml.html

from ..htmlfrag import inner_html
from ..ids import normalise_url


def link_targets(body: str | lxml.html.HtmlElement) -> set[str]:
    """The normalised http(s) URLs an (absolute, sanitised) body links to; the body as HTML or parsed."""
    if isinstance(body, str):
        if "<a" not in body:
            return set()
        body = lxml.html.fragment_fromstring(body, create_parent="div")
    return {normalise_url(h) for h in body.xpath("//a/@href") if h.startswith(("http://", "https://"))}


def apply_link_policy(
    body_html: str,
    policy: str,
    mirrored: Callable[[str], str | None],
    base_url: str | None = None,
) -> str:
    """Rewrite the body's links.

    `mirrored(normalised_url)` returns the relative path of our copy of that
    article, or None. `mirror` points links at our copy when we have one and
    keeps the rest; `keep` keeps every link; `neutralize` keeps the text but
    no link; `drop` removes link and text.
    """
    if "<a" not in body_html:
        return body_html
    frag = lxml.html.fragment_fromstring(body_html, create_parent="div")
    for a in list(frag.iter("a")):
        href = (a.get("href") or "").strip()
        if href.startswith("#"):  # an in-page anchor: check before joining, which would make it absolute
            a.drop_tag()
            continue
        if base_url and href:
            href = urljoin(base_url, href)
        if not href or href.startswith("#") or not href.startswith(("http://", "https://", "mailto:")):
            a.drop_tag()
            continue
        if policy == "neutralize":
            a.drop_tag()
        elif policy == "drop":
            a.drop_tree()
        elif policy == "mirror":
            ours = mirrored(normalise_url(href)) if href.startswith("http") else None
            a.set("href", ours or href)
        else:
            a.set("href", href)
    return inner_html(frag)
