"""The images and links tables: what each article shows and links to, and what became of each picture."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator

from ..models import ArticleRef
from .schema import OWN_URL, now, ts


class ImagesAndLinks:
    """Store calls for images and links, mixed into Store (whose connection and batched look-ups they use)."""

    db: sqlite3.Connection
    _write: Callable[[str, str, list[tuple]], None]  # (store.batch.Deferred)

    def set_links(self, article_id: str, targets: Iterable[str], new: bool = False) -> None:
        """The URLs an article's body links to, replacing those it had (`new`: it had none)."""
        if not new:
            self._write("links", "DELETE FROM links WHERE article_id=?", [(article_id,)])
        self._write("links", "INSERT OR IGNORE INTO links(article_id, target) VALUES(?,?)",
                    [(article_id, t) for t in targets])

    # -- images
    def set_article_images(self, article_id: str, urls: Iterable[str], new: bool = False) -> None:
        """The images an article shows, in order (lead image first), replacing those it showed (`new`: it had
        none). Each keeps its place: images.max_per_article mirrors the first N."""
        if not new:
            self._write("article_images", "DELETE FROM article_images WHERE article_id=?", [(article_id,)])
        self._write("article_images", "INSERT OR IGNORE INTO article_images(article_id, url, pos) VALUES(?,?,?)",
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
            "last_seen=excluded.last_seen", (url, asset, width, height, size, ts(now())))

    def image_failed(self, url: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO images(url, status, reason, attempts, last_seen) VALUES(?,'failed',?,1,?) "
            "ON CONFLICT(url) DO UPDATE SET status='failed', reason=excluded.reason, "
            "attempts=images.attempts + 1, last_seen=excluded.last_seen", (url, reason, ts(now())))

    def assets_of(self, urls: Iterable[str]) -> set[str]:
        """The paths of our copies of these images (those mirrored)."""
        return {r[0] for r in self._rows_in("SELECT asset FROM images WHERE status='ok' AND url IN ({})", urls)}

    def image_assets(self) -> dict[str, str]:
        """Every mirrored image: its URL → its path in the tree."""
        return {r[0]: r[1] for r in self.db.execute("SELECT url, asset FROM images WHERE status='ok'")}

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

    def page_links(self, ids: list[str]) -> dict[str, dict[str, ArticleRef]]:
        """For each of these articles: the URLs its body links to that lead to an article we hold → that
        article, without holding every URL in memory."""
        out: dict[str, dict[str, ArticleRef]] = {i: {} for i in ids}
        held: dict[str, ArticleRef | None] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for aid, target in self.db.execute(
                    f"SELECT article_id, target FROM links WHERE article_id IN ({','.join('?' * len(part))})", part):
                if target not in held:
                    held[target] = self._holder(target)
                if held[target] is not None:
                    out[aid][target] = held[target]  # type: ignore[assignment]
        return out

    def _holder(self, url: str) -> ArticleRef | None:
        # an article's own or canonical URL (the last saved wins), else a URL that led to one
        r = self.db.execute(f"SELECT id, category FROM articles WHERE canonical_url=:u OR (url=:u AND {OWN_URL}) "
                            "ORDER BY rowid DESC LIMIT 1", {"u": url}).fetchone()
        if r is None:
            r = self.db.execute("SELECT a.id, a.category FROM urls u JOIN articles a ON a.id=u.article_id "
                                "WHERE u.url=? AND u.status IN ('ok', 'duplicate')", (url,)).fetchone()
        return ArticleRef(r[0], r[1]) if r else None

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
