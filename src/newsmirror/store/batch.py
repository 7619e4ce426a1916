"""Storing many analysed pages at once: their look-ups asked in a few statements, their writes made in a few.

A fetch hands the store the pages a worker batch yields together (8 to 32). Asked one at a time, each page costs
a dozen statements (where it is already, whether its words are another article's, whether its id is taken, then
the article, its links, its images and its URLs written one by one); here a batch costs about ten:

- `Store.known(...)`: what the store holds for every key the batch will ask about (its URLs, content hashes,
  fingerprints and ids), read in four statements. A key written by an earlier page of the batch, or an answer
  naming an article that page changed, is asked of the store itself (its writes made first), so that every page
  sees the pages before it exactly as when they were stored one by one.
- `Store.deferred()`: the writes of the block (articles, links, images, URLs) kept in order per table and made as
  one `executemany` per statement when the block ends (or before the store is asked anything meanwhile).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..dedup import MAX_DISTANCE, bands, from_signed, same_title
from .bands import BandIndex
from .schema import HASH_KEY, OWN_URL, batched, stamp

if TYPE_CHECKING:
    from ..models import StoredArticle


class Deferred:
    """Writes kept for later, mixed into Store: `_write(table, sql, rows)` makes them at once outside `deferred()`,
    and gathers them inside it."""

    db: sqlite3.Connection
    _later: list[tuple[str, str, list[tuple]]] | None = None  # (table, statement, rows), in the order made
    _last: dict[str, int]  # table → the index in _later of its last entry
    _stamp: str | None = None

    def _write(self, table: str, sql: str, rows: list[tuple]) -> None:
        if self._later is None:
            if len(rows) == 1:
                self.db.execute(sql, rows[0])
            elif rows:
                self.db.executemany(sql, rows)
            return
        if not rows:
            return
        i = self._last.get(table)
        if i is not None and self._later[i][1] == sql:  # the same statement as the table's last: one executemany
            self._later[i][2].extend(rows)  # (writes to other tables in between do not touch this one)
        else:
            self._last[table] = len(self._later)
            self._later.append((table, sql, list(rows)))

    def flush_writes(self) -> None:
        """Make the writes gathered so far (each table's in the order they were asked for)."""
        if not self._later:
            return
        later, self._later, self._last = self._later, [], {}
        for _, sql, rows in later:
            if len(rows) == 1:
                self.db.execute(sql, rows[0])
            else:
                self.db.executemany(sql, rows)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """The block's writes (save_article, set_links, set_article_images, mark_url, touch_article) are made when it
        ends, as few statements; a block that raises makes none of those not made yet (the caller's transaction
        is rolled back). The block must ask the store nothing but through `Known` (which makes them first)."""
        if self._later is not None:
            yield
            return
        self._later, self._last = [], {}
        self._stamp = stamp()  # the time the block's rows are written at
        try:
            yield
            self.flush_writes()
        finally:
            self._later = None
            self._stamp = None

    def _now(self) -> str:
        """ts(now()): inside `deferred()`, the time its block began (a batch takes milliseconds)."""
        return self._stamp or stamp()


class Known:
    """What the store held, before a batch, for the keys the batch asks about; see the module's doc. Its methods
    answer as the Store's of the same name do, at the moment they are asked."""

    def __init__(self, store: KnownStore, by_url: dict[str, StoredArticle | None],
                 by_hash: dict[str, StoredArticle | None], near: dict[tuple[int, int], list[tuple[int, str, int, str]]],
                 ids: dict[str, list[str]], fps: set[int]) -> None:
        """Each dict holds every key asked (None: nothing there); `near`: for each band (its number, its value) of
        `fps`, the (rowid, id, fingerprint, title) of the articles that share it, among them all those within
        MAX_DISTANCE of one of `fps` (no other can be a near twin)."""
        self.store = store
        self._by_url, self._by_hash, self._near, self._ids, self._fps = by_url, by_hash, near, ids, fps
        self._urls: set[str] = set()  # written by the batch so far: asked of the store itself
        self._hashes: set[str] = set()
        self._articles: set[str] = set()  # ids (lower case) of the articles the batch saved or touched
        self._written_fps: dict[tuple[int, int], list[tuple[int, str]]] = {}  # (band number, value) → (fp, title)

    def wrote(self, article_id: str | None, urls: Iterable[str], content_hash: str | None = None,
              fp: int | None = None, title: str = "") -> None:
        """An earlier page of the batch wrote these: later pages ask the store about them."""
        if article_id:
            self._articles.add(article_id.lower())
        self._urls.update(urls)
        if content_hash:
            self._hashes.add(content_hash)
        if fp is not None:
            for band in enumerate(bands(fp)):
                self._written_fps.setdefault(band, []).append((fp, title))

    def _live(self) -> KnownStore:
        self.store.flush_writes()
        return self.store

    def _fresh(self, art: StoredArticle | None) -> bool:
        return art is None or art.id.lower() not in self._articles

    def article_by_url(self, url: str) -> StoredArticle | None:
        if url not in self._urls and url in self._by_url:
            art = self._by_url[url]
            if self._fresh(art):
                return art
        return self._live().article_by_url(url)

    def article_by_hash(self, content_hash: str) -> StoredArticle | None:
        if content_hash not in self._hashes and content_hash in self._by_hash:
            art = self._by_hash[content_hash]
            if self._fresh(art):
                return art
        return self._live().article_by_hash(content_hash)

    def near_twin(self, fp: int, max_distance: int, title: str) -> StoredArticle | None:
        fp_bands = tuple(enumerate(bands(fp)))
        near_written = (w for band in fp_bands for w in self._written_fps.get(band, ()))
        if fp in self._fps and max_distance <= MAX_DISTANCE and not any(
                (fp ^ f).bit_count() <= max_distance and same_title(title, t) for f, t in near_written):
            best: tuple[int, str] | None = None
            rows = sorted({r for band in fp_bands for r in self._near.get(band, ())})
            for _, aid, other, other_title in rows:  # (by rowid: the first saved of equals)
                d = (fp ^ other).bit_count()  # (dedup.distance)
                if d <= max_distance and (best is None or d < best[0]) and same_title(title, other_title):
                    best = (d, aid)
            if best is None:
                return None
            if best[1].lower() not in self._articles:
                return self.store.article(best[1])
        return self._live().near_twin(fp, max_distance, title)

    def id_taken(self, article_id: str, canonical_url: str) -> bool:
        key = article_id.lower()
        if key in self._ids and key not in self._articles:
            return any(u != canonical_url for u in self._ids[key])
        return self._live().id_taken(article_id, canonical_url)


class KnownStore(Deferred):
    """The look-ups `Known` stands in for, and the statement that reads them for a batch (mixed into Store)."""

    article_by_url: Callable[[str], StoredArticle | None]
    article_by_hash: Callable[[str], StoredArticle | None]
    near_twin: Callable[[int, int, str], StoredArticle | None]
    id_taken: Callable[[str, str], bool]
    article: Callable[[str], StoredArticle | None]
    _article: Callable[[sqlite3.Row], StoredArticle]
    _rows_in: Callable[[str, Iterable], Iterator[sqlite3.Row]]

    _bands: BandIndex | None = None  # read from the log when first needed (None again after a rollback)

    def _band_index(self) -> BandIndex:
        """The band index, with the log entries appended since it was last asked for (made first if need be)."""
        if self._bands is None:
            self._bands = BandIndex()
        self._bands.catch_up(self.db)
        return self._bands

    def known(self, urls: Iterable[str], hashes: Iterable[str], fps: Iterable[int], ids: Iterable[str]) -> Known:
        """What the store holds for these URLs (as article_by_url finds them), content hashes, fingerprints (the
        articles sharing one of their bands) and ids (the canonical URLs of the articles holding each, without
        case), in four statements (more past 500 keys) and the fingerprint log's new entries; writes gathered so far
        are made first."""
        self.flush_writes()
        urls, hashes, fps, ids = set(urls), set(hashes), set(fps), {i.lower() for i in ids}
        by_url: dict[str, StoredArticle | None] = dict.fromkeys(urls)
        for chunk in batched(sorted(urls), 300):  # (three lists of it a statement)
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(
                    f"SELECT * FROM (SELECT 1 AS pref, canonical_url AS asked, * FROM articles WHERE canonical_url IN "
                    f"({marks}) UNION ALL SELECT 2, url, * FROM articles WHERE url IN ({marks}) AND {OWN_URL} "
                    f"UNION ALL SELECT 3, u.url, a.* FROM urls u JOIN articles a ON a.id=u.article_id WHERE u.url IN "
                    f"({marks}) AND "
                    f"u.status IN ('ok', 'duplicate')) ORDER BY pref", chunk * 3):
                if by_url[r["asked"]] is None:  # the most preferred
                    by_url[r["asked"]] = self._article(r)
        by_hash: dict[str, StoredArticle | None] = dict.fromkeys(hashes)
        keys = {h[:8] for h in hashes}  # (HASH_KEY: a few articles may share a key, not the hash)
        for r in self._rows_in(f"SELECT * FROM articles WHERE {HASH_KEY} IN ({{}}) ORDER BY rowid", keys):
            if r["content_hash"] in by_hash and by_hash[r["content_hash"]] is None:
                by_hash[r["content_hash"]] = self._article(r)
        # the articles whose fingerprint may be within MAX_DISTANCE of one of `fps`, from the band index (its log
        # read up to now); then their rows, whose fingerprint is the one that counts (a log entry outlives an edit)
        near: dict[tuple[int, int], list[tuple[int, str, int, str]]] = {}
        if fps:
            index = self._band_index()
            close = set().union(*(index.near(fp, MAX_DISTANCE) for fp in fps))
            asked = {band for fp in fps for band in enumerate(bands(fp))}
            for rowid, aid, value, title in self._rows_in("SELECT rowid, id, simhash, title FROM articles WHERE "
                                                          "rowid IN ({}) AND simhash IS NOT NULL", sorted(close)):
                other = from_signed(value)
                for band in enumerate(bands(other)):
                    if band in asked:
                        near.setdefault(band, []).append((rowid, aid, other, title))
        taken: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            for r in self._rows_in("SELECT id, canonical_url FROM articles WHERE id COLLATE NOCASE IN ({})", ids):
                taken.setdefault(r[0].lower(), []).append(r[1])
        return Known(self, by_url, by_hash, near, taken, fps)
