"""Listing sources: section fronts on the demo site, links picked by CSS selector or regex."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from newsmirror.config import Fetch, ListingSource
from newsmirror.demo.server import DEMO_SITE, SiteServer
from newsmirror.fetch import Fetcher
from newsmirror.models import Candidate
from newsmirror.sources import SourceError, discover_source
from newsmirror.sources.listing import parse_listing
from tests.conftest import SuccessiveRuns, conditional, discover, serve_base

FAST = Fetch(retries=0, backoff=0, connect_timeout=2, read_timeout=3, total_timeout=10)
CULTURE = "/news/culture/index.html"
ARTICLES = {
    "n3003": "/news/culture/2024/05/06/n3003.html",
    "n3002": "/news/culture/2024/05/05/n3002.html",
    "n3001": "/news/culture/2024/05/03/n3001.html",
}



@pytest.fixture(scope="module")
def shared_site() -> Iterator[SiteServer]:
    with SiteServer(DEMO_SITE) as s:
        yield s


@pytest.fixture
def demo_server(shared_site: SiteServer) -> SiteServer:
    """The demo site, started once for this module; its request log starts empty in each test."""
    shared_site.requests.clear()
    return shared_site


def run(source: ListingSource, root: Path) -> list[Candidate]:
    async def go() -> list[Candidate]:
        async with Fetcher(FAST) as f:
            return await discover(source, f, root)

    return asyncio.run(go())


def culture(base: str, **kw: object) -> ListingSource:
    kw.setdefault("link_selector", "ul.article-list a")
    return ListingSource(name="demo-culture", kind="listing", url=base + CULTURE, category="culture", **kw)


def test_listing_selector_follows_next_pages(demo_server: SiteServer, tmp_path: Path):
    found = run(culture(demo_server.base, max_pages=3), tmp_path)
    base = demo_server.base
    assert [c.url for c in found] == [base + ARTICLES[k] for k in ("n3003", "n3002", "n3001")]
    assert [c.title for c in found] == [
        "白鹭湖龙舟邀请赛落幕 二十四支队伍同场竞渡",
        "青禾剧团复排话剧《远山灯火》 5月18日首演",
        "澄溪古镇举办首届纸艺双年展 百余件作品亮相老粮仓",
    ]
    assert not any("/news/intl/" in c.url for c in found)  # the sidebar's hot news is not taken
    assert all(c.category == "culture" and c.source == "demo-culture" and not c.pick for c in found)
    # page 2 has no next link: two pages fetched although three were allowed
    assert [p for p in demo_server.requests if p != "/robots.txt"] == [CULTURE, "/news/culture/index-2.html"]


def test_listing_max_pages_one(demo_server: SiteServer, tmp_path: Path):
    found = run(culture(demo_server.base), tmp_path)  # max_pages defaults to 1
    assert [c.url for c in found] == [demo_server.base + ARTICLES[k] for k in ("n3003", "n3002")]
    assert [p for p in demo_server.requests if p != "/robots.txt"] == [CULTURE]


def test_listing_link_pattern_instead_of_selector(demo_server: SiteServer, tmp_path: Path):
    source = culture(demo_server.base, link_selector=None, link_pattern=r"/news/culture/\d{4}/\d\d/\d\d/n\d+\.html$",
                     max_pages=2)
    found = run(source, tmp_path)
    assert [c.url for c in found] == [demo_server.base + ARTICLES[k] for k in ("n3003", "n3002", "n3001")]
    assert found[0].title == "白鹭湖龙舟邀请赛落幕 二十四支队伍同场竞渡"


def test_listing_selector_and_pattern_together(demo_server: SiteServer, tmp_path: Path):
    found = run(culture(demo_server.base, link_pattern=r"/n3002\.html$", max_pages=2), tmp_path)
    assert [c.url for c in found] == [demo_server.base + ARTICLES["n3002"]]


def test_listing_selector_on_container_takes_its_link(demo_server: SiteServer, tmp_path: Path):
    found = run(culture(demo_server.base, link_selector="h3.item-title"), tmp_path)
    assert [c.url for c in found] == [demo_server.base + ARTICLES[k] for k in ("n3003", "n3002")]


def test_listing_next_selector(demo_server: SiteServer, tmp_path: Path):
    found = run(culture(demo_server.base, next_selector=".pagination a.page", max_pages=3), tmp_path)
    assert [c.url for c in found] == [demo_server.base + ARTICLES[k] for k in ("n3003", "n3002", "n3001")]


def test_listing_nothing_matches_is_a_source_error(demo_server: SiteServer, tmp_path: Path):
    with pytest.raises(SourceError) as ei:
        run(culture(demo_server.base, link_selector="div.no-such-list a", max_pages=2), tmp_path)
    msg = str(ei.value)
    assert CULTURE in msg
    assert "demo-culture" in msg and "link_selector" in msg


def test_listing_pattern_matches_nothing(demo_server: SiteServer, tmp_path: Path):
    source = culture(demo_server.base, link_selector=None, link_pattern=r"/no-such-section/")
    with pytest.raises(SourceError, match="no article links matched"):
        run(source, tmp_path)


# -- odd pages, served by a local aiohttp app

XHTML = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>列表</title></head>
<body><ul class="list"><li><a href="/a/1.html">第一篇</a></li><li><a href="a/2.html?utm_medium=x">第二篇</a></li>
<li><a href="javascript:void(0)">不是文章</a></li><li><a>没有 href</a></li></ul>
<a rel="next" href="/page-2.html">下一页</a></body></html>
"""

LOOP_PAGE = """<html><body><ul class="list"><li><a href="/loop/{n}.html">文章 {n}</a></li></ul>
<a rel="next" href="{next}">下一页</a></body></html>"""


def listing_app() -> web.Application:
    app = web.Application()

    async def xhtml(request: web.Request) -> web.Response:
        return web.Response(text=XHTML, content_type="application/xhtml+xml", charset="utf-8")

    async def page2(request: web.Request) -> web.Response:
        return web.Response(text='<ul class="list"><li><a href="/a/3.html">第三篇</a></li></ul>',
                            content_type="text/html", charset="utf-8")

    async def comment_only(request: web.Request) -> web.Response:
        return web.Response(text="<!-- nothing here -->", content_type="text/html", charset="utf-8")

    async def loop_a(request: web.Request) -> web.Response:
        return web.Response(text=LOOP_PAGE.format(n=1, next="/loop-b.html"), content_type="text/html")

    async def loop_b(request: web.Request) -> web.Response:
        return web.Response(text=LOOP_PAGE.format(n=2, next="/loop-a.html"), content_type="text/html")

    async def broken_next(request: web.Request) -> web.Response:
        return web.Response(text=LOOP_PAGE.format(n=1, next="/broken-2.html"), content_type="text/html")

    async def broken_2(request: web.Request) -> web.Response:
        raise web.HTTPInternalServerError()

    async def front_with_etag(request: web.Request) -> web.Response:
        return web.Response(text=LOOP_PAGE.format(n=1, next="/unsolicited-304.html"), content_type="text/html",
                            headers={"ETag": '"v1"'})

    async def unsolicited_304(request: web.Request) -> web.Response:
        return web.Response(status=304)

    app.router.add_get("/front-etag.html", front_with_etag)
    app.router.add_get("/unsolicited-304.html", unsolicited_304)
    app.router.add_get("/xhtml.html", xhtml)
    app.router.add_get("/page-2.html", page2)
    app.router.add_get("/comment.html", comment_only)
    app.router.add_get("/loop-a.html", loop_a)
    app.router.add_get("/loop-b.html", loop_b)
    app.router.add_get("/broken-next.html", broken_next)
    app.router.add_get("/broken-2.html", broken_2)
    return app


def discover_from_app(path: str, **kw: object) -> tuple[list[Candidate], str]:
    kw.setdefault("link_selector", "ul.list a")

    async def go() -> tuple[list[Candidate], str]:
        async with serve_base(listing_app()) as base, Fetcher(FAST) as f:
            source = ListingSource(name="odd", kind="listing", url=base + path, category="intl", **kw)
            return await discover(source, f, Path(".")), base

    return asyncio.run(go())


def test_xhtml_listing_with_xml_declaration():
    found, base = discover_from_app("/xhtml.html", max_pages=2)
    assert [(c.url, c.title) for c in found] == [
        (f"{base}/a/1.html", "第一篇"), (f"{base}/a/2.html", "第二篇"), (f"{base}/a/3.html", "第三篇"),
    ]


def test_listing_page_without_elements_is_a_source_error_not_a_crash():
    with pytest.raises(SourceError, match="no article links matched"):
        discover_from_app("/comment.html")


def test_listing_pagination_loop_stops():
    found, base = discover_from_app("/loop-a.html", max_pages=10)
    assert [c.url for c in found] == [f"{base}/loop/1.html", f"{base}/loop/2.html"]


def test_parse_listing_blank_page():
    source = ListingSource(name="x", kind="listing", url="https://news.example/", category="intl", link_pattern="a")
    assert parse_listing("   \n", "https://news.example/", source) == ([], None)


def test_a_link_that_is_not_a_url_is_skipped():
    source = ListingSource(name="l", kind="listing", url="https://news.example/", category="intl",
                           link_pattern=r"\.html$")
    html = ('<a href="http://[oops/x.html">坏</a><a href="http://www..example.com/y.html">坏</a>'
            '<a href="/news/a1.html">好</a><a rel="next" href="http://[oops/p2">下一页</a>')
    found, nxt = parse_listing(html, "https://news.example/", source)
    assert [c.url for c in found] == ["https://news.example/news/a1.html"] and nxt is None


def test_a_later_page_that_fails_keeps_the_links_of_the_pages_before_it():
    found, base = discover_from_app("/broken-next.html", max_pages=3)
    assert [c.url for c in found] == [f"{base}/loop/1.html"]


def test_a_later_page_answering_304_unasked_keeps_the_links_and_the_front_page_is_read_in_full_next_time():
    async def go():
        async with serve_base(listing_app()) as base, Fetcher(FAST) as f:
            source = ListingSource(name="odd", kind="listing", url=base + "/front-etag.html", category="intl",
                            link_selector="ul.list a", max_pages=3)
            return await discover_source(source, f, Path("."), lambda url: (None, None)), base

    found, base = asyncio.run(go())
    assert [c.url for c in found.candidates] == [f"{base}/loop/1.html"]
    assert found.validators[f"{base}/front-etag.html"] == (None, None)  # no ETag kept: no 304 skips page 2


def test_a_backlog_drains_over_runs_across_the_pages_of_a_listing():
    """`limit` counts the URLs that still need work, over all the pages read: 7 new links on two pages with
    limit = 3 give 3, 3, 1, then nothing. The front page is read in full while some are left (its 304 would
    hide them for good), conditionally once drained."""
    asked: list[bool] = []

    async def front(request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="/a/{i}.html">第{i}篇</a></li>' for i in range(1, 5))
        text = f'<ul class="list">{links}</ul><a rel="next" href="/page-2.html">下一页</a>'
        return conditional(request, text, 1, "text/html", asked)

    async def page2(request: web.Request) -> web.Response:
        links = "".join(f'<li><a href="/a/{i}.html">第{i}篇</a></li>' for i in range(5, 8))
        return web.Response(text=f'<ul class="list">{links}</ul>', content_type="text/html")

    async def go():
        app = web.Application()
        app.router.add_get("/front.html", front)
        app.router.add_get("/page-2.html", page2)
        async with serve_base(app) as base, Fetcher(FAST) as f:
            src = ListingSource(name="odd", kind="listing", url=base + "/front.html", category="intl",
                         link_selector="ul.list a", max_pages=2, limit=3)
            runs = SuccessiveRuns(src, f)
            return [await runs.next() for _ in range(4)], base

    found, base = asyncio.run(go())
    assert [[c.url.removeprefix(base + "/a/") for c in d.candidates] for d in found] == [
        ["1.html", "2.html", "3.html"], ["4.html", "5.html", "6.html"], ["7.html"], []]
    assert asked == [False, False, False, True]
    assert found[3].not_modified == [base + "/front.html"]
