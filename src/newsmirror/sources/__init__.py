"""sources: turn a configured source into the article URLs it lists (Candidates)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Source
from ..fetch import Fetcher
from ..models import Candidate
from .http import SourceHTTP, Validators


class SourceError(Exception):
    """A source that gave no URLs this time; one line saying why and what to do."""


@dataclass
class Discovery:
    candidates: list[Candidate]
    validators: dict[str, Validators] = field(default_factory=dict)  # to save with the candidates
    not_modified: list[str] = field(default_factory=list)  # pages that answered 304 (nothing parsed)


async def discover_source(source: Source, fetcher: Fetcher, root: Path,
                          lookup: Callable[[str], Validators] | None = None,
                          deadline: float | None = None) -> Discovery:
    """The candidates of one source, newest first as the source lists them, capped at `source.limit`.
    After `deadline` (time.monotonic()) it asks for nothing more than its first page or file."""
    from .feed import discover_feed
    from .listing import discover_listing
    from .sitemap import discover_sitemap
    from .urls import discover_urls

    http = SourceHTTP(fetcher, lookup, source.obey_robots, deadline)
    if source.kind in ("rss", "atom"):
        found = await discover_feed(source, http)
    elif source.kind == "listing":
        found = await discover_listing(source, http)
    elif source.kind == "sitemap":
        found = await discover_sitemap(source, http)
    else:
        found = await discover_urls(source, http, root)
    seen: set[str] = set()
    out = []
    for c in found:
        if c.url not in seen:
            seen.add(c.url)
            out.append(c)
    return Discovery(out[: source.limit], http.validators, http.not_modified)


async def discover(source: Source, fetcher: Fetcher, root: Path) -> list[Candidate]:
    """The candidates of one source (unconditional fetches)."""
    return (await discover_source(source, fetcher, root)).candidates


__all__ = ["Discovery", "SourceError", "discover", "discover_source"]
