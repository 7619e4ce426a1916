"""Politeness at the level of a run: robots.txt, Crawl-delay, conditional GET, retries on later runs."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
from aiohttp import web

from newsmirror.store import Store

from .conftest import FAST_FETCH, NTD, conditional, write_config
from .test_pipeline import cli_run

SEED = (NTD / "a103612902.html").read_text(encoding="utf-8")


class Site:
    """An aiohttp site in its own thread: a feed with ETag, three articles, robots.txt; it logs requests."""

    def __init__(self, robots: str, flaky: str | None = None, drips: tuple[str, ...] = ()) -> None:
        self.robots = robots
        self.drips = drips  # these paths answer a byte at a time, 0.05 s apart (20 bytes/s)
        self.robots_status = 200
        self.updated: str | None = None  # when set, every item says it was updated then (and the ETag changes)
        self.flaky = flaky  # this article answers 500 twice (a run retries once), then 200
        self.log: list[tuple[float, str, dict]] = []
        self._failures = 0
        self.base = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Site:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.log]

    def _serve(self) -> None:
        import asyncio

        async def main() -> None:
            self._stop = asyncio.Event()
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            self.base = f"http://127.0.0.1:{port}"
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(main())

    async def _handle(self, request: web.Request) -> web.Response:
        self.log.append((time.monotonic(), request.path, dict(request.headers)))
        if request.path in self.drips:
            return await self._drip(request)
        if request.path == "/robots.txt":
            return web.Response(text=self.robots, status=self.robots_status)
        if request.path == "/feed.xml":
            etag = '"f1"' if self.updated is None else '"f2"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304)
            date = f"<dc:date>{self.updated}</dc:date>" if self.updated else ""
            items = "".join(f"<item><title>t{i}</title><link>{self.base}/a/a10361290{i}.html</link>{date}</item>"
                            for i in range(3))
            return web.Response(text='<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
                                     f"<title>f</title>{items}</channel></rss>",
                                content_type="application/rss+xml", headers={"ETag": etag})
        if request.path.startswith("/a/"):
            if request.path == self.flaky and self._failures < 2:
                self._failures += 1
                return web.Response(status=500)
            n = request.path[-6]
            html = SEED.replace("普京邀习近平访俄 中国官媒只字未提", f"普京邀习近平访俄 中国官媒只字未提 之{n}") \
                .replace("https://www.ntdtv.com/gb/2023/01/01/a103612902.html", f"{self.base}{request.path}") \
                .replace("俄中两国领导人31日互致新年贺电", f"俄中两国领导人31日互致新年贺电（第{n}稿）")
            return web.Response(text=html, content_type="text/html", charset="utf-8")
        return web.Response(status=404)

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        """Headers at once, then 200 of the 5000 bytes announced, one at a time (a bounded loop), and a hang-up."""
        import asyncio

        resp = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8", "Content-Length": "5000"})
        await resp.prepare(request)
        for _ in range(200):
            await resp.write(b" ")
            await asyncio.sleep(0.05)
        return resp


CONFIG = """
[site]
title = "镜像"

[categories.intl]
title = "国际"

[[sources]]
name = "s"
kind = "rss"
url = "{base}/feed.xml"
category = "intl"
{extra}
""" + FAST_FETCH


def config(tmp_path, base: str, extra: str = ""):
    return write_config(tmp_path, CONFIG, base=base, extra=extra)


def test_robots_disallow_is_obeyed_and_the_source_override_warns(tmp_path):
    with Site("User-agent: *\nDisallow: /a/a103612901.html\n") as site:
        (tmp_path / "obey").mkdir()
        cfg = config(tmp_path / "obey", site.base)
        res = cli_run(cfg, "run")
        assert res.exit_code == 1
        assert "/a/a103612901.html" not in site.paths()
        assert "robots.txt" in cli_run(cfg, "status").output
        (tmp_path / "ignore").mkdir()
        cfg2 = config(tmp_path / "ignore", site.base, "obey_robots = false")
        res = cli_run(cfg2, "run")
        assert res.exit_code == 0
        assert "/a/a103612901.html" in site.paths()
        assert res.output.count("ignores robots.txt") == 1


def test_a_robots_txt_that_cannot_be_read_keeps_the_whole_site_out_of_the_run(tmp_path):
    with Site("User-agent: *\nDisallow: /a/a103612901.html\n") as site:
        site.robots_status = 503
        cfg = config(tmp_path, site.base)
        res = cli_run(cfg, "run")
        assert res.exit_code == 1
        assert site.paths() == ["/robots.txt"]  # not the feed, not an article (RFC 9309: a 5xx means disallow all)
        assert "robots.txt" in cli_run(cfg, "status").output
        site.robots_status = 200  # readable again: the next run mirrors what it allows
        assert cli_run(cfg, "run").exit_code == 1  # a103612901 stays disallowed
        assert "/a/a103612900.html" in site.paths() and "/a/a103612901.html" not in site.paths()


def test_a_robots_txt_that_drips_keeps_the_whole_site_out_of_the_run(tmp_path):
    with Site("User-agent: *\nAllow: /\n", drips=("/robots.txt",)) as site:
        cfg = with_floor(config(tmp_path, site.base))
        assert cli_run(cfg, "run").exit_code == 1
        assert site.paths() == ["/robots.txt"]  # cut once; then, as for one that cannot be read, nothing else
        status = cli_run(cfg, "status").output
    assert "too slow" in status and "robots.txt" in status


def test_crawl_delay_spaces_requests_to_a_host(tmp_path):
    with Site("User-agent: *\nCrawl-delay: 0.25\n") as site:
        assert cli_run(config(tmp_path, site.base), "run").exit_code == 0
        times = [t for t, p, _ in site.log if p != "/robots.txt"]
    assert len(times) == 4  # the feed and three articles
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.22


def test_unchanged_feed_costs_a_304_and_failed_articles_are_retried_next_run(tmp_path):
    with Site("User-agent: *\nAllow: /\n", flaky="/a/a103612902.html") as site:
        cfg = config(tmp_path, site.base)
        first = cli_run(cfg, "run")
        assert first.exit_code == 1 and "HTTP 500" in first.output
        site.log.clear()
        second = cli_run(cfg, "run")
        assert second.exit_code == 0, second.output
        feed = [h for _, p, h in site.log if p == "/feed.xml"]
        assert feed and feed[0].get("If-None-Match") == '"f1"'
        assert "not modified" in second.output
        assert [p for p in site.paths() if p.startswith("/a/")] == ["/a/a103612902.html"]  # only the failed one
    assert (tmp_path / "mirror/pages/intl/a103612902.md").exists()


def test_a_run_stops_starting_articles_at_max_run_seconds_and_the_next_run_finishes(tmp_path):
    with Site("User-agent: *\nAllow: /\n") as site:
        cfg = config(tmp_path, site.base)
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text.replace("[fetch]", "[fetch]\nmax_run_seconds = 0.000001"), encoding="utf-8")
        res = cli_run(cfg, "run")
        assert res.exit_code == 0 and "3 left for the next run" in res.output
        assert not (tmp_path / "mirror/pages").exists()
        cfg.write_text(text, encoding="utf-8")
        res = cli_run(cfg, "run")  # the feed answers 304 now; the pending URLs are still fetched
        assert res.exit_code == 0 and "3 new" in res.output


def test_an_update_the_feed_announced_is_fetched_even_if_the_run_stops_first(tmp_path):
    """An item whose date says it changed after we fetched it is due until it is fetched again: a run that
    stops first (killed, or at max_run_seconds) leaves it to the next, even when the feed then answers 304."""
    with Site("User-agent: *\nAllow: /\n") as site:
        cfg = config(tmp_path, site.base)
        text = cfg.read_text(encoding="utf-8")
        assert "3 new" in cli_run(cfg, "run").output
        site.updated = "2099-01-01T00:00:00Z"
        cfg.write_text(text.replace("[fetch]", "[fetch]\nmax_run_seconds = 0.000001"), encoding="utf-8")
        assert "3 left for the next run" in cli_run(cfg, "run").output
        cfg.write_text(text, encoding="utf-8")
        site.log.clear()
        res = cli_run(cfg, "run")
        assert res.exit_code == 0, res.output
        assert "not modified" in res.output  # the feed: 304
        assert sorted(p for p in site.paths() if p.startswith("/a/")) == \
            [f"/a/a10361290{i}.html" for i in range(3)]  # fetched again all the same


class Backlog(Site):
    """The Site with a feed and a sitemap of `items` articles (a10361290{items-1} the newest), each saying when
    it changed by ETag and by Last-Modified and answering 304 to either; `asked` logs, for each request of one,
    whether it was conditional."""

    def __init__(self, items: int) -> None:
        super().__init__("User-agent: *\nAllow: /\n")
        self.items = items
        self.asked: dict[str, list[bool]] = {"/feed.xml": [], "/sitemap.xml": []}

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path not in self.asked:
            return await super()._handle(request)
        self.log.append((time.monotonic(), request.path, dict(request.headers)))
        urls = [f"{self.base}/a/a10361290{i}.html" for i in reversed(range(self.items))]  # newest first
        if request.path == "/feed.xml":
            items = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in urls)
            text = f'<rss version="2.0"><channel><title>f</title>{items}</channel></rss>'
            return conditional(request, text, self.items, "application/rss+xml", self.asked[request.path])
        rows = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
        text = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'
        return conditional(request, text, self.items, "application/xml", self.asked[request.path])


def backlog_config(tmp_path, site: Backlog, kind: str, where: str):
    return write_config(tmp_path, CONFIG.replace('kind = "rss"', f'kind = "{kind}"')
                        .replace('url = "{base}/feed.xml"', where), base=site.base, extra="limit = 3")


def new_in(res) -> int:
    assert res.exit_code == 0, res.output
    return int(re.search(r"(\d+) new", res.output).group(1))


@pytest.mark.parametrize("kind,path", [("rss", "/feed.xml"), ("sitemap", "/sitemap.xml")])
def test_a_backlog_drains_over_runs_and_its_source_is_read_in_full_until_it_has(tmp_path, kind, path):
    """`limit` counts the URLs that still need work: 7 new articles with limit = 3 are mirrored 3, 3, 1, then
    none. While some are left the feed (or sitemap) is asked for in full, since a 304 would hide them for good;
    once drained it is asked conditionally, and its 304 parses nothing."""
    with Backlog(items=7) as site:
        cfg = backlog_config(tmp_path, site, kind, f'url = "{{base}}{path}"')
        runs = [cli_run(cfg, "run") for _ in range(4)]
        assert [new_in(r) for r in runs] == [3, 3, 1, 0]
        assert site.asked[path] == [False, False, False, True]
        assert "not modified" in runs[3].output
        site.items = 9  # two more
        assert new_in(cli_run(cfg, "run")) == 2
        assert sorted(p for p in site.paths() if p.startswith("/a/")) == [f"/a/a10361290{i}.html" for i in range(9)]
    assert len(list((tmp_path / "mirror/pages/intl").glob("*.md"))) == 9


def test_a_url_list_that_grows_past_the_limit_is_mirrored_to_its_last_line(tmp_path):
    with Backlog(items=0) as site:
        cfg = backlog_config(tmp_path, site, "urls", 'path = "picks.txt"')
        picks = tmp_path / "picks.txt"
        picks.write_text("".join(f"{site.base}/a/a10361290{i}.html\n" for i in range(4)), encoding="utf-8")
        assert new_in(cli_run(cfg, "run")) == 3
        with picks.open("a", encoding="utf-8") as out:
            out.write("".join(f"{site.base}/a/a10361290{i}.html\n" for i in range(4, 7)))
        assert [new_in(cli_run(cfg, "run")) for _ in range(3)] == [3, 1, 0]
    assert len(list((tmp_path / "mirror/pages/intl").glob("*.md"))) == 7


def with_floor(cfg: Path) -> Path:
    """The config with a speed floor measured over 0.4 s (the default, 20 s, is too long for a test)."""
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[fetch]", "[fetch]\nmin_speed_time = 0.4"),
                   encoding="utf-8")
    return cfg


def test_a_page_that_drips_fails_alone_its_neighbours_are_committed_and_it_is_tried_next_run(tmp_path):
    drip = "/a/a103612901.html"
    with Site("User-agent: *\nAllow: /\n", drips=(drip,)) as site:
        cfg = with_floor(config(tmp_path, site.base))
        first = cli_run(cfg, "run")
        assert first.exit_code == 1, first.output
        assert site.paths().count(drip) == 1  # cut by the floor, and not retried in this run (retries = 1)
        out = tmp_path / "mirror"
        committed = subprocess.run(["git", "-C", str(out), "ls-files", "pages"], capture_output=True, text=True,
                                   check=True).stdout.split()
        assert committed == ["pages/intl/a103612900.md", "pages/intl/a103612902.md"]
        assert "too slow" in cli_run(cfg, "status").output
        assert url_row(cfg, site.base + drip)["attempts"] == 1
        second = cli_run(cfg, "run")
        assert second.exit_code == 1, second.output
        assert site.paths().count(drip) == 2  # tried again by the next run, once
    row = url_row(cfg, site.base + drip)
    assert row["status"] == "failed" and row["attempts"] == 2 and "too slow" in row["reason"]


def url_row(cfg: Path, url: str) -> sqlite3.Row:
    store = Store(cfg.parent / "newsmirror.db")
    try:
        row = store.url_row(url)
    finally:
        store.close()
    assert row is not None, url
    return row
