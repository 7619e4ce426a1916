"""Plain typed objects that one stage hands to the next.

sources → Candidate, fetch → Response, extract → Article, render/publish read
StoredArticle rows back from the store.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

# The source that `newsmirror add` files its articles under: not a valid source name in a config (see
# config_check.key_name), so it can never be mixed up with a configured source. Pages show the site's picks label.
ADDED_SOURCE = "(add)"


class Shipped:
    """A dataclass that travels to and from worker processes: pickled as its class and its fields' values in order,
    rebuilt by its constructor. (Pickle's own way with an instance looks up __getnewargs_ex__, __getnewargs__ and
    __setstate__ on it, each an AttributeError raised and dropped: a dozen for each page a run mirrors.)"""

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple]:
        return type(self), _values_of(type(self))(self)


@functools.cache
def _values_of(cls: type) -> Callable[[Any], tuple]:
    """The values of the fields of a `cls` instance, in order, as a tuple."""
    get = operator.attrgetter(*(f.name for f in dataclasses.fields(cls)))
    return get if len(dataclasses.fields(cls)) > 1 else lambda obj: (get(obj),)


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
class Response(Shipped):
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
    # the header lines as received, not decoded yet (a page fetched for a worker, which decodes them: raw_headers
    # is then empty until fetch.decode_response)
    raw_header_bytes: tuple[tuple[bytes, bytes], ...] = ()

    def header_lines(self) -> list[tuple[str, str]]:
        """raw_headers, or raw_header_bytes decoded (latin-1: each byte a character, as received)."""
        if self.raw_headers or not self.raw_header_bytes:
            return self.raw_headers
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_header_bytes]


@dataclass
class Article(Shipped):
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
    section: str | None = None  # the page's section as the source names it (article:section, articleSection)
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
    section: str | None = None
    revision: Revision | None = None  # None: no edit nor deletion found (or not revisited yet)

    @property
    def sort_date(self) -> datetime:
        return self.published or self.first_seen


@dataclass(frozen=True)
class WarcRef(Shipped):
    """Where a response is archived: the WARC file (name within the WARC folder), the record's offset, its id
    and payload digest."""

    file: str
    offset: int
    record_id: str
    payload_digest: str


@dataclass(frozen=True, slots=True)
class RemoteState:
    """What the store knows of a remote: what its branch holds as of the last good push, and the failures since."""

    name: str
    pushed_commit: str | None
    pushed_at: str | None
    error: str | None  # why the last push failed (credentials blanked); None after a good one
    failed_since: str | None
    failures: int


@dataclass(frozen=True, slots=True)
class UrlState:
    """What became of a URL so far: its status (pending, ok, duplicate, failed, gave_up), failed attempts, why."""

    status: str
    attempts: int
    reason: str | None


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """Which article, and in which category its page is: what a link to our copy needs."""

    id: str
    category: str


@dataclass
class RunState:
    """What the last runs and builds left for the next (only the store reads and writes it)."""

    uncommitted: bool = False  # the tree changed since the last commit: the next run commits it
    committed_once: bool = False  # a commit was made (git needs asking once, for a tree of an older version)
    images_download: bool | None = None  # images.download at the last build (None: never built)
    images_cap: int | None = None  # images.max_per_article when the tree's images were last checked
    render_fingerprint: str | None = None  # config and templates of the last full build
    qr_base_url: str | None = None  # site.base_url the QR codes encode
    index_key: str = ""  # config, articles version and counts when the indexes were last made
    index_digest: str = ""  # the kept articles' listing fields when the indexes were last made
    index_files: list[str] = field(default_factory=list)  # the index files the last build wrote
    manifest_serial: int = 0  # the signed manifest's serial: it keeps growing
    manifest_last: str = ""  # the last signed manifest's content digest, serial and time (manifest_record)

    KEYS: ClassVar[tuple[str, ...]] = ("uncommitted", "committed_once", "images_download", "images_cap",
                                       "render_fingerprint", "qr_base_url", "index_key", "index_digest",
                                       "index_files", "manifest_serial", "manifest_last")

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> RunState:
        def flag(key: str) -> bool | None:
            return None if key not in meta else meta[key] == "1"

        return cls(uncommitted=meta.get("uncommitted") == "1", committed_once=meta.get("committed_once") == "1",
                   images_download=flag("images_download"),
                   images_cap=int(meta["images_cap"]) if meta.get("images_cap") else None,
                   render_fingerprint=meta.get("render_fingerprint"), qr_base_url=meta.get("qr_base_url"),
                   index_key=meta.get("index_key", ""), index_digest=meta.get("index_digest", ""),
                   index_files=json.loads(meta.get("index_files") or "[]"),
                   manifest_serial=int(meta.get("manifest_serial") or 0),
                   manifest_last=meta.get("manifest_last", ""))

    @classmethod
    def to_meta(cls, changes: dict[str, object]) -> dict[str, str]:
        out = {}
        for key, value in changes.items():
            if key not in cls.KEYS:
                raise KeyError(f"RunState has no field {key}")
            if isinstance(value, bool):
                out[key] = "1" if value else "0"
            elif isinstance(value, list):
                out[key] = json.dumps(value)
            else:
                out[key] = "" if value is None else str(value)
        return out


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
