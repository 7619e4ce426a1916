"""Sitemap sources: indexes, gzip, Google News, robots.txt discovery, caps, age filter, conditional GET."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from newsmirror.config import Fetch, SitemapSource
from newsmirror.fetch import Fetcher
from newsmirror.sources import SourceError, discover_source
from tests.conftest import SuccessiveRuns, conditional, discover, serve_base

FAST = Fetch(retries=0, backoff=0, connect_timeout=2, read_timeout=3, total_timeout=10)
NOW = datetime.now(UTC)


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def urlset(base: str, entries: list[tuple[str, float | None]], news: bool = False) -> str:
    rows = []
    for path, age in entries:
        date = ""
        if age is not None:
            date = (f"<news:news><news:publication_date>{iso(age)}</news:publication_date>"
                    f"<news:title>标题{path}</news:title></news:news>") if news else f"<lastmod>{iso(age)}</lastmod>"
        rows.append(f"<url><loc>{base}{path}</loc>{date}</url>")
    ns = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"' if news else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
            f'{ns}>{"".join(rows)}</urlset>')


def make_app(hits: dict[str, int]) -> web.Application:
    app = web.Application()

    def count(request: web.Request) -> str:
        hits[request.path] = hits.get(request.path, 0) + 1
        return f"{request.scheme}://{request.host}"

    async def robots(request: web.Request) -> web.Response:
        base = count(request)
        return web.Response(text=f"User-agent: *\nAllow: /\nSitemap: {base}/sitemap_index.xml\n")

    async def index(request: web.Request) -> web.Response:
        base = count(request)
        body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{base}/news.xml.gz</loc><lastmod>{iso(0.1)}</lastmod></sitemap>"
                f"<sitemap><loc>{base}/old.xml</loc><lastmod>{iso(400)}</lastmod></sitemap>"
                f"<sitemap><loc>{base}/nested_index.xml</loc></sitemap></sitemapindex>")
        return web.Response(text=body, content_type="application/xml")

    async def news_gz(request: web.Request) -> web.Response:
        base = count(request)
        xml = urlset(base, [("/a/1.html", 0.2), ("/a/2.html", 1), ("/a/old.html", 30)], news=True)
        return web.Response(body=gzip.compress(xml.encode()), content_type="application/x-gzip")

    async def old(request: web.Request) -> web.Response:
        base = count(request)
        return web.Response(text=urlset(base, [("/a/ancient.html", 400)]), content_type="application/xml")

    async def nested(request: web.Request) -> web.Response:
        base = count(request)
        body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{base}/deep.xml</loc></sitemap></sitemapindex>")
        return web.Response(text=body, content_type="application/xml")

    async def deep(request: web.Request) -> web.Response:
        base = count(request)
        return web.Response(text=urlset(base, [("/a/deep.html", None)]), content_type="application/xml")

    async def plain(request: web.Request) -> web.Response:
        base = count(request)
        etag = '"v1"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        return web.Response(text=urlset(base, [("/a/p1.html", 0.5), ("/a/p2.html", None)]),
                            content_type="application/xml", headers={"ETag": etag})

    async def bomb(request: web.Request) -> web.Response:
        count(request)
        xml = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol2;</loc></url></urlset>')
        return web.Response(text=xml, content_type="application/xml")

    async def many(request: web.Request) -> web.Response:
        base = count(request)
        body = '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(
            f"<sitemap><loc>{base}/m{i}.xml</loc></sitemap>" for i in range(50)) + "</sitemapindex>"
        return web.Response(text=body, content_type="application/xml")

    async def m(request: web.Request) -> web.Response:
        base = count(request)
        return web.Response(text=urlset(base, [(f"/a{request.path}.html", 0.1)]), content_type="application/xml")

    for path, h in {"/robots.txt": robots, "/sitemap_index.xml": index, "/news.xml.gz": news_gz, "/old.xml": old,
                    "/nested_index.xml": nested, "/deep.xml": deep, "/plain.xml": plain, "/bomb.xml": bomb,
                    "/many.xml": many}.items():
        app.router.add_get(path, h)
    app.router.add_get("/m{n}.xml", m)
    return app


def source(url: str, **kw) -> SitemapSource:
    return SitemapSource(name="sm", kind="sitemap", url=url, category="intl", **kw)


def run(coro_fn):
    return asyncio.run(coro_fn())


def test_robots_discovery_index_gzip_news_and_age_filter():
    hits: dict[str, int] = {}

    async def go():
        async with serve_base(make_app(hits)) as base, Fetcher(FAST) as f:
            return await discover(source(base + "/", max_age_days=3), f, Path(".")), base

    cands, base = run(go)
    urls = [c.url for c in cands]
    assert urls[:2] == [f"{base}/a/1.html", f"{base}/a/2.html"]  # newest first
    assert f"{base}/a/old.html" not in urls and f"{base}/a/ancient.html" not in urls  # older than 3 days
    assert f"{base}/a/deep.html" in urls  # undated URLs are taken
    assert cands[0].title == "标题/a/1.html" and cands[0].published is not None
    assert "/old.xml" not in hits  # an index entry older than the window is not fetched


def test_max_depth_and_max_sitemaps_bound_the_crawl():
    hits: dict[str, int] = {}

    async def go():
        async with serve_base(make_app(hits)) as base, Fetcher(FAST) as f:
            shallow = await discover(source(base + "/sitemap_index.xml", max_depth=2), f, Path("."))
            capped = await discover(source(base + "/many.xml", max_sitemaps=5, limit=1000), f, Path("."))
            return shallow, capped, base

    shallow, capped, base = run(go)
    assert f"{base}/a/deep.html" not in [c.url for c in shallow]  # three levels down
    assert "/deep.xml" not in hits
    assert len(capped) == 4 and sum(1 for p in hits if p.startswith("/m")) == 5  # the index + 4 sitemaps


def test_entity_bomb_is_refused_and_conditional_get_parses_nothing_on_304():
    hits: dict[str, int] = {}

    async def go():
        async with serve_base(make_app(hits)) as base, Fetcher(FAST) as f:
            with pytest.raises(SourceError, match="entities"):
                await discover(source(base + "/bomb.xml"), f, Path("."))
            first = await discover_source(source(base + "/plain.xml"), f, Path("."))
            saved = first.validators
            again = await discover_source(source(base + "/plain.xml"), f, Path("."),
                                          lambda u: saved.get(u, (None, None)))
            return first, again, base

    first, again, base = run(go)
    assert [c.url for c in first.candidates] == [f"{base}/a/p1.html", f"{base}/a/p2.html"]
    assert first.validators == {f"{base}/plain.xml#urlset": ('"v1"', None)}
    assert again.candidates == [] and again.not_modified == [f"{base}/plain.xml"]
    assert hits["/plain.xml"] == 2


def test_a_loc_that_is_not_a_url_is_skipped():
    from newsmirror.sources.sitemap import parse_sitemap

    body = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>http://[oops/a.html</loc></url><url><loc>https://news.example/b.html</loc></url></urlset>"""
    children, pages = parse_sitemap(body, "https://news.example/sitemap.xml", 10**6)
    assert children == [] and [p[0] for p in pages] == ["https://news.example/b.html"]
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>http://www..example.com/s1.xml</loc></sitemap><sitemap><loc>/s2.xml</loc></sitemap></sitemapindex>"""
    children, pages = parse_sitemap(index, "https://news.example/sitemap.xml", 10**6)
    assert [c[0] for c in children] == ["https://news.example/s2.xml"] and pages == []


def test_a_sitemap_index_is_read_every_run_so_that_what_its_sitemaps_gain_is_found():
    """The index is a static file (its ETag never changes); the news sitemap it lists gains articles."""
    news = {"paths": [("/a/s1.html", 0.1)], "etag": '"n1"'}
    hits: dict[str, int] = {}

    def app() -> web.Application:
        a = web.Application()

        async def index(request: web.Request) -> web.Response:
            hits["index"] = hits.get("index", 0) + 1
            if request.headers.get("If-None-Match") == '"i1"':
                return web.Response(status=304)
            base = f"{request.scheme}://{request.host}"
            body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<sitemap><loc>{base}/news.xml</loc></sitemap></sitemapindex>")
            return web.Response(text=body, content_type="application/xml", headers={"ETag": '"i1"'})

        async def news_xml(request: web.Request) -> web.Response:
            if request.headers.get("If-None-Match") == news["etag"]:
                return web.Response(status=304)
            base = f"{request.scheme}://{request.host}"
            return web.Response(text=urlset(base, news["paths"], news=True), content_type="application/xml",
                                headers={"ETag": news["etag"]})

        a.router.add_get("/index.xml", index)
        a.router.add_get("/news.xml", news_xml)
        return a

    async def go():
        saved: dict = {}
        runs = []
        async with serve_base(app()) as base, Fetcher(FAST) as f:
            for change in (None, [("/a/s2.html", 0.05)], None):
                if change:
                    news["paths"] = news["paths"] + change
                    news["etag"] = '"n2"'
                found = await discover_source(source(base + "/index.xml"), f, Path("."),
                                              lambda u: saved.get(u, (None, None)))
                saved.update(found.validators)
                runs.append(([c.url.removeprefix(base) for c in found.candidates], found.not_modified))
            return runs, base, saved

    runs, base, saved = run(go)
    assert runs[0] == (["/a/s1.html"], [])
    assert sorted(runs[1][0]) == ["/a/s1.html", "/a/s2.html"]  # found although the index did not change
    assert runs[2] == ([], [f"{base}/news.xml"])  # nothing new: the news sitemap's 304 parses nothing
    assert hits["index"] == 3 and not any("index.xml" in k for k in saved)  # read whole each time


def test_past_the_deadline_a_sitemap_source_asks_for_its_first_file_only():
    """fetch.max_run_seconds bounds discovery too: an index is read, the sitemaps it lists are left for the
    next run (and said so), instead of being fetched one after another for as long as they take."""
    import time

    hits: dict[str, int] = {}

    async def go():
        async with serve_base(make_app(hits)) as base, Fetcher(FAST) as f:
            with pytest.raises(SourceError) as exc:
                await discover_source(source(base + "/sitemap_index.xml"), f, Path("."),
                                      deadline=time.monotonic() - 1)
            return exc.value

    err = run(go)
    assert hits.get("/sitemap_index.xml") == 1
    assert not any(p in hits for p in ("/news.xml.gz", "/old.xml", "/nested_index.xml"))
    assert "fetch.max_run_seconds" in str(err)


def test_a_backlog_drains_over_runs_newest_first_across_the_sitemaps_of_an_index():
    """`limit` counts the URLs that still need work, newest first across the sitemaps: 7 new ones in two
    files with limit = 3 give 3, 3, 1, then nothing. The files are read in full while some are left (a 304
    would hide them for good), conditionally once drained."""
    asked: dict[str, list[bool]] = {"/a.xml": [], "/b.xml": []}
    ages = {"/a.xml": [0.1, 0.3, 0.5, 0.7], "/b.xml": [0.2, 0.4, 0.6]}

    async def index(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        body = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{base}/a.xml</loc></sitemap><sitemap><loc>{base}/b.xml</loc></sitemap></sitemapindex>")
        return web.Response(text=body, content_type="application/xml")

    async def pages(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        entries = [(f"/p/{age}.html", age) for age in ages[request.path]]
        return conditional(request, urlset(base, entries), 1, "application/xml", asked[request.path])

    async def go():
        app = web.Application()
        app.router.add_get("/index.xml", index)
        app.router.add_get("/{name}.xml", pages)
        async with serve_base(app) as base, Fetcher(FAST) as f:
            runs = SuccessiveRuns(source(base + "/index.xml", limit=3), f)
            return [await runs.next() for _ in range(4)], base

    found, base = run(go)
    assert [[c.url.removeprefix(base + "/p/") for c in d.candidates] for d in found] == [
        ["0.1.html", "0.2.html", "0.3.html"], ["0.4.html", "0.5.html", "0.6.html"], ["0.7.html"], []]
    assert [d.more for d in found] == [True, True, False, False]
    assert asked == {"/a.xml": [False, False, False, True], "/b.xml": [False, False, False, True]}
    assert sorted(found[3].not_modified) == [base + "/a.xml", base + "/b.xml"]
