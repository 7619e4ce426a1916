"""The discover phase: each source lists the article URLs it has; what it listed is remembered before it is
fetched, with the validators that let the next run skip an unchanged feed or page."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace

from ..config import Config, Source, UrlsSource
from ..errors import SourceFailed
from ..fetch import Fetcher, FetchError
from ..fetch.fetcher import brief
from ..fetch.netguard import named_hosts
from ..models import Candidate, RunReport
from ..sources import SourceError
from .context import Context
from .seams import SEAMS
from .select import needing_work

log = logging.getLogger("newsmirror")


def config_hosts(cfg: Config, extra: Iterable[str] = ()) -> frozenset[str]:
    """The hosts the config names (and the command line, `extra` URLs): the only ones fetched from when
    they are on the operator's network (see fetch.netguard)."""
    from ..sources.urls import parse_url_list

    listed: list[str] = []
    for s in cfg.sources:  # a list the operator keeps beside the config names its URLs' hosts too
        if isinstance(s, UrlsSource) and s.path:
            try:
                text = (cfg.root / s.path).read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                continue  # discovery says why
            listed.extend(c.url for c in parse_url_list(text, s))
    return named_hosts([*(s.url for s in cfg.sources), cfg.fetch.proxy, *extra, *listed], cfg.fetch.allow_hosts)


def sources_to_run(cfg: Config, names: set[str] | None) -> list[Source]:
    """The configured sources (or those named), with a warning for each that overrides robots.txt."""
    sources = [s for s in cfg.sources if names is None or s.name in names]
    for s in sources:
        if s.obey_robots is False and cfg.fetch.obey_robots:
            log.warning("source %s ignores robots.txt (obey_robots = false): be sure the site allows it", s.name)
    return sources


async def discover_all(ctx: Context, sources: list[Source], fetcher: Fetcher, report: RunReport) -> list[Candidate]:
    """Every source at once: the candidates they list (a source that fails is that source's failure alone)."""
    found: list[list[Candidate]] = [[] for _ in sources]

    async def into(i: int, source: Source) -> None:
        found[i] = await discover_one(ctx, source, fetcher, report)

    # (not gather's list of results: the event loop's handle that wakes this task holds gather's future, and so
    # its results, until the task next waits; the run forks its workers before that)
    await asyncio.gather(*(into(i, s) for i, s in enumerate(sources)))
    out = [c for cands in found for c in cands]
    found.clear()
    return out


async def _read(ctx: Context, source: Source, fetcher: Fetcher):  # noqa: ANN202
    try:
        return await SEAMS.discover(source, fetcher, ctx.cfg.root, ctx.store.validators, ctx.deadline(),
                                    lambda cands: needing_work(ctx, cands))
    except FetchError as exc:
        raise SourceFailed(exc.reason) from None
    except SourceError as exc:
        raise SourceFailed(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 (one source's failure, whatever it is, is that source's alone)
        raise SourceFailed(f"reading it crashed ({type(exc).__name__}: {brief(exc)})") from None


async def discover_one(ctx: Context, source: Source, fetcher: Fetcher, report: RunReport) -> list[Candidate]:
    try:
        found = await _read(ctx, source, fetcher)
    except SourceFailed as exc:
        log.error("source %s: %s", source.name, exc.reason)
        ctx.store.source_ran(source.name, source.kind, exc.reason)
        report.source_errors += 1
        report.failures.append((source.name, exc.reason))
        return []
    with ctx.store.tx():
        # the URLs first, then the validators that would let the next run skip the page that listed them
        ctx.store.add_pending(found.candidates)
        for url, (etag, last_modified) in found.validators.items():
            ctx.store.set_validators(url, etag, last_modified)
        ctx.store.source_ran(source.name, source.kind, None)
    if found.not_modified and not found.candidates:
        log.info("source %s: not modified since the last run", source.name)
    else:
        log.info("source %s: %d article links to fetch%s", source.name, len(found.candidates),
                 f" (limit = {source.limit}; more next run)" if found.more else "")
    # what the fetch needs of a candidate: not its title (kept in the store with its URL; memory: 100,000 of them
    # are 10 MB)
    return [replace(c, title=None) if c.title else c for c in found.candidates]
