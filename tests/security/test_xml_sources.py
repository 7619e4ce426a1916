"""Feeds and sitemaps are read with entities off whatever their encoding, and within bounded memory."""

from __future__ import annotations

import pytest

from newsmirror.config import FeedSource, SitemapSource
from newsmirror.sources import SourceError
from newsmirror.sources.feed import MAX_TITLE, parse_feed
from newsmirror.sources.xmlsafe import canonical_xml, decode_xml

SOURCE = FeedSource(name="f", kind="rss", url="http://127.0.0.1:9/feed.xml", category="intl")
BOMB = """<?xml version="1.0" encoding="{enc}"?>
<!DOCTYPE rss [<!ENTITY a "{big}">]>
<rss version="2.0"><channel><title>t</title>
<item><title>&a;&a;&a;&a;&a;&a;&a;&a;</title><link>http://127.0.0.1:9/a/1.html</link></item>
</channel></rss>"""


@pytest.mark.parametrize("enc, label", [
    ("utf-32-le", "UTF-32"), ("utf-32-be", "UTF-32"),  # no byte order mark: the attack that got through
    ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
    ("utf-7", "UTF-7"), ("cp037", "cp037"), ("utf-8", "utf-8"), ("gb18030", "gb18030"),
])
def test_a_feed_that_declares_entities_is_refused_in_any_encoding(enc, label):
    body = BOMB.format(enc=label, big="x" * 1000).encode(enc)
    with pytest.raises(SourceError, match="declares XML entities"):
        parse_feed(body, SOURCE.url, SOURCE)


@pytest.mark.parametrize("enc, label, title", [
    ("utf-32-le", "UTF-32", "新闻标题"), ("utf-16-be", "UTF-16", "新闻标题"), ("gb18030", "gb18030", "新闻标题"),
    ("big5", "big5", "新聞標題"), ("utf-8", "utf-8", "新闻标题"),
])
def test_a_good_feed_reads_the_same_in_any_encoding(enc, label, title):
    feed = BOMB.replace('<!DOCTYPE rss [<!ENTITY a "{big}">]>\n', "").replace("&a;&a;&a;&a;&a;&a;&a;&a;", title)
    (cand,) = parse_feed(feed.format(enc=label).encode(enc), SOURCE.url, SOURCE)
    assert cand.title == title and cand.url == "http://127.0.0.1:9/a/1.html"


def test_the_http_charset_is_used_when_the_feed_declares_none():
    feed = "<rss version='2.0'><channel><title>t</title><item><title>新闻标题</title>" \
           "<link>http://127.0.0.1:9/a/1.html</link></item></channel></rss>"
    assert decode_xml(feed.encode("gbk"), "gbk") == feed
    assert b'encoding="utf-8"' in canonical_xml(b'<?xml version="1.0" encoding="gbk"?><x/>')


def test_every_field_taken_from_a_feed_is_bounded():
    items = (f"<item><title>{'长' * 100_000}</title><link>http://127.0.0.1:9/a/1.html</link></item>"
             f"<item><title>t</title><link>http://127.0.0.1:9/{'x' * 10_000}.html</link></item>")
    cands = parse_feed(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode(),
                       SOURCE.url, SOURCE)
    assert len(cands) == 1 and len(cands[0].title) == MAX_TITLE


def test_sitemaps_are_read_in_bounded_memory_whatever_they_list(tmp_path):
    """An index of sitemaps listing 24,000 pages, to keep 10: what is held stays the few kept (and one file being
    read), not every page listed; Python's own allocations are measured (tracemalloc)."""
    import asyncio
    import tracemalloc

    from aiohttp import web

    from newsmirror.config import Fetch
    from newsmirror.fetch import Fetcher
    from newsmirror.sources import discover_source
    from tests.conftest import serve_base

    per_file, files = 12_000, 2

    async def index(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        body = "".join(f"<sitemap><loc>{base}/s{i}.xml</loc></sitemap>" for i in range(files))
        return web.Response(text=f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}'
                                 "</sitemapindex>", content_type="application/xml")

    async def one(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        urls = "".join(f"<url><loc>http://{request.host}/a/{n}-{i}.html</loc></url>" for i in range(per_file))
        return web.Response(text=f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
                            content_type="application/xml")

    app = web.Application()
    app.router.add_get("/index.xml", index)
    app.router.add_get("/s{n}.xml", one)
    source = SitemapSource(name="sm", kind="sitemap", url="http://127.0.0.1:9/index.xml", category="intl", limit=10)

    async def go():
        async with serve_base(app) as base, Fetcher(Fetch(retries=0)) as f:
            src = source.model_copy(update={"url": f"{base}/index.xml"})
            tracemalloc.start()
            found = await discover_source(src, f, tmp_path)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return found, peak

    found, peak = asyncio.run(go())
    assert len(found.candidates) == 10 and found.more
    assert peak < 8_000_000, f"{peak / 1e6:.1f} MB held to keep 10 of {per_file * files} URLs"
