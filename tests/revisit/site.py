"""A local news site whose pages change between runs, for the revisit tests: each page's status, body, headers
and redirect are the test's to set; the run's clock moves through SOURCE_DATE_EPOCH."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from aiohttp import web

T0 = 1796083200  # 2026-12-01 00:00 UTC


def article_html(title: str, paras: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f'<html><head><meta charset="utf-8"><title>{title}</title></head><body><nav><a href="/">首页</a></nav>'
            f"<article><h1>{title}</h1>{body}</article><footer>版权所有</footer></body></html>")


ZH = ["北京消息，警方周一在市中心逮捕了三名参加和平集会的大学生，其家属至今未获通知。",
      "目击者说，数十名便衣人员在广场周围拍摄路人，并要求他们删除手机中的照片和视频。",
      "一名律师表示，这种做法违反了刑事诉讼法的规定，当事人有权在二十四小时内通知家属。"]
EN = ["The minister said on Monday that the new rules would take effect next month across the province.",
      "Critics argued the measures were rushed through without any public consultation at all.",
      "Officials declined to say how many people would be affected by the changes this year."]


@dataclass
class Page:
    status: int = 200
    html: str = ""
    location: str | None = None  # a 302 to here
    hang: bool = False  # never answers (a timeout)
    headers: dict[str, str] = field(default_factory=dict)
    published: str = "Sun, 01 Nov 2026 08:00:00 GMT"  # as the feed dates it


class ChangingSite:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.robots = "User-agent: *\nAllow: /\n"
        self.requests: list[str] = []
        self.base = ""
        self._never: asyncio.Event | None = None  # what a hanging page waits for: release() at the end
        self._loop: asyncio.AbstractEventLoop | None = None

    def release(self) -> None:
        """Let the hanging pages go (the server cannot stop while they wait)."""
        if self._loop is not None and self._never is not None:
            self._loop.call_soon_threadsafe(self._never.set)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self.handle)
        return app

    def feed(self) -> str:
        items = "".join(f"<item><title>{p}</title><link>{self.base}{p}</link><pubDate>{page.published}</pubDate>"
                        "</item>" for p, page in self.pages.items() if p.startswith("/a/"))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}'
                "</channel></rss>")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append(path)
        if path == "/robots.txt":
            return web.Response(text=self.robots)
        if path == "/feed":
            return web.Response(text=self.feed(), content_type="application/rss+xml", charset="utf-8")
        if path in ("/", "/news/"):
            home = article_html("首页 · Home", ["最新新闻列表 latest news"])
            return web.Response(text=home, content_type="text/html", charset="utf-8")
        page = self.pages.get(path)
        if page is None:
            return web.Response(status=404, text="not found")
        if page.hang:
            self._loop = asyncio.get_running_loop()
            self._never = self._never or asyncio.Event()
            await self._never.wait()
        if page.location:
            raise web.HTTPFound(page.location)
        etag = '"' + hashlib.sha1(page.html.encode()).hexdigest()[:16] + '"'
        if page.status == 200 and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, **page.headers} if page.status == 200 else page.headers
        return web.Response(status=page.status, text=page.html, content_type="text/html", charset="utf-8",
                            headers=headers)
