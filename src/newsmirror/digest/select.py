"""Which articles a digest holds: a date range (or the last N days), some categories, from the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..config import Config
from ..models import StoredArticle
from ..render import DISPLAY_TZ
from ..store import Store, now


class DigestError(Exception):
    """A bad range or filter: one line naming the option and what to write instead."""


_SPAN = re.compile(r"^\s*(\d{1,4})\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """`1d`, `12h`, `2w` → a timedelta."""
    m = _SPAN.match(text or "")
    if not m or int(m.group(1)) == 0:
        raise DigestError(f"--since {text!r}: not a span of time; use a number and h, d or w, e.g. 1d, 12h, 2w")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def parse_day(text: str, option: str) -> date:
    """`2026-12-04` → a date (a day as the pages show it: China Standard Time)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise DigestError(f"{option} {text!r}: not a date; use YYYY-MM-DD, e.g. 2026-12-04") from None


@dataclass(frozen=True)
class Range:
    """[start, end) in time, and how a reader reads it ("2026-12-04", "2026-12-01 – 2026-12-04")."""

    start: datetime
    end: datetime
    label: str


def day_range(first: date, last: date) -> Range:
    if last < first:
        raise DigestError(f"--to {last} is before --from {first}; swap them")
    start = datetime.combine(first, time(), DISPLAY_TZ)
    end = datetime.combine(last + timedelta(days=1), time(), DISPLAY_TZ)
    return Range(start, end, str(first) if first == last else f"{first} – {last}")


def since_range(span: timedelta) -> Range:
    end = now()
    start = end - span
    fmt = "%Y-%m-%d %H:%M"
    return Range(start, end + timedelta(seconds=1),
                 f"{start.astimezone(DISPLAY_TZ):{fmt}} – {end.astimezone(DISPLAY_TZ):{fmt}}")


def day_of(a: StoredArticle) -> date:
    """The day an article belongs to (its date as the pages show it)."""
    return a.sort_date.astimezone(DISPLAY_TZ).date()


def check_categories(cfg: Config, categories: list[str]) -> list[str]:
    for key in categories:
        if key not in cfg.categories:
            raise DigestError(f"--category {key!r}: no such category; use one of: {', '.join(cfg.categories)}")
    return categories


def select(store: Store, cfg: Config, rng: Range, categories: list[str] | None = None) -> list[StoredArticle]:
    """The articles dated within `rng`, by category (in the config's order), newest first in each; the bodies
    are read only for those chosen."""
    wanted = [c for c in cfg.categories if not categories or c in categories]
    lite = [a for a in store.articles(with_body=False)
            if a.category in wanted and rng.start <= a.sort_date < rng.end]
    order = {c: i for i, c in enumerate(wanted)}
    lite.sort(key=lambda a: (order[a.category], -a.sort_date.timestamp(), a.id))
    return store.articles_by_id([a.id for a in lite])
