"""The benchmark metrics, checked against small cases computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from newsmirror.extract.evaluate import (
    aeb_page,
    aeb_score,
    gold_day,
    same_day,
    shingles,
    snippet_counts,
    snippet_score,
)


def test_shingles_are_4_token_multisets_and_short_texts_one_shingle():
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("a b c d a b c d") == {("a", "b", "c", "d"): 2, ("b", "c", "d", "a"): 1, ("c", "d", "a", "b"): 1,
                                           ("d", "a", "b", "c"): 1}
    assert shingles("one, two!") == {("one", "two"): 1}  # \w+ tokens, punctuation dropped
    assert shingles("  ") == {}


def test_aeb_page_by_hand():
    # gold: a b c d e f → shingles abcd bcde cdef; prediction: a b c d e x → abcd bcde cdex
    p, r = aeb_page("a b c d e x", "a b c d e f")
    assert p == pytest.approx(2 / 3) and r == pytest.approx(2 / 3)
    # prediction holds the gold plus noise: recall 1, precision 3/5
    p, r = aeb_page("a b c d e f g h", "a b c d e f")
    assert (p, r) == (pytest.approx(3 / 5), 1.0)
    # empty prediction: precision's denominator is 0 → 1; recall 0
    assert aeb_page("", "a b c d") == (1.0, 0.0)
    # both empty: perfect
    assert aeb_page("", "") == (1.0, 1.0)


def test_aeb_score_means_pages_then_harmonic_mean():
    s = aeb_score([("a b c d e x", "a b c d e f"), ("a b c d e f g h", "a b c d e f")])
    assert s.precision == pytest.approx((2 / 3 + 3 / 5) / 2)
    assert s.recall == pytest.approx((2 / 3 + 1) / 2)
    assert s.f1 == pytest.approx(2 * s.precision * s.recall / (s.precision + s.recall))


def test_snippets_collapse_whitespace_and_count_over_all_pages():
    text = "正文第一段。\n\n  正文   第二段。 相关阅读：别的新闻"
    counts = snippet_counts(text, ["正文第一段。", "正文 第二段。", "没有的句子"], ["相关阅读：别的新闻", "版权所有"])
    assert counts == (2, 1, 1)
    s = snippet_score([(2, 1, 1), (3, 0, 0)])
    assert s.precision == pytest.approx(5 / 6) and s.recall == pytest.approx(5 / 6)
    assert snippet_score([]).f1 == 1.0


@pytest.mark.parametrize("gold, expected", [
    ("2019-09-07 13:43:45", (2019, 9, 7)),
    ("2019年11月25日 16:04:30", (2019, 11, 25)),
    ("18-03-08 23:16", (2018, 3, 8)),
    ("10-08 12:00", (None, 10, 8)),
    (None, None),
    ("none of it", None),
])
def test_gold_day(gold, expected):
    assert gold_day(gold) == expected


def test_same_day_compares_the_day_as_written():
    cn = timezone(timedelta(hours=8))
    assert same_day(datetime(2019, 9, 7, 0, 30, tzinfo=cn), "2019-09-07 13:43:45")
    assert not same_day(datetime(2019, 9, 8, tzinfo=cn), "2019-09-07")
    assert same_day(datetime(2023, 10, 8, tzinfo=cn), "10-08 12:00")  # no year in gold: month and day
    assert same_day("2019-09-07T13:43:45+08:00", "2019-09-07")
    assert not same_day(None, "2019-09-07")
