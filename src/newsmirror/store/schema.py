"""The store's tables, the columns added since the first release, and how values are kept (ISO 8601 text)."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

from ..models import Article, StoredArticle

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    last_run TEXT,
    last_ok TEXT,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    status TEXT NOT NULL,            -- ok | failed | duplicate | gave_up
    article_id TEXT,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS urls_source ON urls(source, status);
CREATE INDEX IF NOT EXISTS urls_article ON urls(article_id);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    canonical_url TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    body_html TEXT NOT NULL,
    published TEXT,
    updated TEXT,
    author TEXT,
    image TEXT,
    caption TEXT,
    language TEXT,
    content_hash TEXT NOT NULL,
    extracted_by TEXT NOT NULL,
    pick INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_id_nocase ON articles(id COLLATE NOCASE);  -- ids that differ only in case
CREATE TABLE IF NOT EXISTS links (
    article_id TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (article_id, target)
);
CREATE INDEX IF NOT EXISTS links_target ON links(target);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    url TEXT PRIMARY KEY,
    status TEXT NOT NULL,            -- ok | failed
    asset TEXT,                      -- its path in the tree (assets/ab/….jpg)
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    width INTEGER,
    height INTEGER,
    bytes INTEGER,
    last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS article_images (
    article_id TEXT NOT NULL,
    url TEXT NOT NULL,
    PRIMARY KEY (article_id, url)
);
CREATE INDEX IF NOT EXISTS article_images_url ON article_images(url);
CREATE TABLE IF NOT EXISTS remotes (
    name TEXT PRIMARY KEY,
    pushed_commit TEXT,              -- what its branch holds, as far as the last good push knows
    pushed_at TEXT,
    error TEXT,                      -- why the last push failed (credentials blanked); NULL after a good one
    failed_since TEXT,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS http_cache (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    checked TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    article_id TEXT NOT NULL,
    n INTEGER NOT NULL,              -- 1 the first version mirrored, then each edit a revisit found
    title TEXT NOT NULL,
    body_html TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    seen TEXT NOT NULL,              -- when this version was first seen
    warc_file TEXT,
    warc_offset INTEGER,
    warc_record_id TEXT,
    warc_digest TEXT,
    PRIMARY KEY (article_id, n)
);
CREATE TABLE IF NOT EXISTS revisits (
    article_id TEXT PRIMARY KEY,
    step INTEGER NOT NULL DEFAULT 0,  -- revisit.schedule entries done
    next_due TEXT,                    -- NULL: never again
    checks INTEGER NOT NULL DEFAULT 0,
    last_checked TEXT,
    suspect_since TEXT,               -- deletion evidence seen, not confirmed yet
    suspect_reason TEXT,
    deleted_at TEXT,                  -- confirmed: deleted at the source since then
    deleted_reason TEXT,
    last_good TEXT                    -- when the source last served the article
);
CREATE INDEX IF NOT EXISTS revisits_due ON revisits(next_due);
CREATE TABLE IF NOT EXISTS revisit_events (
    article_id TEXT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,               -- edited | deleted | back
    detail TEXT
);
CREATE INDEX IF NOT EXISTS revisit_events_article ON revisit_events(article_id);
CREATE TABLE IF NOT EXISTS fingerprints (  -- the log the near-copy look-up reads (store.bands), appended by triggers
    n INTEGER PRIMARY KEY,
    article INTEGER NOT NULL,         -- the article's rowid
    simhash INTEGER NOT NULL          -- its fingerprint from then on
);
"""

# columns added after the first release: (table, column, SQL type and default)
MIGRATIONS = [
    ("articles", "warc_file", "TEXT"),
    ("articles", "warc_offset", "INTEGER"),
    ("articles", "warc_record_id", "TEXT"),
    ("articles", "warc_digest", "TEXT"),
    ("articles", "dirty", "INTEGER NOT NULL DEFAULT 1"),
    ("articles", "in_tree", "INTEGER NOT NULL DEFAULT 1"),  # its page was in the tree at the last build
    ("urls", "category", "TEXT"),
    ("urls", "pick", "INTEGER NOT NULL DEFAULT 0"),
    ("urls", "title", "TEXT"),
    ("urls", "published", "TEXT"),
    ("article_images", "pos", "INTEGER"),  # the image's place in its article: 0 the lead image, then body order
    ("articles", "simhash", "INTEGER"),  # dedup.fingerprint of its text (signed 64-bit), NULL when too short
]

# the content hash's key in its index (articles_hash): its first 8 characters (32 bits of a SHA-256), a fifth of the
# index the whole 64 would make; the few articles that share a key are told apart by the hash itself
HASH_KEY = "substr(content_hash, 1, 8)"

# the articles whose URL is not their canonical URL (articles_url, a partial index: a query by url names this too)
OWN_URL = "url != canonical_url"


# The articles table holds every field of Article as extraction made it, but these: a field added to Article
# and StoredArticle is stored with no change here (its column is added to older stores, NULL for their articles)
NOT_STORED = frozenset({"is_article", "notes"})
ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article) if f.name not in NOT_STORED)
_KEPT_BESIDE = frozenset({"content_hash", "pick", "first_seen", "last_seen", "fetched_at", "warc_record_id",
                          "warc_digest"})  # the store's own columns that StoredArticle reads back
STORED_FIELDS = tuple(f.name for f in dataclasses.fields(StoredArticle)
                      if f.name in ARTICLE_FIELDS or f.name in _KEPT_BESIDE)  # (not `revision`: from other tables)
DATE_FIELDS = frozenset(f.name for f in dataclasses.fields(StoredArticle) if "datetime" in str(f.type))
LITE_COLUMNS = ", ".join("'' AS body_html" if f == "body_html" else f for f in STORED_FIELDS)


# An article's body (articles.body_html) is kept as zlib-compressed UTF-8 (a blob): pack_body() makes it, in the worker
# that analysed the page (Analysis.packed), and the store writes it as it comes. A body of Chinese news is half its size
# so (the store's file too), and storing it writes half the pages: 6 fewer system calls an article, a fifth less of
# the run's CPU in the store (benchmarks/store.py). Rows that older versions wrote hold the text itself, as do the
# versions table's (an edit a revisit found: few); unpack_body() reads either.
BODY_LEVEL = 6  # zlib's default: level 1 makes 4% more bytes and saves under a hundredth of the worker's time a page


def pack_body(html: str) -> bytes:
    """An article's body as the store keeps it. Raises UnicodeEncodeError for one that is not text (a lone
    surrogate)."""
    return zlib.compress(html.encode("utf-8"), BODY_LEVEL)


def unpack_body(value: str | bytes | None) -> str:
    """An article's body as the store gave it (pack_body's blob, or text) as text."""
    if value is None or isinstance(value, str):
        return value or ""
    return zlib.decompress(value).decode("utf-8")


def add_columns_and_indexes(db: sqlite3.Connection) -> None:
    """What an older store lacks: the columns added since (MIGRATIONS, and a field added to Article), and the indexes
    made or changed since (each once: those it replaces go)."""
    added = [("articles", name, "TEXT") for name in ARTICLE_FIELDS]  # (those not there yet)
    for table, column, decl in [*MIGRATIONS, *added]:
        have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    # exact copies' look-up: by the content hash's first characters (HASH_KEY), a fifth of an index of the whole
    # hash; made once for an older store, whose index of the whole hash goes
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='articles_hash' AND sql NOT LIKE '%substr%'").fetchone():
        db.execute("DROP INDEX articles_hash")
    db.execute(f"CREATE INDEX IF NOT EXISTS articles_hash ON articles({HASH_KEY})")
    # the URL an article was fetched from, where it is not its canonical URL (which has an index of its own,
    # canonical_url UNIQUE): most articles' two are the same, and their page of a second index of random URLs was
    # written again by every commit; made once for an older store, whose index of every article's URL goes
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='articles_url' AND sql NOT LIKE '%WHERE%'").fetchone():
        db.execute("DROP INDEX articles_url")
    db.execute(f"CREATE INDEX IF NOT EXISTS articles_url ON articles(url) WHERE {OWN_URL}")
    # a category's articles (its indexes, its feed): by category alone, the newest row last, where a commit writes
    # one page a category; not by its publication dates, which came in any order and were never read from it (the
    # listing sorts what it reads); made once for an older store, whose index of both goes
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='articles_cat' AND sql LIKE '%published%'").fetchone():
        db.execute("DROP INDEX articles_cat")
    db.execute("CREATE INDEX IF NOT EXISTS articles_cat ON articles(category)")
    # the pages due: a partial index, so that a no-op run finds none without reading every article
    db.execute("CREATE INDEX IF NOT EXISTS articles_dirty ON articles(dirty) WHERE dirty=1")
    for k in range(4):  # the indexes older versions looked near copies up by (made again by one that opened it since)
        db.execute(f"DROP INDEX IF EXISTS articles_simhash{k}")
        db.execute(f"DROP INDEX IF EXISTS articles_band{k}")


FINGERPRINT_LOG = "SELECT 1 FROM sqlite_master WHERE type='trigger' AND name='articles_fingerprint_new'"


def log_fingerprints(db: sqlite3.Connection) -> None:
    """near_twin's look-up reads a log of the fingerprints each article was saved with (store.bands), which triggers
    append to whatever saves it: made once, in a transaction of the caller's, an older store's articles' fingerprints
    first (a process that opened the store meanwhile has waited for the transaction, and finds it made)."""
    if db.execute(FINGERPRINT_LOG).fetchone():
        return
    db.execute("DELETE FROM fingerprints")
    db.execute("INSERT INTO fingerprints(article, simhash) SELECT rowid, simhash FROM articles WHERE simhash IS NOT "
               "NULL ORDER BY rowid")
    for name, when in (("new", "AFTER INSERT ON articles WHEN new.simhash IS NOT NULL"),
                       ("changed", "AFTER UPDATE OF simhash ON articles WHEN new.simhash IS NOT NULL AND "
                                   "new.simhash IS NOT old.simhash")):
        db.execute(f"CREATE TRIGGER articles_fingerprint_{name} {when} BEGIN INSERT INTO fingerprints(article, "
                   "simhash) VALUES (new.rowid, new.simhash); END")


def now() -> datetime:
    """The current time, or SOURCE_DATE_EPOCH when set (reproducible output, as for builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


_STAMP: list = [None, ""]  # (what the last stamp was made for, that stamp)


def stamp() -> str:
    """ts(now()), made once a second (the store writes it into every row it saves)."""
    key = (os.environ.get("SOURCE_DATE_EPOCH"), int(time.time()))
    if _STAMP[0] != key:
        _STAMP[:] = [key, ts(now())]
    return _STAMP[1]


def batched(items: list, n: int) -> Iterator[list]:
    """`items` in lists of at most `n`."""
    for i in range(0, len(items), n):
        yield items[i : i + n]


def ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
