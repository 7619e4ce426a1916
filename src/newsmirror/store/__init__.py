"""The one SQLite store (WAL): what was seen, when, and what became of it.

Tables: sources (last run and error per source), urls (every URL a source
gave, with its status and failure reason), articles (what `build` renders
from, without network), links (which article links where, for the `mirror`
link policy), meta (key/value, e.g. the fingerprint of the last render),
images (mirrored and failed images), remotes (the last push to each remote),
versions (every version of an article a revisit found), revisits (when each
article is next due, and whether the source deleted it), revisit_events (its
history: edited, deleted, back), fingerprints (a log of the fingerprint each article was saved with, which the
near-copy look-up reads into memory: store.bands). The schema is in store.schema; the calls of
the urls, http_cache, sources and remotes tables in store.urls, of the images
and links tables in store.media, of the revisit tables in store.revisits.
"""

from __future__ import annotations

import operator
import sqlite3
import time
import zlib
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..dedup import MAX_DISTANCE, distance, from_signed, same_title, to_signed
from ..models import ADDED_SOURCE, Article, Listed, RunState, StoredArticle, WarcRef
from .batch import Known, KnownStore
from .media import ImagesAndLinks
from .revisits import Revisits
from .schema import (
    ARTICLE_FIELDS,
    DATE_FIELDS,
    FINGERPRINT_LOG,
    HASH_KEY,
    LITE_COLUMNS,
    OWN_URL,
    SCHEMA,
    STORED_FIELDS,
    add_columns_and_indexes,
    batched,
    dt,
    log_fingerprints,
    now,
    pack_body,
    ts,
    unpack_body,
)
from .summary import RevisitCounts, RunSummary, SourceStatus, Summaries, UrlProblem
from .urls import UrlsAndSources

GROUP_SECONDS = 5.0  # grouped(): the longest a group's work waits for its commit

# Python's sqlite3 binds a parameter that is not an int, float, str or bytearray only after looking for an adapter:
# in its registry, then as attributes of its protocol and of the value (__adapt__, __conform__), each an
# AttributeError raised and dropped. None and bytes, a few of each in every row a run writes, are found in the
# registry first, as themselves (binding them is unchanged: NULL and a blob).
for _kind in (type(None), bytes):
    sqlite3.register_adapter(_kind, lambda value: value)
WAL_PAGES = 10_000  # 40 MB of the WAL (4 KB pages) between two checkpoints
# SQLite's page cache (its default: 2 MB): a group's commit of 1,000 articles changed a page of each index for most
# of them (the content hash's and the fingerprint bands' keys are random), 2,500 pages at 100,000 articles, which 2 MB
# could not hold: each was read again as the next batch changed it (22 reads of 4 KB an article there, 14 with 8 MB,
# 11 with 16 MB; the cache is the run's memory, whose peak was 132 MB at 100,000 pages with 2 MB). (Measured before
# the hash index was cut to a fifth and the band indexes left SQLite for store.bands.)
CACHE_KB = 8_192


class StoreError(Exception):
    pass


class Store(KnownStore, UrlsAndSources, ImagesAndLinks, Revisits, Summaries):
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._group: list[int] | None = None  # see grouped()
            self._group_until = 0.0  # (monotonic) when grouped() commits at the latest
            self._committing = False  # grouped() is committing (see commit_now)
            self._bumped = False  # this transaction has changed articles_version already (see _bump_version)
            self._linked: set[str] = set()  # see mark_linking_dirty
            self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            # the WAL is copied into the database every WAL_PAGES pages written (not SQLite's 1,000): a page that
            # many commits change (an index's) is copied once for all of them
            self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
            self.db.execute(f"PRAGMA cache_size=-{CACHE_KB}")
            # a transaction's savepoint (tx() in a group: a batch of pages) journals each page it changes first, so
            # that the batch alone can be rolled back: in memory (a batch's: about a megabyte), not in a temporary
            # file past 64 KB (two writes of each page: 20 system calls an article at 100,000 articles)
            self.db.execute("PRAGMA temp_store=MEMORY")
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
        add_columns_and_indexes(self.db)
        if not self.db.execute(FINGERPRINT_LOG).fetchone():  # (asked first: no write lock taken at every open)
            with self.tx():
                log_fingerprints(self.db)
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

    def committed_article_count(self, timeout: float = 0.5) -> int | None:
        """The articles committed, as another reader sees them: from a connection of its own, so any thread may ask
        while the store's own is busy (Ctrl-C's last word on a run that did not unwind in time); None if the file
        cannot be read within `timeout` seconds."""
        try:
            con = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout,
                                  check_same_thread=False)
            try:
                return con.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return None

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
        from ..ids import article_id, is_portable_id

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

    # -- provenance and render state
    def warc_ref(self, article_id: str) -> WarcRef | None:
        r = self.db.execute("SELECT warc_file, warc_offset, warc_record_id, warc_digest FROM articles WHERE id=?",
                            (article_id,)).fetchone()
        if not r or not r["warc_file"]:
            return None
        return WarcRef(r["warc_file"], r["warc_offset"], r["warc_record_id"], r["warc_digest"])

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
        # (an article due already is left alone: SQLite writes a row it updates again whole, body and all, even
        # with the same values, and most articles a fetch finds linked to are ones it has just stored)
        self.db.executemany("UPDATE articles SET dirty=1 WHERE id=? AND dirty != 1", [(i,) for i in ids])

    def mark_all_dirty(self) -> None:
        self.db.execute("UPDATE articles SET dirty=1")

    def article_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM articles")}

    @contextmanager
    def tx(self, weight: int = 1) -> Iterator[sqlite3.Connection]:
        """All of the block's writes or none. Inside `grouped()` the block is a savepoint of the group's
        transaction, and the group commits every so many blocks (a block of `weight` counts as that many: the
        articles it stores)."""
        if self._group is None:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self._before_commit()
            except BaseException:
                self._rollback("ROLLBACK")
                raise
            self._commit()
            return
        self.db.execute("SAVEPOINT tx")
        self._group[2] += 1
        try:
            yield self.db
        except BaseException:
            self._rollback("ROLLBACK TO tx")
            raise
        finally:
            self.db.execute("RELEASE tx")
            self._group[2] -= 1
        self._group[0] += weight
        if self._group[2] == 0 and (self._group[0] >= self._group[1] or time.monotonic() >= self._group_until):
            self._commit_group()

    def _commit_group(self) -> None:
        """Commit the group's work so far and go on with a new transaction."""
        assert self._group is not None
        self._committing = True
        try:
            self._before_commit()
            self._commit()
            self.db.execute("BEGIN IMMEDIATE")
            self._group[0] = 0
            self._group_until = time.monotonic() + GROUP_SECONDS
        finally:
            self._committing = False

    def commit_now(self) -> None:
        """Ctrl-C's call (from the signal handler, on the thread that uses the store): what the group has done so
        far is committed at once when the store stands between two blocks, and every later block commits as it
        ends, so a run that is then ended where it stands (a slow unwind, a second Ctrl-C) keeps every article it
        saved. Mid-block it only asks for the latter: the block's own end commits it. Never raises."""
        if self._group is None:
            return
        self._group[1] = 1
        if self._group[2] or self._committing or not self.db.in_transaction:
            return
        try:
            self._commit_group()
        except sqlite3.Error:  # the handler ran inside one of the connection's own calls: the block's end commits
            pass

    def _before_commit(self) -> None:
        """What is due in the transaction before it commits: the pages linking to the articles it saved."""
        if self._linked:
            urls, self._linked = self._linked, set()
            self.mark_dirty(self.linking_to(urls))

    def _commit(self) -> None:
        self.db.execute("COMMIT")
        self._bumped = False

    def _rollback(self, how: str) -> None:
        self.db.execute(how)
        self._bumped = False  # (a savepoint's rollback may have undone the bump)
        self._bands = None  # (it may hold log entries undone; their numbers are given again)

    @contextmanager
    def grouped(self, every: int = 1000) -> Iterator[None]:
        """Commit the many small transactions of a fetch every `every` of them (by weight: articles), or every
        GROUP_SECONDS, whichever comes first, not one by one: an index page that many of them change is written
        once a commit (a store of 100,000 articles: one commit every 100 of them cost a third of storing one).

        A run killed meanwhile loses only the last group: those URLs are still pending, and the next run
        fetches them again. What is done when the block ends (normally or not) is committed.
        """
        if self._group is not None:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._group = [0, max(1, every), 0]  # blocks since the last commit, commit every, savepoint depth
        self._group_until = time.monotonic() + GROUP_SECONDS
        try:
            yield
        finally:
            self._group = None
            if self.db.in_transaction:
                self._committing = True
                try:
                    self._before_commit()
                    self._commit()
                finally:
                    self._committing = False

    def mark_linking_dirty(self, urls: Iterable[str]) -> None:
        """The articles whose bodies link to any of these URLs are due (mark_dirty): in this transaction, before it
        commits, looked up with those of the transaction's other articles (at once outside a transaction)."""
        self._linked.update(urls)
        if not self.db.in_transaction:
            self._before_commit()

    def _bump_version(self) -> None:
        """articles_version changes: once a transaction is enough (a reader sees a commit, not its statements)."""
        if self._bumped and self.db.in_transaction:
            return
        self._write("meta", "INSERT INTO meta(key, value) VALUES('articles_version', '1') ON CONFLICT(key) DO "
                            "UPDATE SET value=CAST(value AS INTEGER) + 1", [()])
        self._bumped = self.db.in_transaction

    # -- the run state: what the last runs left (typed; the meta table holds it as text)
    def state(self) -> RunState:
        keys = RunState.KEYS
        rows = dict(self._rows_in("SELECT key, value FROM meta WHERE key IN ({})", keys))
        return RunState.from_meta(rows)

    def set_state(self, **changes: object) -> None:
        """Save these fields of the RunState (a name that is not one is a bug: KeyError)."""
        for key, value in RunState.to_meta(changes).items():
            self.set_meta(key, value)

    # -- meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                        (key, value))

    # -- articles
    def _article(self, r: sqlite3.Row) -> StoredArticle:
        values = {f: dt(r[f]) if f in DATE_FIELDS else r[f] for f in STORED_FIELDS}
        values["pick"] = bool(values["pick"])
        try:
            values["body_html"] = unpack_body(values["body_html"])
        except (zlib.error, UnicodeDecodeError) as exc:  # (a blob no version of newsmirror wrote)
            raise StoreError(f"{self.path}: the body of article {values['id']} cannot be read ({exc}); the store is "
                             "damaged: restore it from a backup") from None
        return StoredArticle(**values)

    def article(self, article_id: str) -> StoredArticle | None:
        r = self.db.execute("SELECT * FROM articles WHERE id=?", (article_id,)).fetchone()
        return self._article(r) if r else None

    def _rows_in(self, query: str, values: Iterable[str]) -> Iterator[sqlite3.Row]:
        """The rows of `query` ("… IN ({})") for all `values`, bound 500 at a time (what one statement may hold)."""
        for chunk in batched(list(values), 500):
            # (not `yield from`, which closes the cursor when the generator is dropped: an error once the store is)
            for row in self.db.execute(query.format(",".join("?" * len(chunk))), chunk):  # noqa: UP028
                yield row

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
            f"UNION ALL SELECT 2, * FROM articles WHERE url=:u AND {OWN_URL} "
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
                f"SELECT url, id FROM articles WHERE url IN ({{}}) AND {OWN_URL}",
                "SELECT canonical_url, id FROM articles WHERE canonical_url IN ({})"):
            found.update((r[0], r[1]) for r in self._rows_in(query, urls))
        return found

    def read_at(self, ids: Iterable[str]) -> dict[str, datetime]:
        """When we last read each of these articles: fetched it, or saw it unchanged."""
        return {r[0]: max(dt(r[1]), dt(r[2]))
                for r in self._rows_in("SELECT id, fetched_at, last_seen FROM articles WHERE id IN ({})", ids)}

    def set_simhash(self, article_id: str, fp: int | None) -> None:
        self.db.execute("UPDATE articles SET simhash=? WHERE id=?",
                        (to_signed(fp) if fp is not None else None, article_id))

    def near_twin(self, fp: int, max_distance: int, title: str) -> StoredArticle | None:
        """The stored article of the same title whose fingerprint is nearest `fp`, within `max_distance` bits (the
        first saved of equals); None if none is. Up to MAX_DISTANCE bits, only the articles that share one of its
        four 16-bit bands are read (found in store.bands): any fingerprint that near shares one, as known() reads
        them."""
        if max_distance <= MAX_DISTANCE:
            return self.known((), (), (fp,), ()).near_twin(fp, max_distance, title)
        rows = self.db.execute("SELECT rowid, id, simhash, title FROM articles WHERE simhash IS NOT NULL "
                               "ORDER BY rowid")
        best: tuple[int, str] | None = None
        for r in rows:
            d = distance(fp, from_signed(r[2]))
            if d <= max_distance and (best is None or d < best[0]) and same_title(title, r[3]):
                best = (d, r[1])
        return self.article(best[1]) if best is not None else None

    def article_by_hash(self, content_hash: str) -> StoredArticle | None:
        rows = self.db.execute(f"SELECT * FROM articles WHERE {HASH_KEY}=? ORDER BY rowid", (content_hash[:8],))
        r = next((r for r in rows if r["content_hash"] == content_hash), None)  # (SQLite's planner, told the whole
        # hash too, reads every row)
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
            published = dt(r[3])
            out.append(Listed(r[0], category, r[1], r[2], published, published or dt(r[4]), dt(r[5]), bool(r[6])))
        out.sort(key=lambda a: (a.sort_date, a.id), reverse=True)
        return out

    def save_article(self, a: Article, content_hash: str, pick: bool, warc: WarcRef | None = None,
                     simhash: int | None = None, body: bytes | None = None) -> None:
        """Insert or update an article, in one statement; `warc`: where its response is archived (file, offset,
        record id, payload digest), kept from before when None; `simhash`: its dedup.fingerprint (None: too short);
        `body`: its body_html as schema.pack_body made it, when it came so (pipeline.analyse.Analysis.packed),
        stored as it is."""
        t = self._now()
        w = (warc.file, warc.offset, warc.record_id, warc.payload_digest) if warc else (None, None, None, None)
        own = list(_ARTICLE_VALUES(a))
        for k in _ARTICLE_DATES:
            own[k] = ts(own[k])
        own[_ARTICLE_BODY] = body if body is not None else pack_body(a.body_html)
        self._write("articles", _SAVE_ARTICLE, [(*own, content_hash, int(pick), t, t, t, *w,
                                                 to_signed(simhash) if simhash is not None else None)])
        self._bump_version()

    def articles_version(self) -> int:
        """A number that changes whenever an article is saved (what the indexes list may then differ)."""
        return int(self.get_meta("articles_version") or 0)

    def touch_article(self, article_id: str) -> None:
        self._write("articles", "UPDATE articles SET last_seen=? WHERE id=?", [(self._now(), article_id)])


_ARTICLE_VALUES = operator.attrgetter(*ARTICLE_FIELDS)
_ARTICLE_DATES = [k for k, f in enumerate(ARTICLE_FIELDS) if f in DATE_FIELDS]  # (kept as ISO 8601 text)
_ARTICLE_BODY = ARTICLE_FIELDS.index("body_html")
_SAVED_COLUMNS = [*ARTICLE_FIELDS, "content_hash", "pick", "first_seen", "last_seen", "fetched_at", "warc_file",
                  "warc_offset", "warc_record_id", "warc_digest", "simhash"]
_SAVE_ARTICLE = f"""INSERT INTO articles({", ".join(_SAVED_COLUMNS)}) VALUES({", ".join("?" * len(_SAVED_COLUMNS))})
               ON CONFLICT(id) DO UPDATE SET {", ".join(f"{f}=excluded.{f}" for f in ARTICLE_FIELDS if f != "id")},
                 content_hash=excluded.content_hash, pick=MAX(articles.pick, excluded.pick),
                 last_seen=excluded.last_seen, fetched_at=excluded.fetched_at, dirty=1,
                 warc_file=COALESCE(excluded.warc_file, articles.warc_file),
                 warc_offset=COALESCE(excluded.warc_offset, articles.warc_offset),
                 warc_record_id=COALESCE(excluded.warc_record_id, articles.warc_record_id),
                 warc_digest=COALESCE(excluded.warc_digest, articles.warc_digest), simhash=excluded.simhash"""


__all__ = ["Known", "RevisitCounts", "RunSummary", "SourceStatus", "Store", "StoreError", "UrlProblem", "batched",
           "now"]
