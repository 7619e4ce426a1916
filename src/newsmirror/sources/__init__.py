"""sources: turn a configured source into the article URLs it lists (Candidates)."""

from __future__ import annotations

from pathlib import Path

from ..config import Source
from ..fetch import Fetcher
from ..models import Candidate
from .feed import discover_feed
from .listing import discover_listing
from .urls import discover_urls


class SourceError(Exception):
    """A source that gave no URLs this time; one line saying why and what to do."""


async def discover(source: Source, fetcher: Fetcher, root: Path) -> list[Candidate]:
    """The candidates of one source, newest first as the source lists them, capped at `source.limit`."""
    if source.kind in ("rss", "atom"):
        found = await discover_feed(source, fetcher)
    elif source.kind == "listing":
        found = await discover_listing(source, fetcher)
    else:
        found = await discover_urls(source, fetcher, root)
    seen: set[str] = set()
    out = []
    for c in found:
        if c.url not in seen:
            seen.add(c.url)
            out.append(c)
    return out[: source.limit]


__all__ = ["SourceError", "discover"]
