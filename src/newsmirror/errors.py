"""The run's vocabulary for "set this one aside": one base class, one line of why, and the run goes on.

A phase raises one of these for the item at hand (a page, a source); the orchestrator records it (log, store,
report) and moves to the next item, as Scrapy's pipelines do with DropItem."""

from __future__ import annotations


class SetAside(Exception):
    """One item the run could not use, and why (`reason`: one line, for the log, `status` and the summary)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class PageRejected(SetAside):
    """A fetched page that yields no article (not HTML, nothing extracted, a crash while analysing it, a page
    of another site claiming an article's URL). It counts a failed attempt: it is tried again next run."""


class DuplicateOf(SetAside):
    """A page whose words are those of an article we have already: recorded as a duplicate of it."""

    def __init__(self, article_id: str, canonical_url: str, how: str = "same") -> None:
        super().__init__(f"{how} content as {canonical_url}")
        self.args = (article_id, canonical_url, how)
        self.article_id = article_id
        self.how = how  # "same", or "nearly the same" (a few characters changed: dedup.fingerprint)


class SourceFailed(SetAside):
    """A source that listed nothing this time (unreachable, unreadable, or reading it crashed)."""


class ClusterLost(Exception):
    """The Dask cluster a run sends its work to is gone (the scheduler died or cannot be reached any more), or a
    task killed every worker it was given to. Not one item's failure: the run ends with this one line and exit 1,
    keeping what it stored; the next run finishes the work. `page_at_fault`: the task itself killed its workers
    (Dask's KilledWorker), so its pages count a failed attempt, as with a worker process that dies here."""

    def __init__(self, reason: str, page_at_fault: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.page_at_fault = page_at_fault

    def __str__(self) -> str:
        return self.reason
