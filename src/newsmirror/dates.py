"""Dates as pages, feeds and sitemaps write them, read into aware datetimes: the three parsers in one place.

- parse_date: structured values (ISO 8601, meta tags, JSON-LD, sitemaps) and common Chinese forms;
- parse_text_date: the first date in a piece of page text (a byline), year guessed from context when missing;
- parse_feed_date: a feed's RFC 3339 or RFC 822 date, which must carry its zone.
Beijing time (CN_TZ) when a page gives no zone."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta, timezone

CN_TZ = timezone(timedelta(hours=8))

_DATE_PATTERNS = [
    # 2023-01-01T02:18:36+08:00, 2023-01-01 02:18, 2023/01/01, 2023.01.01
    re.compile(r"(?P<y>(?:19|20)\d\d)[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
               r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d\d)(?::(?P<S>\d\d))?)?"),
    # 2019年12月10日 16:04
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
               r"(?:\s*(?P<H>\d{1,2})[:：](?P<M>\d\d)(?:[:：](?P<S>\d\d))?)?"),
]


def parse_date(value: str | None) -> datetime | None:
    """An ISO 8601 or common Chinese date string → aware datetime (Beijing time when no zone is given)."""
    if not value:
        return None
    value = value.strip()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=CN_TZ)
    except ValueError:
        pass
    for pat in _DATE_PATTERNS:
        m = pat.search(value)
        if m:
            try:
                return datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["H"] or 0), int(m["M"] or 0),
                                int(m["S"] or 0), tzinfo=CN_TZ)
            except ValueError:
                continue
    return None


_DATE_RES = [
    # 2019-09-07 13:43:45, 2019/09/07, 2019.09.07 13:43
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)\s*[-/.]\s*(?P<m>[01]?\d)\s*[-/.]\s*(?P<d>[0-3]?\d)(?!\d)"
               r"(?:\s*(?:T|\s)\s*(?P<H>[0-2]?\d)[:：](?P<M>[0-5]\d)(?:[:：](?P<S>[0-5]\d))?)?"),
    # 2019年11月25日 16:04
    re.compile(r"(?P<y>(?:19|20)\d\d)\s*年\s*(?P<m>[01]?\d)\s*月\s*(?P<d>[0-3]?\d)\s*日"
               r"(?:\s*(?P<H>[0-2]?\d)[:：](?P<M>[0-5]\d)(?:[:：](?P<S>[0-5]\d))?)?"),
    # 18-03-08 23:16 (two-digit year, with a time)
    re.compile(r"(?<![\d-])(?P<yy>\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)\s+(?P<H>[0-2]?\d):(?P<M>[0-5]\d)(?![\d-])"),
    # 10-08 12:00 and 10月8日 12:00 (no year: the year comes from context)
    re.compile(r"(?<![\d-])(?P<m>[01]?\d)-(?P<d>[0-3]\d)\s+(?P<H>[0-2]?\d):(?P<M>[0-5]\d)(?![\d-])"),
    re.compile(r"(?<!\d)(?P<m>[01]?\d)\s*月\s*(?P<d>[0-3]?\d)\s*日\s*(?P<H>[0-2]?\d)[:：](?P<M>[0-5]\d)"),
]


def parse_text_date(text: str, year_hint: int | None = None, now: datetime | None = None) -> datetime | None:
    """The first date in a piece of page text, in Beijing time when the text gives no zone."""
    now = now or datetime.now(CN_TZ)
    for pat in _DATE_RES:
        m = pat.search(text)
        if not m:
            continue
        g = m.groupdict()
        if g.get("y"):
            year = int(g["y"])
        elif g.get("yy"):
            year = 2000 + int(g["yy"])
        else:
            year = year_hint or now.year
        try:
            dt = datetime(year, int(g["m"]), int(g["d"]), int(g.get("H") or 0), int(g.get("M") or 0),
                          int(g.get("S") or 0), tzinfo=CN_TZ)
        except ValueError:
            continue
        if not g.get("y") and not g.get("yy") and year_hint is None and dt > now + timedelta(days=1):
            dt = dt.replace(year=year - 1)  # "10-08" seen in January is last year's
        if datetime(1995, 1, 1, tzinfo=CN_TZ) <= dt <= now + timedelta(days=2):
            return dt
    return None


def parse_feed_date(text: str) -> datetime | None:
    """A feed's date (W3C/RFC 3339, or RFC 822) in UTC; None for one no datetime can hold. Raises ValueError
    for a date in neither form, or without a zone (a feed reader's guess is then the one to keep)."""
    text = text.strip()
    try:
        if text[:4].isdigit():  # W3C / RFC 3339
            when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        else:  # RFC 822
            when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not an RFC 3339 or RFC 822 date: {text[:40]!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"a date without a zone: {text[:40]!r}")
    try:
        return when.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 with an offset: no date worth keeping
        return None
