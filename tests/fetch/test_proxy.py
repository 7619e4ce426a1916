"""The fetcher goes through an HTTP proxy when fetch.proxy is set (a real forward proxy on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from newsmirror.config import Fetch
from newsmirror.demo.server import SiteServer
from newsmirror.fetch import Fetcher


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        # a forward proxy gets the absolute URL in the request line
        type(self).seen.append(self.path)
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(self.path, timeout=5) as up:  # only ever 127.0.0.1 here
            body = up.read()
            ctype = up.headers.get("Content-Type", "text/html")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Proxied", "yes")
        self.end_headers()
        self.wfile.write(body)


def test_fetch_goes_through_the_configured_http_proxy():
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    t = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    try:
        with SiteServer() as site:
            url = f"{site.base}/gb/prog204/feed.xml"

            async def go():
                async with Fetcher(Fetch(proxy=f"http://127.0.0.1:{proxy.server_address[1]}", retries=0)) as f:
                    return await f.get(url)

            resp = asyncio.run(go())
        assert resp.status == 200 and resp.headers.get("x-proxied") == "yes"
        assert "<rss" in resp.text
        assert url in _Proxy.seen and all(u.startswith(site.base) for u in _Proxy.seen)
    finally:
        proxy.shutdown()
        proxy.server_close()
