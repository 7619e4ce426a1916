"""What one revisit says: the article is there (unchanged, or to compare), it is gone, or nothing at all.

Only what a site does on purpose counts as evidence of deletion: HTTP 404 or 410, a redirect to the site's
front page or a section front, a page saying the article was removed, or a page with no article any more.
What an outage or a rule does never counts (5xx, 429, a timeout, a connection error, robots.txt): an article is
not marked deleted for the site's bad day, and a deletion is only marked when a later check agrees (see
revisit.confirm_hours).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..fetch import FetchError
from ..models import Response

GONE_STATUSES = (404, 410)
SHORT_PAGE = 400  # characters: a removal notice is a short page; an article that quotes one is not


@dataclass(frozen=True)
class Verdict:
    kind: str  # "unchanged" (304) | "page" (an article, to compare) | "gone" (evidence of deletion) | "unknown"
    reason: str = ""
    analysed: Any = None  # with "page": what analyse() made of it


def from_error(exc: FetchError) -> Verdict:
    """A failed revisit: evidence only for 404 and 410; anything else (5xx, 429, a timeout, a refused
    connection, robots.txt) says nothing of the article."""
    if exc.status in GONE_STATUSES:
        return Verdict("gone", f"HTTP {exc.status}")
    return Verdict("unknown", exc.reason)


def is_front(url: str, final_url: str, fronts: set[str]) -> bool:
    """Whether a revisit of `url` that ended at `final_url` was sent to the site's home or a section front: the
    top of the site, a source's page (a listing, a feed's site), or a folder one level deep."""
    if final_url.rstrip("/") == url.rstrip("/"):
        return False
    parts = urlsplit(final_url)
    if parts.hostname != urlsplit(url).hostname and not any(urlsplit(f).hostname == parts.hostname for f in fronts):
        return False  # another site: a moved article, not a deletion
    path = parts.path
    for index in ("index.html", "index.htm", "index.shtml", "index.php"):
        path = path.removesuffix(index)
    segments = [s for s in path.split("/") if s]
    if not segments:
        return True
    if f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/") in {f.rstrip("/") for f in fronts}:
        return True
    return len(segments) == 1 and path.endswith("/")


def notice_in(text: str, notices: list[str]) -> str | None:
    """The removal notice a page's text holds, if any (case is ignored)."""
    folded = text.casefold()
    return next((n for n in notices if n.casefold() in folded), None)


def from_page(url: str, resp: Response, analysed: Any, fronts: set[str], notices: list[str]) -> Verdict:
    """A revisit that returned a page (200), decoded, and what analyse() made of it (a reason when no article)."""
    if resp.hops and is_front(url, resp.final_url, fronts):
        return Verdict("gone", f"redirected to the site's front page {resp.final_url}")
    if isinstance(analysed, str):
        import lxml.html

        try:
            text = lxml.html.fromstring(resp.text or "<p></p>").text_content()
        except Exception:  # noqa: BLE001 (an unparsable page is no article either)
            text = ""
        found = notice_in(text, notices)
        if found:
            return Verdict("gone", f"removal notice ({found!r})")
        return Verdict("gone", f"no article on the page any more ({analysed})")
    art = analysed[0]
    import lxml.html

    body = lxml.html.fragment_fromstring(art.body_html or "<p></p>", create_parent="div").text_content().strip()
    found = notice_in(art.title, notices) or (notice_in(body, notices) if len(body) < SHORT_PAGE else None)
    if found:
        return Verdict("gone", f"removal notice ({found!r})")
    return Verdict("page", analysed=analysed)
