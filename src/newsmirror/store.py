"""The one SQLite store (WAL): what was seen, when, and what became of it.

Tables: sources (last run and error per source), urls (every URL a source
gave, with its status and failure reason), articles (what `build` renders
from, without network), links (which article links where, for the `mirror`
link policy), meta (key/value, e.g. the fingerprint of the last render),
images (mirrored and failed images), remotes (the last push to each remote),
versions (every version of an article a revisit found), revisits (when each
article is next due, and whether the source deleted it), revisit_events (its
history: edited, deleted, back).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .models import ADDED_SOURCE, Article, Candidate, Listed, Revision, StoredArticle

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
CREATE INDEX IF NOT EXISTS articles_hash ON articles(content_hash);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE INDEX IF NOT EXISTS articles_cat ON articles(category, published);
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


LITE_COLUMNS = (
    "id, url, canonical_url, source, category, title, '' AS body_html, published, updated, author, image, caption, "
    "language, content_hash, extracted_by, pick, first_seen, last_seen, fetched_at, warc_record_id, warc_digest"
)


def now() -> datetime:
    """The current time, or SOURCE_DATE_EPOCH when set (reproducible output, as for builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def batched(items: list, n: int) -> Iterator[list]:
    """`items` in lists of at most `n`."""
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class StoreError(Exception):
    pass


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._group: list[int] | None = None  # see grouped()
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.OperationalError as exc:  # a full disk, an I/O error, a lock held too long: not the file
            raise StoreError(f"{path}: cannot use the store now ({exc}); check the disk (space, permissions) and "
                             "run again") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{path}: not a usable newsmirror store ({exc}); move it aside and run again to start a new one"
            ) from None

    def _migrate(self) -> None:
        for table, column, decl in MIGRATIONS:
            have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        if self.get_meta("ids_mended") is None:
            self._mend_ids()
        if self.get_meta("image_order") is None:
            # older versions kept no order; they inserted an article's images in order, so its rows' rowids are it
            with self.tx():
                self.db.execute("UPDATE article_images SET pos=(SELECT COUNT(*) FROM article_images b WHERE "
                                "b.article_id=article_images.article_id AND b.rowid < article_images.rowid) "
                                "WHERE pos IS NULL")
                self.set_meta("image_order", "1")
        if self.get_meta("canonical_http") is None:
            # older versions took a page's canonical link as it was: one that is not http(s) (javascript:…)
            # would be published as the link to the original; the fetched URL stands in for it
            with self.tx():
                self.db.execute("UPDATE OR IGNORE articles SET canonical_url=url, dirty=1 WHERE lower(substr("
                                "canonical_url, 1, 7)) != 'http://' AND lower(substr(canonical_url, 1, 8)) != 'https://'")
                self.set_meta("canonical_http", "1")

    def article_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def adopt_added(self, configured: Container[str]) -> None:
        """Once: articles that older versions filed under "picks" for `newsmirror add` move to ADDED_SOURCE, unless
        the config has a source of that name (then the two cannot be told apart and stay as they are)."""
        if self.get_meta("added_source") is not None:
            return
        with self.tx():
            if "picks" not in configured:
                self.db.execute("UPDATE articles SET source=?, dirty=1 WHERE source='picks'", (ADDED_SOURCE,))
                self.db.execute("UPDATE urls SET source=? WHERE source='picks'", (ADDED_SOURCE,))
            self.set_meta("added_source", "1")

    def _mend_ids(self) -> None:
        """Once: an article id that older versions let through and that cannot name a page everywhere (over-long
        or unsafe, a name Windows reserves, or one that differs from another only in case) is replaced, in every
        table, by the id the current rules give; its page is made again under the new name."""
        from .ids import article_id, is_portable_id

        rows = self.db.execute("SELECT id, canonical_url FROM articles ORDER BY rowid").fetchall()  # oldest first
        seen: set[str] = set()
        with self.tx():
            for r in rows:
                old = r["id"]
                if is_portable_id(old) and old.lower() not in seen:
                    seen.add(old.lower())
                    continue
                new = article_id(r["canonical_url"], lambda i, url=r["canonical_url"]: i.lower() in seen
                                 or self.id_taken(i, url))
                seen.add(new.lower())
                self.db.execute("UPDATE articles SET id=?, dirty=1 WHERE id=?", (new, old))
                for table in ("urls", "links", "article_images"):
                    self.db.execute(f"UPDATE {table} SET article_id=? WHERE article_id=?", (new, old))
            self.set_meta("ids_mended", "1")

    def close(self) -> None:
        self.db.close()

    # -- conditional GET
    def validators(self, url: str) -> tuple[str | None, str | None]:
        r = self.db.execute("SELECT etag, last_modified FROM http_cache WHERE url=?", (url,)).fetchone()
        return (r["etag"], r["last_modified"]) if r else (None, None)

    def set_validators(self, url: str, etag: str | None, last_modified: str | None) -> None:
        if not etag and not last_modified:
            self.db.execute("DELETE FROM http_cache WHERE url=?", (url,))
            return
        self.db.execute(
            "INSERT INTO http_cache(url, etag, last_modified, checked) VALUES(?,?,?,?) ON CONFLICT(url) DO UPDATE "
            "SET etag=excluded.etag, last_modified=excluded.last_modified, checked=excluded.checked",
            (url, etag, last_modified, _ts(now())),
        )

    # -- provenance and render state
    def warc_ref(self, article_id: str) -> tuple[str, int, str, str] | None:
        r = self.db.execute("SELECT warc_file, warc_offset, warc_record_id, warc_digest FROM articles WHERE id=?",
                            (article_id,)).fetchone()
        if not r or not r["warc_file"]:
            return None
        return r["warc_file"], r["warc_offset"], r["warc_record_id"], r["warc_digest"]

    def dirty_ids(self) -> set[str]:
        return {r["id"] for r in self.db.execute("SELECT id FROM articles WHERE dirty=1")}

    def mark_clean(self, ids: set[str] | None = None) -> None:
        """Pages of these articles (all when None) are written and committed."""
        if ids is None:
            self.db.execute("UPDATE articles SET dirty=0 WHERE dirty=1")
        else:
            self.db.executemany("UPDATE articles SET dirty=0 WHERE id=?", [(i,) for i in ids])

    def tree_ids(self, in_tree: bool = True) -> set[str]:
        """The articles whose page the last build left in the tree (or, in_tree=False, left out of it:
        site.retention)."""
        return {r[0] for r in self.db.execute("SELECT id FROM articles WHERE in_tree=?", (int(in_tree),))}

    def set_in_tree(self, ids: Iterable[str], in_tree: bool) -> None:
        self.db.executemany("UPDATE articles SET in_tree=? WHERE id=?", [(int(in_tree), i) for i in ids])

    def mark_dirty(self, ids: set[str]) -> None:
        self.db.executemany("UPDATE articles SET dirty=1 WHERE id=?", [(i,) for i in ids])

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """All of the block's writes or none. Inside `grouped()` the block is a savepoint of the group's
        transaction, and the group commits every so many blocks."""
        if self._group is None:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
            return
        self.db.execute("SAVEPOINT tx")
        self._group[2] += 1
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK TO tx")
            raise
        finally:
            self.db.execute("RELEASE tx")
            self._group[2] -= 1
        self._group[0] += 1
        if self._group[0] >= self._group[1] and self._group[2] == 0:
            self.db.execute("COMMIT")
            self.db.execute("BEGIN IMMEDIATE")
            self._group[0] = 0

    @contextmanager
    def grouped(self, every: int = 100) -> Iterator[None]:
        """Commit the many small transactions of a fetch every `every` of them, not one by one.

        A run killed meanwhile loses only the last group: those URLs are still pending, and the next run
        fetches them again. What is done when the block ends (normally or not) is committed.
        """
        if self._group is not None:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._group = [0, max(1, every), 0]  # blocks since the last commit, commit every, savepoint depth
        try:
            yield
        finally:
            self._group = None
            if self.db.in_transaction:
                self.db.execute("COMMIT")

    # -- meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        (key, value))

    # -- sources
    def source_ran(self, name: str, kind: str, error: str | None) -> None:
        t = _ts(now())
        self.db.execute(
            """INSERT INTO sources(name, kind, last_run, last_ok, last_error) VALUES(?,?,?,?,?)
               ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, last_run=excluded.last_run,
               last_ok=COALESCE(excluded.last_ok, sources.last_ok), last_error=excluded.last_error""",
            (name, kind, t, None if error else t, error),
        )

    def sources(self) -> dict[str, sqlite3.Row]:
        return {r["name"]: r for r in self.db.execute("SELECT * FROM sources")}

    # -- remotes
    def remotes(self) -> dict[str, sqlite3.Row]:
        return {r["name"]: r for r in self.db.execute("SELECT * FROM remotes")}

    def remote_pushed(self, name: str, commit: str) -> None:
        self.db.execute(
            """INSERT INTO remotes(name, pushed_commit, pushed_at) VALUES(?,?,?) ON CONFLICT(name) DO UPDATE SET
               pushed_commit=excluded.pushed_commit, pushed_at=excluded.pushed_at, error=NULL, failed_since=NULL,
               failures=0""", (name, commit, _ts(now())))

    def remote_failed(self, name: str, error: str) -> None:
        t = _ts(now())
        self.db.execute(
            """INSERT INTO remotes(name, error, failed_since, failures) VALUES(?,?,?,1) ON CONFLICT(name) DO UPDATE
               SET error=excluded.error, failed_since=COALESCE(remotes.failed_since, excluded.failed_since),
               failures=remotes.failures + 1""", (name, error, t))

    # -- urls
    def url_row(self, url: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM urls WHERE url=?", (url,)).fetchone()

    def url_rows(self, urls: Iterable[str]) -> dict[str, sqlite3.Row]:
        """The status, attempts and reason of those of `urls` the store has, by URL, in a few statements."""
        return {r[0]: r for r in self._rows_in("SELECT url, status, attempts, reason FROM urls WHERE url IN ({})",
                                               urls)}

    def mark_url(self, url: str, source: str, status: str, *, article_id: str | None = None,
                 reason: str | None = None, failed: bool = False) -> None:
        t = _ts(now())
        self.db.execute(
            """INSERT INTO urls(url, source, status, article_id, reason, attempts, first_seen, last_seen)
               VALUES(?,?,?,?,?,?,?,?)
               ON CONFLICT(url) DO UPDATE SET status=excluded.status, article_id=excluded.article_id,
               reason=excluded.reason, last_seen=excluded.last_seen,
               attempts=CASE WHEN ? THEN urls.attempts + 1 ELSE 0 END""",
            (url, source, status, article_id, reason, 1 if failed else 0, t, t, failed),
        )

    def add_pending(self, cands: Iterable[Candidate]) -> None:
        """Remember discovered URLs before fetching them, so a killed run picks them up again."""
        t = _ts(now())
        self.db.executemany(
            "INSERT OR IGNORE INTO urls(url, source, status, attempts, first_seen, last_seen, category, pick, title, "
            "published) VALUES(?,?,'pending',0,?,?,?,?,?,?)",
            [(c.url, c.source, t, t, c.category, int(c.pick), c.title, _ts(c.published)) for c in cands],
        )

    def unfinished(self, max_attempts: int, skip: Container[str] = ()) -> list[Candidate]:
        """URLs discovered but not mirrored yet: pending ones, and failed ones with attempts left (but not
        those in `skip`, which the caller has in hand already)."""
        rows = self.db.execute(
            "SELECT url, source, category, title, published, pick FROM urls WHERE (status='pending' OR "
            "(status='failed' AND attempts < ?)) AND category IS NOT NULL ORDER BY first_seen", (max_attempts,))
        return [Candidate(url=r["url"], source=r["source"], category=r["category"], title=r["title"],
                          published=_dt(r["published"]), pick=bool(r["pick"])) for r in rows if r["url"] not in skip]

    def failures(self, source: str | None = None, limit: int = 20) -> list[sqlite3.Row]:
        q = "SELECT * FROM urls WHERE status IN ('failed', 'gave_up')"
        args: tuple = ()
        if source:
            q += " AND source=?"
            args = (source,)
        return list(self.db.execute(q + " ORDER BY last_seen DESC LIMIT ?", (*args, limit)))

    def warnings(self, limit: int = 20) -> list[sqlite3.Row]:
        """Mirrored URLs whose extraction noted something (a fallback, a rule that stopped matching), newest first."""
        return list(self.db.execute("SELECT * FROM urls WHERE status='ok' AND reason IS NOT NULL "
                                    "ORDER BY last_seen DESC LIMIT ?", (limit,)))

    def warning_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM urls WHERE status='ok' AND reason IS NOT NULL").fetchone()[0]

    def url_counts(self) -> dict[tuple[str, str], int]:
        rows = self.db.execute("SELECT source, status, COUNT(*) n FROM urls GROUP BY source, status")
        return {(r["source"], r["status"]): r["n"] for r in rows}

    # -- articles
    def _article(self, r: sqlite3.Row) -> StoredArticle:
        return StoredArticle(
            id=r["id"], url=r["url"], canonical_url=r["canonical_url"], source=r["source"], category=r["category"],
            title=r["title"], body_html=r["body_html"], published=_dt(r["published"]), updated=_dt(r["updated"]),
            author=r["author"], image=r["image"], caption=r["caption"], language=r["language"],
            content_hash=r["content_hash"], extracted_by=r["extracted_by"], first_seen=_dt(r["first_seen"]),
            last_seen=_dt(r["last_seen"]), fetched_at=_dt(r["fetched_at"]), pick=bool(r["pick"]),
            warc_record_id=r["warc_record_id"], warc_digest=r["warc_digest"],
        )

    def article(self, article_id: str) -> StoredArticle | None:
        r = self.db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        return self._article(r) if r else None

    def _rows_in(self, query: str, values: Iterable[str]) -> Iterator[sqlite3.Row]:
        """The rows of `query` ("… IN ({})") for all `values`, bound 500 at a time (what one statement may hold)."""
        for chunk in batched(list(values), 500):
            yield from self.db.execute(query.format(",".join("?" * len(chunk))), chunk)

    def articles_by_id(self, ids: list[str]) -> list[StoredArticle]:
        """These articles, in this order (those not in the store left out), in a few statements."""
        found = {r["id"]: self._article(r) for r in self._rows_in("SELECT * FROM articles WHERE id IN ({})", ids)}
        for aid, rev in self.revisions(list(found)).items():  # what their pages say of edits and deletions
            found[aid].revision = rev
        return [found[i] for i in ids if i in found]

    def article_by_url(self, url: str) -> StoredArticle | None:
        """The article at this URL: its canonical URL, the URL it was fetched from, or a URL that led to it."""
        r = self.db.execute(  # three indexed lookups in one statement, in this order of preference
            "SELECT * FROM (SELECT 1 AS pref, * FROM articles WHERE canonical_url=:u "
            "UNION ALL SELECT 2, * FROM articles WHERE url=:u "
            "UNION ALL SELECT 3, a.* FROM urls u JOIN articles a ON a.id=u.article_id WHERE u.url=:u "
            "AND u.status IN ('ok', 'duplicate')) ORDER BY pref LIMIT 1", {"u": url}).fetchone()
        return self._article(r) if r else None

    def articles_at(self, urls: Iterable[str]) -> dict[str, str]:
        """The id of the article each of `urls` leads to (as article_by_url finds it), for those that lead to one,
        in a few statements that read indexes and the articles' ids, not the rest of their rows."""
        urls = list(urls)
        found: dict[str, str] = {}
        for query in (  # the least preferred first: a more preferred match overwrites it
                "SELECT u.url, a.id FROM urls u JOIN articles a ON a.id=u.article_id WHERE u.url IN ({}) "
                "AND u.status IN ('ok', 'duplicate')",
                "SELECT url, id FROM articles WHERE url IN ({})",
                "SELECT canonical_url, id FROM articles WHERE canonical_url IN ({})"):
            found.update((r[0], r[1]) for r in self._rows_in(query, urls))
        return found

    def read_at(self, ids: Iterable[str]) -> dict[str, datetime]:
        """When we last read each of these articles: fetched it, or saw it unchanged."""
        return {r[0]: max(_dt(r[1]), _dt(r[2]))
                for r in self._rows_in("SELECT id, fetched_at, last_seen FROM articles WHERE id IN ({})", ids)}

    def set_simhash(self, article_id: str, fp: int | None) -> None:
        from .dedup import to_signed

        self.db.execute("UPDATE articles SET simhash=? WHERE id=?",
                        (to_signed(fp) if fp is not None else None, article_id))

    def near_twin(self, fp: int, max_distance: int, title: str) -> StoredArticle | None:
        """The stored article of the same title whose fingerprint is nearest `fp`, within `max_distance` bits;
        None if none is."""
        from .dedup import distance, from_signed, same_title

        best: tuple[int, str] | None = None
        for r in self.db.execute("SELECT id, simhash, title FROM articles WHERE simhash IS NOT NULL"):
            d = distance(fp, from_signed(r[1]))
            if d <= max_distance and (best is None or d < best[0]) and same_title(title, r[2]):
                best = (d, r[0])
        return self.article(best[1]) if best is not None else None

    def article_by_hash(self, content_hash: str) -> StoredArticle | None:
        r = self.db.execute("SELECT * FROM articles WHERE content_hash=?", (content_hash,)).fetchone()
        return self._article(r) if r else None

    def id_taken(self, article_id: str, canonical_url: str) -> bool:
        """Whether another article holds this id, or one that differs from it only in case."""
        rows = self.db.execute("SELECT canonical_url FROM articles WHERE id=? COLLATE NOCASE", (article_id,))
        return any(r["canonical_url"] != canonical_url for r in rows)

    def articles(self, category: str | None = None, with_body: bool = True) -> list[StoredArticle]:
        """Articles newest first; `with_body=False` leaves body_html empty (indexes need no bodies)."""
        cols = "*" if with_body else LITE_COLUMNS
        q = f"SELECT {cols} FROM articles" + (" WHERE category=?" if category else "")
        rows = self.db.execute(q, (category,) if category else ())
        return sorted((self._article(r) for r in rows), key=lambda a: (a.sort_date, a.id), reverse=True)

    def listing(self, category: str) -> list[Listed]:
        """The articles of a category as the indexes show them, newest first (only the fields they need)."""
        rows = self.db.execute("SELECT id, title, canonical_url, published, first_seen, fetched_at, pick FROM articles "
                               "WHERE category=?", (category,))
        out = []
        for r in rows:
            published = _dt(r[3])
            out.append(Listed(r[0], category, r[1], r[2], published, published or _dt(r[4]), _dt(r[5]), bool(r[6])))
        out.sort(key=lambda a: (a.sort_date, a.id), reverse=True)
        return out

    def save_article(self, a: Article, content_hash: str, pick: bool,
                     warc: tuple[str, int, str, str] | None = None) -> None:
        """Insert or update an article; `warc`: where its response is archived (file, offset, record id, payload
        digest), kept from before when None."""
        t = _ts(now())
        w = warc or (None, None, None, None)
        self.db.execute(
            """INSERT INTO articles(id, url, canonical_url, source, category, title, body_html, published, updated,
                 author, image, caption, language, content_hash, extracted_by, pick, first_seen, last_seen, fetched_at,
                 warc_file, warc_offset, warc_record_id, warc_digest)
               VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT(id) DO UPDATE SET url=excluded.url, canonical_url=excluded.canonical_url,
                 source=excluded.source, category=excluded.category, title=excluded.title,
                 body_html=excluded.body_html, published=excluded.published, updated=excluded.updated,
                 author=excluded.author, image=excluded.image, caption=excluded.caption, language=excluded.language,
                 content_hash=excluded.content_hash, extracted_by=excluded.extracted_by,
                 pick=MAX(articles.pick, excluded.pick), last_seen=excluded.last_seen,
                 fetched_at=excluded.fetched_at, dirty=1,
                 warc_file=COALESCE(excluded.warc_file, articles.warc_file),
                 warc_offset=COALESCE(excluded.warc_offset, articles.warc_offset),
                 warc_record_id=COALESCE(excluded.warc_record_id, articles.warc_record_id),
                 warc_digest=COALESCE(excluded.warc_digest, articles.warc_digest)""",
            (a.id, a.url, a.canonical_url, a.source, a.category, a.title, a.body_html, _ts(a.published),
             _ts(a.updated), a.author, a.image, a.caption, a.language, content_hash, a.extracted_by, int(pick),
             t, t, t, *w),
        )
        self.db.execute("INSERT INTO meta(key, value) VALUES('articles_version', '1') ON CONFLICT(key) DO UPDATE "
                        "SET value=CAST(value AS INTEGER) + 1")

    def articles_version(self) -> int:
        """A number that changes whenever an article is saved (what the indexes list may then differ)."""
        return int(self.get_meta("articles_version") or 0)

    def touch_article(self, article_id: str) -> None:
        self.db.execute("UPDATE articles SET last_seen=? WHERE id=?", (_ts(now()), article_id))

    def set_links(self, article_id: str, targets: Iterable[str], new: bool = False) -> None:
        """The URLs an article's body links to, replacing those it had (`new`: it had none)."""
        if not new:
            self.db.execute("DELETE FROM links WHERE article_id=?", (article_id,))
        self.db.executemany("INSERT OR IGNORE INTO links(article_id, target) VALUES(?,?)",
                            [(article_id, t) for t in targets])

    # -- images
    def set_article_images(self, article_id: str, urls: Iterable[str], new: bool = False) -> None:
        """The images an article shows, in order (lead image first), replacing those it showed (`new`: it had
        none). Each keeps its place: images.max_per_article mirrors the first N."""
        if not new:
            self.db.execute("DELETE FROM article_images WHERE article_id=?", (article_id,))
        self.db.executemany("INSERT OR IGNORE INTO article_images(article_id, url, pos) VALUES(?,?,?)",
                            [(article_id, u, i) for i, u in enumerate(urls)])

    def forget_images(self, urls: Iterable[str]) -> None:
        """These images are to be fetched again, as if never seen."""
        self.db.executemany("DELETE FROM images WHERE url=?", [(u,) for u in urls])

    def images_due(self, max_attempts: int, per_article: int) -> list[str]:
        """Images among the first `per_article` of some article that are not mirrored yet: new ones, and failed
        ones with tries left. Lead images first, then every article's second, and so on: a run that stops
        early (images.max_bytes_per_run) has given each article its first pictures."""
        return [r[0] for r in self.db.execute(
            "SELECT ai.url FROM article_images ai LEFT JOIN images i ON i.url=ai.url "
            "WHERE ai.pos < ? AND (i.url IS NULL OR (i.status='failed' AND i.attempts < ?)) "
            "GROUP BY ai.url ORDER BY MIN(ai.pos), ai.url", (per_article, max_attempts))]

    def image_done(self, url: str, asset: str, width: int, height: int, size: int) -> None:
        self.db.execute(
            "INSERT INTO images(url, status, asset, reason, attempts, width, height, bytes, last_seen) "
            "VALUES(?,'ok',?,NULL,0,?,?,?,?) ON CONFLICT(url) DO UPDATE SET status='ok', asset=excluded.asset, "
            "reason=NULL, attempts=0, width=excluded.width, height=excluded.height, bytes=excluded.bytes, "
            "last_seen=excluded.last_seen", (url, asset, width, height, size, _ts(now())))

    def image_failed(self, url: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO images(url, status, reason, attempts, last_seen) VALUES(?,'failed',?,1,?) "
            "ON CONFLICT(url) DO UPDATE SET status='failed', reason=excluded.reason, "
            "attempts=images.attempts + 1, last_seen=excluded.last_seen", (url, reason, _ts(now())))

    def image_assets(self) -> dict[str, str]:
        """Every mirrored image: its URL → its path in the tree."""
        return {r[0]: r[1] for r in self.db.execute("SELECT url, asset FROM images WHERE status='ok'")}

    def article_image_pairs(self) -> Iterator[tuple[str, str]]:
        """(article id, image URL) for every image an article shows, one row at a time."""
        for r in self.db.execute("SELECT article_id, url FROM article_images"):
            yield r[0], r[1]

    def shown_assets(self, per_article: int) -> Iterator[tuple[str, str]]:
        """(article id, path of our copy) for every mirrored image among the first `per_article` of an article,
        one row at a time."""
        for r in self.db.execute("SELECT ai.article_id, i.asset FROM article_images ai JOIN images i ON i.url=ai.url "
                                 "WHERE i.status='ok' AND ai.pos < ?", (per_article,)):
            yield r[0], r[1]

    def page_images(self, ids: list[str], per_article: int) -> dict[str, dict[str, str]]:
        """For each of these articles: its mirrored images among its first `per_article`, URL → path of our copy."""
        out: dict[str, dict[str, str]] = {i: {} for i in ids}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for r in self.db.execute(
                    "SELECT ai.article_id, ai.url, i.asset FROM article_images ai JOIN images i ON i.url=ai.url "
                    f"WHERE i.status='ok' AND ai.pos < ? AND ai.article_id IN ({','.join('?' * len(part))})",
                    [per_article, *part]):
                out[r[0]][r[1]] = r[2]
        return out

    def page_links(self, ids: list[str]) -> dict[str, dict[str, tuple[str, str]]]:
        """For each of these articles: the URLs its body links to that lead to an article we hold → (id,
        category) of that article; as url_index() would say, without holding every URL in memory."""
        out: dict[str, dict[str, tuple[str, str]]] = {i: {} for i in ids}
        held: dict[str, tuple[str, str] | None] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for aid, target in self.db.execute(
                    f"SELECT article_id, target FROM links WHERE article_id IN ({','.join('?' * len(part))})", part):
                if target not in held:
                    held[target] = self._holder(target)
                if held[target] is not None:
                    out[aid][target] = held[target]  # type: ignore[assignment]
        return out

    def _holder(self, url: str) -> tuple[str, str] | None:
        # an article's own or canonical URL (the last saved wins, as in url_index), else a URL that led to one
        r = self.db.execute("SELECT id, category FROM articles WHERE canonical_url=:u OR url=:u ORDER BY rowid DESC "
                            "LIMIT 1", {"u": url}).fetchone()
        if r is None:
            r = self.db.execute("SELECT a.id, a.category FROM urls u JOIN articles a ON a.id=u.article_id "
                                "WHERE u.url=? AND u.status IN ('ok', 'duplicate')", (url,)).fetchone()
        return (r[0], r[1]) if r else None

    def articles_showing(self, urls: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for u in urls:
            out.update(r[0] for r in self.db.execute("SELECT article_id FROM article_images WHERE url=?", (u,)))
        return out

    def image_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.db.execute("SELECT status, COUNT(*) FROM images GROUP BY status")}

    def image_failures(self, limit: int = 20) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT url, reason, attempts FROM images WHERE status='failed' "
                                    "ORDER BY last_seen DESC LIMIT ?", (limit,)))

    def linking_to(self, targets: Iterable[str]) -> set[str]:
        """The articles whose bodies link to any of these URLs."""
        return {r[0] for r in self._rows_in("SELECT DISTINCT article_id FROM links WHERE target IN ({})", targets)}

    def urls_of(self, ids: Iterable[str]) -> set[str]:
        """The URLs that lead to these articles: fetched, canonical, and those found to be duplicates."""
        ids = list(ids)
        out: set[str] = set()
        for r in self._rows_in("SELECT url, canonical_url FROM articles WHERE id IN ({})", ids):
            out.update((r[0], r[1]))
        out.update(r[0] for r in self._rows_in(
            "SELECT url FROM urls WHERE status IN ('ok', 'duplicate') AND article_id IN ({})", ids))
        return out

    def url_index(self) -> dict[str, tuple[str, str]]:
        """Every URL we hold an article for (own, canonical, and duplicates) → (id, category)."""
        out: dict[str, tuple[str, str]] = {}
        for r in self.db.execute("SELECT id, url, canonical_url, category FROM articles"):
            out[r["url"]] = out[r["canonical_url"]] = (r["id"], r["category"])
        for r in self.db.execute(
            "SELECT u.url, a.id, a.category FROM urls u JOIN articles a ON a.id=u.article_id WHERE u.status IN "
            "('ok', 'duplicate')"
        ):
            out.setdefault(r["url"], (r["id"], r["category"]))
        return out

    # -- revisits: versions, the schedule, deletions at the source
    def revisits_due(self, at: datetime, first_hours: float, limit: int) -> list[sqlite3.Row]:
        """Up to `limit` articles due for a revisit at `at`: those whose deletion waits for its confirming check
        first, then the longest overdue. One never revisited is due `first_hours` after it was first seen."""
        first_cut = _ts(at - timedelta(hours=first_hours))
        return list(self.db.execute(
            "SELECT a.id, a.url, a.source, a.category, a.first_seen, a.content_hash, r.suspect_since, "
            "r.suspect_reason, r.deleted_at, COALESCE(r.next_due, a.first_seen) AS due FROM articles a "
            "LEFT JOIN revisits r ON r.article_id=a.id WHERE (r.article_id IS NULL AND a.first_seen <= ?) "
            "OR r.next_due <= ? ORDER BY r.suspect_since IS NULL, due, a.id LIMIT ?", (first_cut, _ts(at), limit)))

    def revisit_next(self, article_id: str) -> str | None:
        r = self.db.execute("SELECT next_due FROM revisits WHERE article_id=?", (article_id,)).fetchone()
        return r[0] if r else None

    _REVISIT_COLUMNS = frozenset({"step", "next_due", "last_checked", "suspect_since", "suspect_reason", "deleted_at",
                                  "deleted_reason", "last_good"})

    def set_revisit(self, article_id: str, count: bool = True, **cols: object) -> None:
        """Record a revisit of an article (`count`: one more check) and set these columns of its row."""
        assert set(cols) <= self._REVISIT_COLUMNS, cols
        self.db.execute("INSERT OR IGNORE INTO revisits(article_id) VALUES(?)", (article_id,))
        sets = [f"{k}=?" for k in cols] + (["checks=checks + 1"] if count else [])
        values = [_ts(v) if isinstance(v, datetime) else v for v in cols.values()]
        if sets:
            self.db.execute(f"UPDATE revisits SET {', '.join(sets)} WHERE article_id=?", (*values, article_id))

    def revisit_event(self, article_id: str, at: datetime, kind: str, detail: str | None = None) -> None:
        """One line of an article's history (edited, deleted, back); the pages that show it are due."""
        self.db.execute("INSERT INTO revisit_events(article_id, at, kind, detail) VALUES(?,?,?,?)",
                        (article_id, _ts(at), kind, detail))
        self.db.execute("UPDATE articles SET dirty=1 WHERE id=?", (article_id,))
        self.db.execute("INSERT INTO meta(key, value) VALUES('revisions_version', '1') ON CONFLICT(key) DO UPDATE "
                        "SET value=CAST(value AS INTEGER) + 1")

    def revisions_version(self) -> int:
        """A number that changes whenever an edit, a deletion or a return is recorded (the indexes may differ)."""
        return int(self.get_meta("revisions_version") or 0)

    def versions(self, article_id: str) -> list[sqlite3.Row]:
        """Every version of an article, oldest first (none when no revisit found an edit)."""
        return list(self.db.execute("SELECT * FROM versions WHERE article_id=? ORDER BY n", (article_id,)))

    def add_version(self, article_id: str, title: str, body_html: str, content_hash: str, seen: datetime,
                    warc: tuple[str, int, str, str] | None) -> int:
        """Keep one more version of an article; its number."""
        n = self.db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM versions WHERE article_id=?",
                            (article_id,)).fetchone()[0]
        self.db.execute("INSERT INTO versions(article_id, n, title, body_html, content_hash, seen, warc_file, "
                        "warc_offset, warc_record_id, warc_digest) VALUES(?,?,?,?,?,?,?,?,?,?)",
                        (article_id, n, title, body_html, content_hash, _ts(seen), *(warc or (None,) * 4)))
        return n

    def show_version(self, article_id: str, n: int) -> None:
        """Make version `n` what the article's page and the indexes show (revisit.show), with its WARC record (the
        page's provenance)."""
        self.db.execute("UPDATE articles SET title=v.title, body_html=v.body_html, content_hash=v.content_hash, "
                        "warc_file=COALESCE(v.warc_file, articles.warc_file), "
                        "warc_offset=COALESCE(v.warc_offset, articles.warc_offset), "
                        "warc_record_id=COALESCE(v.warc_record_id, articles.warc_record_id), "
                        "warc_digest=COALESCE(v.warc_digest, articles.warc_digest), dirty=1 "
                        "FROM (SELECT * FROM versions WHERE article_id=? AND n=?) v WHERE id=?",
                        (article_id, n, article_id))
        self.db.execute("INSERT INTO meta(key, value) VALUES('articles_version', '1') ON CONFLICT(key) DO UPDATE "
                        "SET value=CAST(value AS INTEGER) + 1")

    def edited_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT article_id FROM versions WHERE n > 1")]

    def revisions(self, ids: list[str]) -> dict[str, Revision]:
        """What revisits found of these articles, for those where they found something (an edit, a deletion)."""
        out: dict[str, Revision] = {}
        for r in self._rows_in("SELECT article_id, COUNT(*), MAX(seen) FROM versions WHERE article_id IN ({}) "
                               "GROUP BY article_id HAVING COUNT(*) > 1", ids):
            out[r[0]] = Revision(versions=r[1], edited_at=_dt(r[2]))
        for r in self._rows_in("SELECT article_id, deleted_at, deleted_reason, last_good FROM revisits WHERE "
                               "article_id IN ({}) AND deleted_at IS NOT NULL", ids):
            rev = out.setdefault(r[0], Revision())
            rev.deleted_at, rev.deleted_reason, rev.last_good = _dt(r[1]), r[2], _dt(r[3])
        for r in self._rows_in("SELECT article_id, at, kind, detail FROM revisit_events WHERE article_id IN ({}) "
                               "ORDER BY at, rowid", ids):
            out.setdefault(r[0], Revision()).history.append((_dt(r[1]), r[2], r[3] or ""))
        return out

    def returned_ids(self) -> set[str]:
        """The articles that came back after their source deleted them."""
        return {r[0] for r in self.db.execute("SELECT DISTINCT article_id FROM revisit_events WHERE kind='back'")}

    def deleted_ids(self) -> set[str]:
        """The articles their source deleted (confirmed): kept whatever site.retention says."""
        return {r[0] for r in self.db.execute("SELECT article_id FROM revisits WHERE deleted_at IS NOT NULL")}

    def revisit_counts(self) -> dict[str, dict[str, int]]:
        """Per source: revisits made, edits found, deletions confirmed and pending."""
        out: dict[str, dict[str, int]] = {}

        def row(src: str) -> dict[str, int]:
            return out.setdefault(src, {"revisits": 0, "edits": 0, "deleted": 0, "pending": 0})

        for r in self.db.execute(
                "SELECT a.source, SUM(r.checks), SUM(r.deleted_at IS NOT NULL), "
                "SUM(r.suspect_since IS NOT NULL AND r.deleted_at IS NULL) FROM revisits r "
                "JOIN articles a ON a.id=r.article_id GROUP BY a.source"):
            row(r[0]).update(revisits=r[1] or 0, deleted=r[2] or 0, pending=r[3] or 0)
        for r in self.db.execute("SELECT a.source, COUNT(*) FROM versions v JOIN articles a ON a.id=v.article_id "
                                 "WHERE v.n > 1 GROUP BY a.source"):
            row(r[0])["edits"] = r[1]
        return out
