"""Scoring an extractor against gold answers (the metrics of `benchmarks/extraction.py`).

AEB (article-extraction-benchmark): Unicode `\\w+` tokens → multisets of
4-token shingles; per page TP/FP/FN; precision and recall are the means over
pages (1 where a denominator is 0), F1 their harmonic mean.

zh snippets: over all pages, TP = gold `with` snippets found in the text,
FN = `with` missing, FP = `without` snippets found; whitespace runs collapsed
to one space on both sides first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

_WORD = re.compile(r"\w+")
_WS = re.compile(r"\s+")


def shingles(text: str, n: int = 4) -> Counter:
    tokens = _WORD.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def aeb_page(pred: str, gold: str) -> tuple[float, float]:
    """(precision, recall) of one page."""
    p, g = shingles(pred), shingles(gold)
    tp = sum((p & g).values())
    fp = sum(p.values()) - tp
    fn = sum(g.values()) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


@dataclass
class Score:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        s = self.precision + self.recall
        return 2 * self.precision * self.recall / s if s else 0.0


def aeb_score(pairs: Iterable[tuple[str, str]]) -> Score:
    """Mean precision and recall over (prediction, gold) pages."""
    ps, rs = [], []
    for pred, gold in pairs:
        p, r = aeb_page(pred, gold)
        ps.append(p)
        rs.append(r)
    if not ps:
        return Score(1.0, 1.0)
    return Score(sum(ps) / len(ps), sum(rs) / len(rs))


def collapse(text: str) -> str:
    return _WS.sub(" ", text or "").strip()


def snippet_counts(text: str, with_: list[str], without: list[str]) -> tuple[int, int, int]:
    """(TP, FP, FN) of one page."""
    t = collapse(text)
    tp = sum(1 for s in with_ if collapse(s) in t)
    fn = len(with_) - tp
    fp = sum(1 for s in without if collapse(s) in t)
    return tp, fp, fn


def snippet_score(counts: Iterable[tuple[int, int, int]]) -> Score:
    tp = fp = fn = 0
    for a, b, c in counts:
        tp, fp, fn = tp + a, fp + b, fn + c
    return Score(tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)


_GOLD_DATE = [
    re.compile(r"(?P<y>\d{4})[-/年.](?P<m>\d{1,2})[-/月.](?P<d>\d{1,2})"),
    re.compile(r"^(?P<y>\d{2})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    re.compile(r"^(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
]


def gold_day(value: str | None) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a gold date string such as '2019年11月25日 16:04', '18-03-08', '10-08 12:00'."""
    if not value:
        return None
    for pat in _GOLD_DATE:
        m = pat.search(value.strip())
        if m:
            y = m.groupdict().get("y")
            year = int(y) + 2000 if y and len(y) == 2 else (int(y) if y else None)
            return year, int(m["m"]), int(m["d"])
    return None


def same_day(pred: datetime | str | None, gold: str | None) -> bool:
    """Whether a predicted date falls on the gold date's calendar day (as written on the page)."""
    want = gold_day(gold)
    if want is None or pred is None:
        return False
    if isinstance(pred, str):
        got = gold_day(pred)
        if got is None:
            return False
        year, month, day = got
    else:
        year, month, day = pred.year, pred.month, pred.day
    return (want[0] is None or want[0] == year) and (want[1], want[2]) == (month, day)
