"""sources: turn a configured source into the article URLs it lists (Candidates)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..config import Source
from ..fetch import Fetcher
from ..models import Candidate
from .base import BATCH, Discovery, NeedsWork, SourceError
from .http import SourceHTTP, Validators


async def discover_source(source: Source, fetcher: Fetcher, root: Path,
                          lookup: Callable[[str], Validators] | None = None,
                          deadline: float | None = None, needs_work: NeedsWork | None = None) -> Discovery:
    """The candidates of one source that need work, newest first as the source lists them, capped at
    `source.limit`. `needs_work` keeps, of a batch of candidates, those that still need work, in order (without
    it, all do): URLs already mirrored do not count, so a backlog drains over successive runs.
    After `deadline` (time.monotonic()) it asks for nothing more than its first page or file."""
    from .feed import discover_feed  # each kind's parser is imported when a source of its kind is read
    from .listing import discover_listing
    from .sitemap import discover_sitemap
    from .urls import discover_urls

    http = SourceHTTP(fetcher, lookup, source.obey_robots, deadline)
    if source.kind in ("rss", "atom"):
        found = await discover_feed(source, http)
    elif source.kind == "listing":
        found = await discover_listing(source, http)
    elif source.kind == "sitemap":
        found = await discover_sitemap(source, http, needs_work)  # streamed: holds the newest few only
    else:
        found = await discover_urls(source, http, root)
    taken, more = _first_needing_work(found, source.limit, needs_work)
    if more:  # the pages that listed the rest must be read in full next run: a 304 would hide it for good
        http.validators = {key: (None, None) for key in http.validators}
    return Discovery(taken, http.validators, http.not_modified, more)


def _first_needing_work(found: list[Candidate], limit: int,
                        needs_work: NeedsWork | None) -> tuple[list[Candidate], bool]:
    """The first `limit` distinct candidates that need work, in order, and whether more than those do."""
    seen: set[str] = set()
    unique = []
    for c in found:
        if c.url not in seen:
            seen.add(c.url)
            unique.append(c)
    taken: list[Candidate] = []
    for i in range(0, len(unique), BATCH):
        batch = unique[i : i + BATCH]
        for c in needs_work(batch) if needs_work is not None else batch:
            if len(taken) == limit:
                return taken, True
            taken.append(c)
    return taken, False


__all__ = ["BATCH", "Discovery", "NeedsWork", "SourceError", "discover_source"]
