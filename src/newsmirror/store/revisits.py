"""The revisit tables: each article's versions, when it is next due, and what its source did (edits, deletions)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from ..models import Revision, WarcRef
from .schema import dt, ts


class Revisits:
    """Store calls for revisits, mixed into Store (whose connection, meta and batched look-ups they use)."""

    db: sqlite3.Connection
    _bump_version: Callable[[], None]

    def revisits_due(self, at: datetime, first_hours: float, limit: int) -> list[sqlite3.Row]:
        """Up to `limit` articles due for a revisit at `at`: those whose deletion waits for its confirming check
        first, then the longest overdue. One never revisited is due `first_hours` after it was first seen."""
        first_cut = ts(at - timedelta(hours=first_hours))
        return list(self.db.execute(
            "SELECT a.id, a.url, a.source, a.category, a.first_seen, a.content_hash, r.suspect_since, "
            "r.suspect_reason, r.deleted_at, COALESCE(r.next_due, a.first_seen) AS due FROM articles a "
            "LEFT JOIN revisits r ON r.article_id=a.id WHERE (r.article_id IS NULL AND a.first_seen <= ?) "
            "OR r.next_due <= ? ORDER BY r.suspect_since IS NULL, due, a.id LIMIT ?", (first_cut, ts(at), limit)))

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
        values = [ts(v) if isinstance(v, datetime) else v for v in cols.values()]
        if sets:
            self.db.execute(f"UPDATE revisits SET {', '.join(sets)} WHERE article_id=?", (*values, article_id))

    def revisit_event(self, article_id: str, at: datetime, kind: str, detail: str | None = None) -> None:
        """One line of an article's history (edited, deleted, back); the pages that show it are due."""
        self.db.execute("INSERT INTO revisit_events(article_id, at, kind, detail) VALUES(?,?,?,?)",
                        (article_id, ts(at), kind, detail))
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
                    warc: WarcRef | None) -> int:
        """Keep one more version of an article; its number."""
        n = self.db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM versions WHERE article_id=?",
                            (article_id,)).fetchone()[0]
        where = (warc.file, warc.offset, warc.record_id, warc.payload_digest) if warc else (None,) * 4
        self.db.execute("INSERT INTO versions(article_id, n, title, body_html, content_hash, seen, warc_file, "
                        "warc_offset, warc_record_id, warc_digest) VALUES(?,?,?,?,?,?,?,?,?,?)",
                        (article_id, n, title, body_html, content_hash, ts(seen), *where))
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
        self._bump_version()

    def edited_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT article_id FROM versions WHERE n > 1")]

    def revisions(self, ids: list[str]) -> dict[str, Revision]:
        """What revisits found of these articles, for those where they found something (an edit, a deletion)."""
        out: dict[str, Revision] = {}
        for r in self._rows_in("SELECT article_id, COUNT(*), MAX(seen) FROM versions WHERE article_id IN ({}) "
                               "GROUP BY article_id HAVING COUNT(*) > 1", ids):
            out[r[0]] = Revision(versions=r[1], edited_at=dt(r[2]))
        for r in self._rows_in("SELECT article_id, deleted_at, deleted_reason, last_good FROM revisits WHERE "
                               "article_id IN ({}) AND deleted_at IS NOT NULL", ids):
            rev = out.setdefault(r[0], Revision())
            rev.deleted_at, rev.deleted_reason, rev.last_good = dt(r[1]), r[2], dt(r[3])
        for r in self._rows_in("SELECT article_id, at, kind, detail FROM revisit_events WHERE article_id IN ({}) "
                               "ORDER BY at, rowid", ids):
            out.setdefault(r[0], Revision()).history.append((dt(r[1]), r[2], r[3] or ""))
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
