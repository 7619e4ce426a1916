"""RSS / Atom sources, fetched from real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from newsmirror.config import FeedSource, Fetch
from newsmirror.demo.server import SiteServer
from newsmirror.fetch import Fetcher
from newsmirror.models import Candidate
from newsmirror.sources import SourceError
from newsmirror.sources.feed import parse_feed
from tests.conftest import NTD, SuccessiveRuns, conditional, discover, serve_base

FAST = Fetch(retries=0, backoff=0, connect_timeout=2, read_timeout=3, total_timeout=10)

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>示例 Atom</title>
  <id>urn:example:feed</id>
  <updated>2024-05-08T10:00:00Z</updated>
  <entry>
    <title>  第一篇：相对链接  </title>
    <id>urn:example:1</id>
    <link rel="alternate" type="text/html" href="/news/2024/05/08/a1.html"/>
    <published>2024-05-08T09:30:00+08:00</published>
    <updated>2024-05-08T10:00:00Z</updated>
  </entry>
  <entry>
    <title>第二篇：绝对链接</title>
    <id>{base}/news/2024/05/07/a2.html</id>
    <link rel="alternate" href="{base}/news/2024/05/07/a2.html?utm_source=feed#top"/>
    <updated>2024-05-07T12:00:00Z</updated>
  </entry>
  <entry>
    <title>第三篇：只有 http id</title>
    <id>{base}/news/2024/05/06/a3.html</id>
    <updated>2024-05-06T12:00:00Z</updated>
  </entry>
  <entry>
    <title>没有链接的条目</title>
    <id>urn:example:4</id>
    <updated>2024-05-05T12:00:00Z</updated>
  </entry>
</feed>
"""

EMPTY_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>空</title><link>https://x.example/</link></channel></rss>
"""



def feed_app() -> web.Application:
    app = web.Application()

    async def atom(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.Response(text=ATOM.replace("{base}", base), content_type="application/atom+xml")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/atom.xml")

    async def empty(request: web.Request) -> web.Response:
        return web.Response(text=EMPTY_RSS, content_type="application/rss+xml")

    async def blank(request: web.Request) -> web.Response:
        return web.Response(body=b"", content_type="application/rss+xml")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body><p>这不是一个 feed</p></body></html>", content_type="text/html")

    async def broken(request: web.Request) -> web.Response:
        return web.Response(text="<rss><channel><title>坏了</titl", content_type="application/rss+xml")

    app.router.add_get("/atom.xml", atom)
    app.router.add_get("/old-feed", moved)
    app.router.add_get("/empty.xml", empty)
    app.router.add_get("/blank.xml", blank)
    app.router.add_get("/page.html", html)
    app.router.add_get("/broken.xml", broken)
    return app


def discover_from_app(path: str, kind: str = "atom", **src: object) -> tuple[list[Candidate], str]:
    async def go() -> tuple[list[Candidate], str]:
        async with serve_base(feed_app()) as base, Fetcher(FAST) as f:
            source = FeedSource(name="feed-test", kind=kind, url=base + path, category="intl", **src)
            return await discover(source, f, Path(".")), base

    return asyncio.run(go())


def test_rss_feed_on_demo_site(demo_server: SiteServer, tmp_path: Path):
    source = FeedSource(name="demo-intl", kind="rss", url=f"{demo_server.base}/gb/prog204/feed.xml", category="intl")

    async def go() -> list[Candidate]:
        async with Fetcher(FAST) as f:
            return await discover(source, f, tmp_path)

    found = asyncio.run(go())
    assert [c.url for c in found] == [
        f"{demo_server.base}/news/intl/2024/05/04/n2002.html",
        f"{demo_server.base}/news/intl/2024/05/02/n2001.html",
        f"{demo_server.base}/gb/2023/01/01/a103612902.html",
    ]
    assert [c.title for c in found] == [
        "卡伦山天文台发现一颗新彗星 预计今秋肉眼可见",
        "维尔德港五月罕见降雪 市政部门启动春季寒潮预案",
        "普京邀习近平访俄 中国官媒只字未提",
    ]
    assert [c.published for c in found] == [
        datetime(2024, 5, 4, 6, 40, tzinfo=UTC),
        datetime(2024, 5, 2, 1, 15, tzinfo=UTC),
        datetime(2022, 12, 31, 18, 18, 36, tzinfo=UTC),
    ]
    assert all(c.source == "demo-intl" and c.category == "intl" for c in found)
    assert not any(c.pick for c in found)  # feeds are not editor's picks unless pick = true
    assert [p for p in demo_server.requests if p != "/robots.txt"] == ["/gb/prog204/feed.xml"]


def test_rss_feed_pick_and_limit(demo_server: SiteServer, tmp_path: Path):
    source = FeedSource(name="demo-intl", kind="rss", url=f"{demo_server.base}/gb/prog204/feed.xml", category="intl",
                    pick=True, limit=2)

    async def go() -> list[Candidate]:
        async with Fetcher(FAST) as f:
            return await discover(source, f, tmp_path)

    found = asyncio.run(go())
    assert len(found) == 2
    assert found[0].url.endswith("/n2002.html")
    assert all(c.pick for c in found)


def test_atom_feed():
    found, base = discover_from_app("/atom.xml")
    assert [c.url for c in found] == [
        f"{base}/news/2024/05/08/a1.html",  # relative link resolved on the feed's URL
        f"{base}/news/2024/05/07/a2.html",  # tracking parameter and fragment dropped
        f"{base}/news/2024/05/06/a3.html",  # no link: the http(s) id is used
    ]
    assert [c.title for c in found] == ["第一篇：相对链接", "第二篇：绝对链接", "第三篇：只有 http id"]
    assert found[0].published == datetime(2024, 5, 8, 1, 30, tzinfo=UTC)
    assert found[0].updated == datetime(2024, 5, 8, 10, 0, tzinfo=UTC)
    assert found[1].published is None
    assert found[1].updated == datetime(2024, 5, 7, 12, 0, tzinfo=UTC)


def test_feed_behind_redirect_resolves_on_final_url():
    found, base = discover_from_app("/old-feed")
    assert found[0].url == f"{base}/news/2024/05/08/a1.html"


@pytest.mark.parametrize("path", ["/empty.xml", "/blank.xml", "/page.html", "/broken.xml"])
def test_feed_without_entries_is_a_source_error(path):
    with pytest.raises(SourceError) as ei:
        discover_from_app(path, kind="rss")
    msg = str(ei.value)
    assert path in msg
    assert "no entries" in msg
    assert "sources.url" in msg


def test_parse_feed_skips_non_http_links():
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>mail</title><link>mailto:editor@example.com</link></item>
      <item><title>js</title><link>javascript:alert(1)</link></item>
      <item><title>ok</title><link>https://News.Example/a/1.html#x</link></item>
    </channel></rss>"""
    source = FeedSource(name="f", kind="rss", url="https://news.example/feed", category="intl")
    found = parse_feed(body, "https://news.example/feed", source)
    assert [(c.title, c.url) for c in found] == [("ok", "https://news.example/a/1.html")]


RSS1 = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/"><title>RDF</title><link>https://rdf.example/</link></channel>
  <item rdf:about="https://rdf.example/a1.html"><title>第一篇</title><link>https://rdf.example/a1.html</link>
    <dc:date>2024-05-08T09:30:00+08:00</dc:date></item>
  <item rdf:about="https://rdf.example/a2.html"><title><![CDATA[第二篇 <CDATA>]]></title>
    <link>
      https://rdf.example/a2.html?utm_source=rss
    </link></item>
</rdf:RDF>
"""

RSS2 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dcterms="http://purl.org/dc/terms/">
<channel><title>频道</title><link>https://rss.example/</link>
  <item><title>有链接</title><link>https://rss.example/n1.html</link><guid>n1</guid>
    <pubDate>Sat, 04 May 2024 14:40:00 +0800</pubDate><atom:updated>2024-05-05T00:00:00Z</atom:updated></item>
  <item><title>只有 guid</title><guid>https://rss.example/n2.html</guid>
    <pubDate>Thu, 02 May 2024 01:15:00 GMT</pubDate></item>
  <item><title>guid 不是链接</title><guid isPermaLink="false">https://rss.example/n3.html</guid></item>
  <item><title>相对链接</title><link>/n4.html</link><dcterms:modified>2024-05-01T08:00:00+02:00</dcterms:modified>
  </item>
  <item><title>  空白  标题 </title><link>https://rss.example/n5.html#c</link></item>
</channel></rss>
"""


def _feeds() -> dict[str, bytes]:
    root = Path(__file__).resolve().parents[2]
    return {
        "atom": ATOM.replace("{base}", "https://atom.example").encode(),
        "rss1": RSS1.encode(),
        "rss2": RSS2.encode(),
        "demo": (root / "src/newsmirror/demo/site/gb/prog204/feed.xml").read_bytes(),
        "fixture": (NTD / "feed.xml").read_bytes(),
    }


@pytest.mark.parametrize("name", sorted(_feeds()))
def test_the_fast_feed_reader_agrees_with_feedparser(name, monkeypatch):
    """Well-formed feeds are read with lxml; feedparser, which reads every other feed, is the reference."""
    from newsmirror.sources import feed

    body = _feeds()[name]
    source = FeedSource(name="f", kind="rss", url="https://feeds.example/feed.xml", category="intl")
    assert feed._lxml_entries(body)  # the fast reader took it
    fast = parse_feed(body, "https://feeds.example/feed.xml", source)

    def unusual(_body: bytes) -> list:
        raise feed._Unusual

    monkeypatch.setattr(feed, "_lxml_entries", unusual)
    assert fast == parse_feed(body, "https://feeds.example/feed.xml", source)
    assert fast and all(c.url.startswith("https://") for c in fast)


def test_feeds_the_fast_reader_leaves_to_feedparser():
    from newsmirror.sources import feed

    for body in (b"<rss><channel><title>broken</titl", b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/x/">'
                 b"<entry><id>1</id><link href='a.html'/></entry></feed>",
                 RSS2.replace("<title>有链接</title>", "<title>A &amp;amp; B</title>").encode(),
                 RSS2.replace("Thu, 02 May 2024 01:15:00 GMT", "2024年5月2日").encode()):
        with pytest.raises(feed._Unusual):
            feed._lxml_entries(body)
    source = FeedSource(name="f", kind="rss", url="https://feeds.example/feed.xml", category="intl")
    found = parse_feed(RSS2.replace("<title>有链接</title>", "<title>A &amp;amp; B</title>").encode(),
                       "https://feeds.example/feed.xml", source)
    assert found[0].title == "A &amp; B" and len(found) == 5  # feedparser read it, as before


def test_an_item_that_is_not_a_url_or_has_an_impossible_date_costs_only_itself():
    """One broken item (an IPv6 address left open, a host with an empty label, the year 1 with an offset)
    must not take the feed's other items with it, nor stop the run."""
    rss = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"
      xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>f</title>
      <item><title>坏链接</title><link>http://[oops/a.html</link></item>
      <item><title>空标签主机</title><link>http://www..example.com/b.html</link></item>
      <item><title>远古日期</title><link>https://news.example/c.html</link><dc:date>0001-01-01T00:00:00+01:00</dc:date></item>
      <item><title>好的</title><link>https://news.example/d.html</link>
        <pubDate>Wed, 08 May 2024 09:30:00 +0800</pubDate></item>
    </channel></rss>"""
    source = FeedSource(name="f", kind="rss", url="https://news.example/feed", category="intl")
    found = parse_feed(rss.encode(), "https://news.example/feed", source)
    assert [c.url for c in found] == ["https://news.example/c.html", "https://news.example/d.html"]
    assert found[0].published is None and found[1].published == datetime(2024, 5, 8, 1, 30, tzinfo=UTC)


def test_a_backlog_drains_over_runs_and_the_feed_is_read_in_full_until_it_has():
    """`limit` counts the URLs that still need work: a feed of 7 new articles with limit = 3 gives 3, 3, 1, then
    nothing. While some are left it is asked for in full (no If-None-Match / If-Modified-Since), or its 304
    would hide them for good; once drained it is asked conditionally again."""
    feed = {"n": 7}
    asked: list[bool] = []

    async def rss(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        items = "".join(f"<item><title>第{i}篇</title><link>{base}/a/{i}.html</link></item>"
                        for i in range(feed["n"], 0, -1))  # newest first
        return conditional(request, f'<rss version="2.0"><channel><title>f</title>{items}</channel></rss>',
                           feed["n"], "application/rss+xml", asked)

    async def go():
        app = web.Application()
        app.router.add_get("/feed.xml", rss)
        async with serve_base(app) as base, Fetcher(FAST) as f:
            runs = SuccessiveRuns(FeedSource(name="f", kind="rss", url=base + "/feed.xml", category="intl", limit=3), f)
            found = [await runs.next() for _ in range(4)]
            feed["n"] = 9  # two more
            found.append(await runs.next())
            return found, base

    found, base = asyncio.run(go())
    assert [[c.url.removeprefix(base + "/a/") for c in d.candidates] for d in found] == [
        ["7.html", "6.html", "5.html"], ["4.html", "3.html", "2.html"], ["1.html"], [], ["9.html", "8.html"]]
    assert [d.more for d in found] == [True, True, False, False, False]
    assert asked == [False, False, False, True, True]
    assert found[3].not_modified == [base + "/feed.xml"]  # drained and unchanged: a 304
