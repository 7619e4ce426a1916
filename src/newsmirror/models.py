"""Plain typed objects that one stage hands to the next.

sources → Candidate, fetch → Response, extract → Article, render/publish read
StoredArticle rows back from the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# The source that `newsmirror add` files its articles under: not a valid source name in a config (see
# config._key_name), so it can never be mixed up with a configured source. Pages show the site's picks label.
ADDED_SOURCE = "(add)"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A URL a source says is an article, with what the source knows about it."""

    url: str
    source: str
    category: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    pick: bool = False


@dataclass
class Response:
    """The bytes and headers of one fetched URL, decoded to text."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes  # after content decoding (gzip, deflate)
    text: str
    encoding: str
    # as received, for the WARC record
    raw_body: bytes = b""
    raw_headers: list[tuple[str, str]] = field(default_factory=list)
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    http_version: str = "1.1"
    reason: str = ""
    ip: str = ""  # the address the response came from (WARC-IP-Address), "" when unknown (through a proxy)
    date: str = ""  # when it was received, as WARC-Date (ISO 8601, microseconds): its request's too
    hops: list[Response] = field(default_factory=list)  # the redirects that led here, in order, as received


@dataclass
class Article:
    """What extraction makes of one page."""

    url: str
    canonical_url: str
    title: str
    body_html: str
    id: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    image: str | None = None
    caption: str | None = None
    language: str | None = None
    category: str = ""
    source: str = ""
    extracted_by: str = "generic"  # "rules", "generic", or "generic (rules failed: …)"
    is_article: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Revision:
    """What revisits found of an article: its versions, and whether the source deleted it (for its page)."""

    versions: int = 1  # versions the store holds (1: never edited at the source)
    edited_at: datetime | None = None  # when the last edit was seen
    deleted_at: datetime | None = None  # deleted at the source (confirmed) since then
    deleted_reason: str | None = None
    last_good: datetime | None = None  # when the source last served the article
    history: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, edited|deleted|back, detail)


@dataclass(slots=True)
class StoredArticle:
    """An article as the store keeps it: everything `build` needs without network."""

    id: str
    url: str
    canonical_url: str
    source: str
    category: str
    title: str
    body_html: str
    published: datetime | None
    updated: datetime | None
    author: str | None
    image: str | None
    caption: str | None
    language: str | None
    content_hash: str
    extracted_by: str
    first_seen: datetime
    last_seen: datetime
    fetched_at: datetime
    pick: bool = False
    warc_record_id: str | None = None
    warc_digest: str | None = None
    revision: Revision | None = None  # None: no edit nor deletion found (or not revisited yet)

    @property
    def sort_date(self) -> datetime:
        return self.published or self.first_seen


@dataclass(slots=True)
class Listed:
    """What the indexes show of an article kept in the tree (the build holds one per article: kept small)."""

    id: str
    category: str
    title: str
    canonical_url: str
    published: datetime | None
    sort_date: datetime  # published, else first seen
    fetched_at: datetime
    pick: bool = False


@dataclass
class RunReport:
    """What one `run` did, for the log, the commit message and the exit code."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    duplicates: int = 0
    source_errors: int = 0
    deferred: int = 0  # left for the next run (fetch.max_run_seconds)
    images: int = 0  # images mirrored in this run
    images_failed: int = 0  # images that could not be (shown as their alt text; tried again next run)
    images_deferred: int = 0  # images not started by fetch.max_run_seconds or images.max_bytes_per_run: next run
    revisited: int = 0  # mirrored articles fetched again ([revisit])
    edits: int = 0  # of them, found edited at the source (a new version kept)
    deletions: int = 0  # deletions at the source confirmed in this run
    deletions_pending: int = 0  # deletion evidence seen in this run, to be confirmed by a later check
    restored: int = 0  # articles marked deleted that the source serves again
    committed: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)  # remotes that now hold this run's commit
    push_failures: list[tuple[str, str]] = field(default_factory=list)  # (remote, why; credentials blanked)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.source_errors == 0 and not self.push_failures
