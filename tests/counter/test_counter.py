"""The counter's memory, with the clock given: the dedupe window, the rate limit, the daily key, and paths."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmirror.counter.service import Counter, Settings, page_key

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC).timestamp()


def counter(**kw) -> Counter:
    return Counter(Settings(db=Path("unused.db"), **kw))


def test_the_window_runs_from_the_view_that_counted():
    c = counter(dedupe_window=1800, rate_limit=0)
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON) == "counted"
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON + 1799) == "repeat"
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON + 1800) == "counted"
    assert c.hit("pages/a/1.md", "192.0.2.2", NOON + 1800) == "counted"  # another reader
    assert c.take() == {("2026-11-26", "pages/a/1.md"): 3} and c.take() == {}


def test_a_new_day_brings_a_new_key_and_forgets_every_client():
    c = counter(dedupe_window=1800, rate_limit=0)
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON + 12 * 3600 - 60) == "counted"  # 23:59 UTC
    key = c._key
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON + 12 * 3600 + 60) == "counted"  # 00:01, the next day
    assert c._key != key and len(c._seen) == 1
    assert c.take() == {("2026-11-26", "pages/a/1.md"): 1, ("2026-11-27", "pages/a/1.md"): 1}


def test_the_rate_limit_refills_over_a_minute():
    c = counter(dedupe_window=0, rate_limit=60)
    assert [c.hit("pages/a/1.md", "192.0.2.1", NOON) for _ in range(61)].count("limited") == 1
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON + 1) == "counted"  # one more token a second
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON + 1) == "limited"
    assert c.hit("pages/a/1.md", "192.0.2.9", NOON + 1) == "counted"  # others are not held back


def test_memory_is_bounded_under_many_clients():
    c = counter(dedupe_window=1800, rate_limit=100, max_clients=1000)
    for i in range(20_000):
        c.hit(f"pages/a/{i % 7}.md", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", NOON + i / 1000)
    assert len(c._seen) <= 1000 and len(c._rate) <= 1000
    assert len(c.pending) == 7 and sum(c.pending.values()) == 20_000


@pytest.mark.parametrize("path, key", [
    ("/pages/intl/a1.md", "pages/intl/a1.md"),
    ("/site/pages/intl/a1.html", "pages/intl/a1.md"),
    ("/zh-Hant/pages/intl/a1.md", "pages/intl/a1.md"),
    ("/site/zh-Hant/pages/intl/a1.html", "pages/intl/a1.md"),
    ("/pages/intl//./a1.md", "pages/intl/a1.md"),
    ("/pages/%69ntl/a1.md", "pages/intl/a1.md"),
    ("/pages/intl/../intl/a1.md", None),
    ("/pages/intl/a1.md/", None),
    ("/site/pages/intl/a1.md", None),
    ("/pages/intl/a1.html", None),
    ("/zh-Hant/site/pages/intl/a1.html", None),  # no such page in any layout
    ("/zh-Hant/site/zh-Hant/pages/intl/a1.html", None),
    ("/pages/intl/" + "9" * 300 + ".md", None),
])
def test_page_paths_are_normalised_or_refused(path, key):
    assert page_key(path) == key


def test_a_prefix_must_be_there():
    assert page_key("/goodnews/pages/intl/a1.md", "/goodnews/") == "pages/intl/a1.md"
    assert page_key("/pages/intl/a1.md", "/goodnews/") is None


def test_the_addresses_of_one_ipv6_line_are_one_reader():
    c = counter(dedupe_window=1800, rate_limit=0)
    results = [c.hit("pages/a/1.md", f"2001:db8:1:2::{i:x}", NOON) for i in range(1, 1001)]
    assert results.count("counted") == 1
    assert c.hit("pages/a/1.md", "2001:db8:1:3::1", NOON) == "counted"  # another /64: another reader
    assert c.hit("pages/a/1.md", "not-an-address", NOON) == "counted"


def test_what_cannot_be_written_is_held_up_to_a_bound(monkeypatch):
    import newsmirror.counter.service as service

    monkeypatch.setattr(service, "MAX_HELD", 50)
    c = counter(dedupe_window=0, rate_limit=0)
    results = [c.hit(f"pages/a/{i}.md", "192.0.2.1", NOON) for i in range(80)]
    assert results.count("counted") == 50 and len(c.pending) == 50
    assert c.hit("pages/a/1.md", "192.0.2.1", NOON) == "counted"  # a page already held still counts


def test_ipv4_readers_seen_through_ipv6_stay_apart():
    c = counter(dedupe_window=1800, rate_limit=0)
    assert [c.hit("pages/a/1.md", f"::ffff:192.0.2.{i}", NOON) for i in range(1, 51)].count("counted") == 50
    assert [c.hit("pages/a/1.md", f"64:ff9b::198.51.100.{i}", NOON) for i in range(1, 51)].count("counted") == 50
    assert c.hit("pages/a/1.md", "192.0.2.7", NOON) == "repeat"  # the same reader as ::ffff:192.0.2.7


def test_pairs_being_written_count_against_the_bound(monkeypatch):
    import newsmirror.counter.service as service

    monkeypatch.setattr(service, "MAX_HELD", 50)
    c = counter(dedupe_window=0, rate_limit=0)
    c.writing = 40  # a write of 40 pairs that may fail and put them back
    assert [c.hit(f"pages/a/{i}.md", "192.0.2.1", NOON) for i in range(30)].count("counted") == 10


def test_log_lines_lose_the_address_and_what_a_client_sent_but_our_own_errors_keep_their_traceback():
    import logging
    import sys

    from aiohttp.http_exceptions import BadHttpMessage

    from newsmirror.counter.service import _ANONYMOUS

    def record(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            info = sys.exc_info()
        return logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s",
                                 ("203.0.113.9",), info)

    bad = record(BadHttpMessage("Invalid header token: b'secret-reader'"))
    assert _ANONYMOUS.filter(bad) and bad.exc_info is None
    assert "203.0.113.9" not in bad.getMessage() and "secret" not in bad.getMessage()
    ours = record(RuntimeError("database is locked"))
    assert _ANONYMOUS.filter(ours) and ours.exc_info is not None and "203.0.113.9" not in ours.getMessage()
