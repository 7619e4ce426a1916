"""The counter's SQLite file: views per page and day, and nothing else.

One row per (day, page) with a number. No address, user agent, referrer or
time of day is stored, so the file says how often a page was read, never by
whom or when within the day.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from pathlib import Path

from ..layout import MARKDOWN

SCHEMA = """
CREATE TABLE IF NOT EXISTS views (
    day TEXT NOT NULL,               -- UTC, YYYY-MM-DD
    path TEXT NOT NULL,              -- the page, as the mirror names it: pages/<category>/<id>.md
    views INTEGER NOT NULL,
    PRIMARY KEY (day, path)
) WITHOUT ROWID;
"""


MAX_PAGES = 1000  # the most pages a list of the most-read ones holds (stats.json, the hot list's reading)


class CounterDBError(Exception):
    pass


def tree_pages(out: Path) -> set[str]:
    """The page paths (as the counter counts them: the Markdown layout's pages/<category>/<id>.md) the mirror's tree
    holds."""
    pages = out / MARKDOWN.pages
    found = (f"{MARKDOWN.pages}{e.parent.name}/{e.name}" for e in pages.glob("*/*"))
    return {path for path in found if MARKDOWN.page_of(path)}


def window(days: int, today: date) -> tuple[str, str]:
    """The first and last day (inclusive) of the last `days` days up to `today`."""
    return (today - timedelta(days=days - 1)).isoformat(), today.isoformat()


class CounterDB:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
            self.db.execute("SELECT 1 FROM views LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise CounterDBError(f"{path}: not a usable counter database ({exc}); check the path, or move the "
                                 f"file aside to start a new one") from None
        except OSError as exc:  # its folder cannot be made
            raise CounterDBError(f"{path}: cannot make the counter database there ({exc.strerror or exc}); "
                                 "check the path") from None

    def add(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Add views per (day, path), all in one transaction."""
        if not counts:
            return
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO views(day, path, views) VALUES(?,?,?) "
                "ON CONFLICT(day, path) DO UPDATE SET views = views + excluded.views",
                [(d, p, n) for (d, p), n in counts.items()])

    def top(self, days: int, limit: int, today: date,
            held: Callable[[str], bool] | None = None) -> list[tuple[str, int]]:
        """(path, views) of the most-read pages over the `days` days up to `today`, most first (then by path);
        with `held`, only the pages it says yes to."""
        first, last = window(days, today)
        rows = self.db.execute("SELECT path, SUM(views) AS n FROM views WHERE day BETWEEN ? AND ? GROUP BY path "
                               "ORDER BY n DESC, path" + ("" if held else " LIMIT ?"),
                               (first, last) if held else (first, last, limit))
        out: list[tuple[str, int]] = []
        for path, n in rows:
            if held is None or held(path):
                out.append((path, n))
                if len(out) >= limit:
                    break
        return out

    def total(self) -> int:
        return self.db.execute("SELECT COALESCE(SUM(views), 0) FROM views").fetchone()[0]

    def close(self) -> None:
        self.db.close()
