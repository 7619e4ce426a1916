"""The hot list's numbers: views per page over the last days, from the counter's file or its stats.json."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import date
from pathlib import Path

from .db import MAX_PAGES, CounterDB, CounterDBError, window

MAX_STATS_BYTES = 5_000_000
LIMIT = MAX_PAGES  # pages asked for: more than the longest hot list


class ViewsError(Exception):
    pass


def read_views(source: str, root: Path, days: int, today: date, held: Callable[[str], bool] | None = None,
               timeout: float = 20) -> tuple[dict[str, int], str]:
    """({page path: views}, "first day to last day") over the `days` days up to `today`, from a counter database
    (a path, relative to `root`) or a counter's stats.json URL; the most-read LIMIT pages of those `held` says
    the mirror holds (a flood of views of made-up pages pushes none of them out)."""
    if source.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(source)
        query = urllib.parse.urlencode({**dict(urllib.parse.parse_qsl(parts.query)), "days": days, "limit": LIMIT})
        url = urllib.parse.urlunsplit(parts._replace(query=query))
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (an http(s) URL, checked above)
                data = json.loads(resp.read(MAX_STATS_BYTES + 1)[:MAX_STATS_BYTES])
            views = {str(p["path"]): int(p["views"]) for p in data["pages"]}
            views = {p: n for p, n in views.items() if held is None or held(p)}
            first, last = str(data["from"]), str(data["to"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ViewsError(f"cannot read view counts from {source} ({exc})") from None
        return views, f"{first} – {last}"
    path = root / source
    if not path.is_file():
        raise ViewsError(f"{path}: no such counter database (made by `newsmirror counter serve --db`)")
    try:
        db = CounterDB(path, readonly=True)
    except CounterDBError as exc:
        raise ViewsError(str(exc)) from None
    try:
        views = dict(db.top(days, LIMIT, today, held))
    except sqlite3.Error as exc:  # damaged past its first page
        raise ViewsError(f"{path}: not a usable counter database ({exc}); move it aside") from None
    finally:
        db.close()
    first, last = window(days, today)
    return views, f"{first} – {last}"
