from __future__ import annotations

import pytest

from newsmirror.ids import absolute_url, article_id, normalise_url, safe_id, url_id


@pytest.mark.parametrize("url, expected", [
    ("https://www.ntdtv.com/gb/2023/01/01/a103612902.html", "a103612902"),
    ("https://news.example/world/2024/05/02/n2001.shtml", "n2001"),
    ("https://news.example/article.php?id=12345", "id12345"),
    ("https://news.example/news/", None),
    ("https://news.example/2024/05/index.html", None),
    ("https://news.example/story/some-long-slug", None),
    ("https://news.example/a/..%2F..%2Fetc.html", None),
])
def test_url_id(url, expected):
    assert url_id(url) == expected


def test_article_id_is_stable_unique_and_path_safe():
    url = "https://x.example/a/2024/a1.html"
    assert article_id(url) == "a1"
    taken = {"a1"}
    other = article_id("https://y.example/a/a1.html", lambda i: i in taken)
    assert other != "a1" and other.startswith("a1-") and safe_id(other)
    assert article_id("https://y.example/a/a1.html", lambda i: i in taken) == other  # stable
    h = article_id("https://x.example/story/slug-without-digits")
    assert h.startswith("h") and len(h) == 13 and safe_id(h)
    for bad in ("..", "a/b", "a\x00", "", "a b"):
        with pytest.raises(ValueError):
            safe_id(bad)


def test_normalise_url_drops_fragments_tracking_and_default_ports():
    assert normalise_url("HTTPS://News.Example:443/a.html?utm_source=x&id=3#top") == "https://news.example/a.html?id=3"
    assert normalise_url("http://x.example") == "http://x.example/"


@pytest.mark.parametrize("link, expected", [
    ("/a/1.html?utm_source=x#top", "https://news.example/a/1.html"),
    ("HTTP://News.Example:80/b", "http://news.example/b"),
    ("mailto:someone@news.example", None),
    ("javascript:void(0)", None),
    ("http://[oops/c.html", None),  # an IPv6 address left open
    ("http://www..example.com/d", None),  # an empty host label
    ("http://" + "x" * 64 + ".example/e", None),  # a host label over 63 characters
    ("http://[::1]:8080/f", "http://[::1]:8080/f"),
])
def test_absolute_url_gives_a_fetchable_url_or_none(link, expected):
    assert absolute_url("https://news.example/list/", link) == expected


def test_absolute_url_can_leave_a_url_as_it_is():
    assert absolute_url("https://news.example/", "/sitemap.xml?from=1", normalise=False) == \
        "https://news.example/sitemap.xml?from=1"


def test_normalising_keeps_the_query_as_it_was_written():
    gbk = "http://news.example/search.asp?kw=%B1%B1%BE%A9&page=2"  # 北京 in GBK
    assert normalise_url(gbk) == gbk
    assert normalise_url("http://news.example/search.asp?kw=%C3%C0%B9%FA") != normalise_url(
        "http://news.example/search.asp?kw=%B1%B1%BE%A9")
    assert normalise_url("http://news.example/show.asp?12345") == "http://news.example/show.asp?12345"
    assert normalise_url("http://news.example/a?id=1&utm_source=x&from=rss&b=c+d") == "http://news.example/a?id=1&b=c+d"


def test_origin_of_is_all_that_urlsplit_reads_scheme_host_and_port_from():
    from urllib.parse import urlsplit

    from newsmirror.ids import host_of, origin_of

    for url in ["https://News.Example:8443/a/b.html?x=1#y", "http://news.example?id=3", "http://u:p@h.example/",
                "http://h.example#top", "HTTP://H.EXAMPLE/x", "http://[::1]:8080/a", "http://h.ex\tample/a"]:
        origin, parts = origin_of(url), urlsplit(url)
        assert (urlsplit(origin).scheme, urlsplit(origin).netloc) == (parts.scheme, parts.netloc), url
        assert host_of(url) == host_of(origin) == (parts.hostname or "")
    assert origin_of("http://h.ex\tample/a") == "http://h.ex\tample/a"  # read by urlsplit itself
    assert origin_of("javascript:void(0)") == "javascript:void(0)"
