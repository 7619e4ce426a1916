"""sources: turn a configured source into the article URLs it lists (Candidates)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from ..config import Source
from ..fetch import Fetcher
from ..models import Candidate
from .base import BATCH, Discovery, NeedsWork, Reading, SourceError
from .http import SourceHTTP, Validators

READERS = ("feed", "listing", "sitemap", "urls")  # the modules that read the source kinds (see readers())


async def discover_source(source: Source, fetcher: Fetcher, root: Path,
                          lookup: Callable[[str], Validators] | None = None,
                          deadline: float | None = None, needs_work: NeedsWork | None = None) -> Discovery:
    """The candidates of one source that need work, newest first as the source lists them, capped at
    `source.limit`. `needs_work` keeps, of a batch of candidates, those that still need work, in order (without
    it, all do): URLs already mirrored do not count, so a backlog drains over successive runs.
    After `deadline` (time.monotonic()) it asks for nothing more than its first page or file."""
    http = SourceHTTP(fetcher, lookup, source.obey_robots, deadline)
    found = await readers()[source.kind](source, http, Reading(root, needs_work))
    taken, more = _first_needing_work(found, source.limit, needs_work)
    if more:  # the pages that listed the rest must be read in full next run: a 304 would hide it for good
        http.validators = {key: (None, None) for key in http.validators}
    return Discovery(taken, http.validators, http.not_modified, more)


def readers() -> dict[str, Callable]:
    """Each source kind → its module's discover(): every module of READERS declares the KINDS it reads (and their
    OPTIONS, the config's model of them). (Imported when a source is first read, not with this package.)"""
    out: dict[str, Callable] = {}
    for name in READERS:
        module = importlib.import_module(f"{__name__}.{name}")
        out.update(dict.fromkeys(module.KINDS, module.discover))
    return out


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
