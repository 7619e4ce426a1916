"""The store's record of what each source gave: URLs and their fate, conditional-GET validators, the last run of
each source and the last push to each remote."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Container, Iterable, Iterator

from ..models import Candidate, RemoteState, UrlState
from .schema import dt, now, ts


class UrlsAndSources:
    """Store calls for the urls, http_cache, sources and remotes tables, mixed into Store (whose connection and
    batched writes they use)."""

    db: sqlite3.Connection
    _now: Callable[[], str]
    _write: Callable[[str, str, list[tuple]], None]
    _rows_in: Callable[[str, Iterable[str]], Iterator[sqlite3.Row]]

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
            (url, etag, last_modified, ts(now())),
        )

    # -- sources
    def source_ran(self, name: str, kind: str, error: str | None) -> None:
        t = ts(now())
        self.db.execute(
            """INSERT INTO sources(name, kind, last_run, last_ok, last_error) VALUES(?,?,?,?,?)
               ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, last_run=excluded.last_run,
               last_ok=COALESCE(excluded.last_ok, sources.last_ok), last_error=excluded.last_error""",
            (name, kind, t, None if error else t, error),
        )

    def sources(self) -> dict[str, sqlite3.Row]:
        return {r["name"]: r for r in self.db.execute("SELECT * FROM sources")}

    # -- remotes
    def remotes(self) -> dict[str, RemoteState]:
        rows = self.db.execute("SELECT name, pushed_commit, pushed_at, error, failed_since, failures FROM remotes")
        return {r[0]: RemoteState(*r) for r in rows}

    def remote_pushed(self, name: str, commit: str) -> None:
        self.db.execute(
            """INSERT INTO remotes(name, pushed_commit, pushed_at) VALUES(?,?,?) ON CONFLICT(name) DO UPDATE SET
               pushed_commit=excluded.pushed_commit, pushed_at=excluded.pushed_at, error=NULL, failed_since=NULL,
               failures=0""", (name, commit, ts(now())))

    def remote_failed(self, name: str, error: str) -> None:
        t = ts(now())
        self.db.execute(
            """INSERT INTO remotes(name, error, failed_since, failures) VALUES(?,?,?,1) ON CONFLICT(name) DO UPDATE
               SET error=excluded.error, failed_since=COALESCE(remotes.failed_since, excluded.failed_since),
               failures=remotes.failures + 1""", (name, error, t))

    # -- urls
    def url_row(self, url: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM urls WHERE url=?", (url,)).fetchone()

    def url_states(self, urls: Iterable[str]) -> dict[str, UrlState]:
        """The status, attempts and reason of those of `urls` the store has, by URL, in a few statements."""
        return {r[0]: UrlState(r[1], r[2], r[3])
                for r in self._rows_in("SELECT url, status, attempts, reason FROM urls WHERE url IN ({})", urls)}

    def mark_url(self, url: str, source: str, status: str, *, article_id: str | None = None,
                 reason: str | None = None, failed: bool = False) -> None:
        t = self._now()
        self._write("urls", _MARK_URL, [(url, source, status, article_id, reason, 1 if failed else 0, t, t, failed)])

    def add_pending(self, cands: Iterable[Candidate]) -> None:
        """Remember discovered URLs before fetching them, so a killed run picks them up again."""
        t = ts(now())
        self.db.executemany(
            "INSERT OR IGNORE INTO urls(url, source, status, attempts, first_seen, last_seen, category, pick, title, "
            "published) VALUES(?,?,'pending',0,?,?,?,?,?,?)",
            [(c.url, c.source, t, t, c.category, int(c.pick), c.title, ts(c.published)) for c in cands],
        )

    def unfinished(self, max_attempts: int, skip: Container[str] = ()) -> list[Candidate]:
        """URLs discovered but not mirrored yet: pending ones, and failed ones with attempts left (but not
        those in `skip`, which the caller has in hand already)."""
        rows = self.db.execute(
            "SELECT url, source, category, title, published, pick FROM urls WHERE (status='pending' OR "
            "(status='failed' AND attempts < ?)) AND category IS NOT NULL ORDER BY first_seen", (max_attempts,))
        return [Candidate(url=r["url"], source=r["source"], category=r["category"], title=r["title"],
                          published=dt(r["published"]), pick=bool(r["pick"])) for r in rows if r["url"] not in skip]

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


_MARK_URL = """INSERT INTO urls(url, source, status, article_id, reason, attempts, first_seen, last_seen)
               VALUES(?,?,?,?,?,?,?,?)
               ON CONFLICT(url) DO UPDATE SET status=excluded.status, article_id=excluded.article_id,
               reason=excluded.reason, last_seen=excluded.last_seen,
               attempts=CASE WHEN ? THEN urls.attempts + 1 ELSE 0 END"""
