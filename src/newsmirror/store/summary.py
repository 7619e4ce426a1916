"""What `newsmirror status` shows of the store, as plain values: each source's articles, failures and last run,
the URLs and images that failed, the warnings and the revisits. The status command reads these, never rows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..models import ADDED_SOURCE

if TYPE_CHECKING:
    from . import Store


@dataclass(frozen=True)
class SourceStatus:
    name: str
    kind: str | None  # as of its last run ("add" for the URLs added by hand); None: never run
    articles: int
    failed: int  # URLs that failed and are tried again
    gave_up: int  # URLs given up on (fetch.max_attempts)
    last_run: str | None
    last_error: str | None


@dataclass(frozen=True)
class UrlProblem:
    """A URL that failed (an article's or an image's), or was mirrored with a warning."""

    url: str
    source: str | None  # (None for an image)
    status: str
    attempts: int
    reason: str | None


@dataclass(frozen=True)
class RevisitCounts:
    revisits: int = 0
    edits: int = 0
    deleted: int = 0  # deletions at the source, confirmed
    pending: int = 0  # deletions still to confirm


@dataclass
class RunSummary:
    sources: list[SourceStatus]
    failures: list[UrlProblem]  # the newest
    failures_total: int
    images_ok: int
    images_failed: int
    image_failures: list[UrlProblem]  # the newest
    warnings: list[UrlProblem]  # the newest
    warnings_total: int
    revisits: dict[str, RevisitCounts] = field(default_factory=dict)  # per source


def _problem(r: sqlite3.Row) -> UrlProblem:
    keys = r.keys()
    return UrlProblem(r["url"], r["source"] if "source" in keys else None,
                      r["status"] if "status" in keys else "failed", r["attempts"], r["reason"])


class Summaries:
    """Store calls for the status command, mixed into Store (whose other look-ups they use)."""

    db: sqlite3.Connection

    def summary(self: Store, names: list[str], failures: int = 50, image_failures: int = 20,
                warnings: int = 20) -> RunSummary:
        """The status of the sources named (the configured ones, in order; the URLs added by hand after them when
        there are any), with the newest `failures`, `image_failures` and `warnings`."""
        ran = self.sources()
        counts = self.url_counts()
        articles = dict(self.db.execute("SELECT source, COUNT(*) FROM articles GROUP BY source").fetchall())
        if ADDED_SOURCE in articles or any(src == ADDED_SOURCE for src, _ in counts):
            names = [*names, ADDED_SOURCE]
        images = self.image_counts()
        return RunSummary(
            sources=[_source_status(name, ran.get(name), counts, articles.get(name, 0)) for name in names],
            failures=[_problem(r) for r in self.failures(limit=failures)],
            failures_total=sum(n for (_, st), n in counts.items() if st in ("failed", "gave_up")),
            images_ok=images.get("ok", 0), images_failed=images.get("failed", 0),
            image_failures=[_problem(r) for r in self.image_failures(limit=image_failures)],
            warnings=[_problem(r) for r in self.warnings(limit=warnings)],
            warnings_total=self.warning_count(),
            revisits={src: RevisitCounts(**c) for src, c in self.revisit_counts().items()},
        )


def _source_status(name: str, ran: sqlite3.Row | None, counts: dict[tuple[str, str], int],
                   articles: int) -> SourceStatus:
    kind = ran["kind"] if ran else ("add" if name == ADDED_SOURCE else None)
    return SourceStatus(name, kind, articles, counts.get((name, "failed"), 0), counts.get((name, "gave_up"), 0),
                        ran["last_run"] if ran else None, ran["last_error"] if ran else None)
