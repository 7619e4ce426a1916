"""The select phase: of the URLs the sources listed (and those left from earlier runs), which need a fetch."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from enum import Enum

from ..models import Candidate, UrlState
from ..store import batched
from .context import Context

log = logging.getLogger("newsmirror")


class Verdict(Enum):
    NEW = "new"  # never mirrored, or failed with attempts left
    UPDATED = "updated"  # mirrored, but the source dates it after we last read it
    GIVE_UP = "give_up"  # failed fetch.max_attempts times
    DONE = "done"  # mirrored, a duplicate, or given up


def verdicts(ctx: Context, cands: list[Candidate]) -> Iterator[tuple[Candidate, Verdict, str | UrlState | None]]:
    """What each candidate needs, from a few look-ups of the store a batch; with UPDATED, the article's id,
    with GIVE_UP, the URL's state."""
    for batch in batched(cands, 500):
        states = ctx.store.url_states(c.url for c in batch)
        # a URL that led to an article is marked ok (or duplicate); pending and failed ones led to none
        have = ctx.store.articles_at(c.url for c in batch if c.url not in states
                                     or states[c.url].status not in ("pending", "failed", "gave_up"))
        read_at = ctx.store.read_at({have[c.url] for c in batch if c.updated and c.url in have})
        for c in batch:
            yield c, *_verdict(ctx, c, states.get(c.url), have.get(c.url), read_at)


def _verdict(ctx: Context, c: Candidate, state: UrlState | None, aid: str | None,
             read_at: dict) -> tuple[Verdict, str | UrlState | None]:
    if aid is not None:
        return (Verdict.UPDATED, aid) if c.updated and c.updated > read_at[aid] else (Verdict.DONE, None)
    if state is not None and state.status == "gave_up":
        return Verdict.DONE, None
    if state is not None and state.status == "failed" and state.attempts >= ctx.cfg.fetch.max_attempts:
        return Verdict.GIVE_UP, state
    return Verdict.NEW, None


def give_up(ctx: Context, c: Candidate, state: UrlState) -> None:
    ctx.store.mark_url(c.url, c.source, "gave_up", reason=state.reason)
    log.warning("giving up on %s after %d failures: %s", c.url, state.attempts, state.reason)


def needing_work(ctx: Context, cands: list[Candidate]) -> list[Candidate]:
    """Those of `cands` that need a fetch, in order: what a source's `limit` counts. Nothing is marked due
    here (only what the limit takes is); those that failed too often are given up."""
    out = []
    for c, verdict, detail in verdicts(ctx, cands):
        if verdict in (Verdict.NEW, Verdict.UPDATED):
            out.append(c)
        elif verdict is Verdict.GIVE_UP:
            give_up(ctx, c, detail)
    return out


def remembered(ctx: Context, found: list[Candidate], names: set[str] | None) -> list[Candidate]:
    """URLs earlier runs found and did not finish (not among `found`), of the sources run and still configured."""
    return [c for c in ctx.store.unfinished(ctx.cfg.fetch.max_attempts, {c.url for c in found})
            if (names is None or c.source in names) and _known(ctx, c)]


def _known(ctx: Context, c: Candidate) -> bool:
    """A remembered URL whose source and category still exist in the config."""
    from ..models import ADDED_SOURCE

    if c.category not in ctx.cfg.categories:
        return False
    return c.source == ADDED_SOURCE or any(s.name == c.source for s in ctx.cfg.sources)


def select(ctx: Context, cands: list[Candidate]) -> list[Candidate]:
    """Only URLs not mirrored yet (or updated since we fetched them, or failed but worth a retry)."""
    todo: list[Candidate] = []
    first: dict[str, Candidate] = {}
    for c in cands:
        first.setdefault(c.url, c)  # the first of each URL, in order
    unique = list(first.values())
    for c, verdict, detail in verdicts(ctx, unique):
        if verdict is Verdict.UPDATED:
            # due until it is fetched again: a run that stops first leaves it to the next, which may
            # find the feed unchanged (304) and so not see this item again
            ctx.store.mark_url(c.url, c.source, "pending", article_id=detail)
        elif verdict is Verdict.GIVE_UP:
            give_up(ctx, c, detail)
        if verdict in (Verdict.NEW, Verdict.UPDATED):  # (what the fetch needs of it: not its title nor date of
            todo.append(replace(c, title=None, updated=None) if c.title or c.updated else c)  # change: memory)
    return todo
