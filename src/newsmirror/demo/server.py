"""A static site server on 127.0.0.1 that stands in for a news site.

Serves a folder whose file paths are URL paths, rewriting the site's real
origins (e.g. `https://www.ntdtv.com`) to its own base URL in text responses,
so that every link of the served pages leads back to it. Used by `newsmirror
demo` and by the tests.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

DEMO_SITE = Path(__file__).parent / "site"
DEMO_ORIGINS = ("https://www.ntdtv.com", "https://i.ntdtv.com", "https://demo-news.example")
DAY2 = Path(__file__).parent / "day2"
# the demo site a day later (`newsmirror demo --day 2`): one article edited (its title softened, a date moved, a
# paragraph cut), another replaced by a removal notice
DAY2_ROUTES = {"/news/intl/2024/05/04/n2002.html": str(DAY2 / "n2002.html"),
               "/news/culture/2024/05/06/n3003.html": str(DAY2 / "removed.html")}
TEXT_TYPES = ("text/", "application/xml", "application/rss+xml", "application/atom+xml", "application/json")


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up (a closed keep-alive connection) is normal; anything else is shown."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SiteServer:
    """`with SiteServer(root) as s: s.base` — a real HTTP server in a thread."""

    def __init__(self, root: Path = DEMO_SITE, origins: Iterable[str] = DEMO_ORIGINS, *,
                 routes: dict[str, str] | None = None, port: int = 0, host: str = "127.0.0.1",
                 redirects: dict[str, str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.origins = tuple(origins)
        self.routes = dict(routes or {})
        self.redirects = dict(redirects or {})  # path → where a 301 sends it (a moved page or picture)
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes: with Nagle's algorithm the body waits for the client's
            # delayed ACK of the headers, 40 ms a response on Linux (as a web server, send them at once)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                outer.requests.append(self.path)
                if self.path in outer.redirects:
                    body = b"<html><body>Moved</body></html>"
                    self.send_response(301)
                    self.send_header("Location", outer.redirects[self.path])
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                found = outer.resolve(self.path)
                if found is None:
                    body = b"<html><body><h1>404 Not Found</h1></body></html>"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                ctype = outer.content_type(found)
                data = found.read_bytes()
                if ctype.startswith(TEXT_TYPES):
                    for origin in outer.origins:
                        data = data.replace(origin.encode(), outer.base.encode())
                etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:  # as a real web server does
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = _QuietServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def content_type(self, path: Path) -> str:
        if path.suffix in (".xml", ".rss") or path.name == "feed":
            return "application/rss+xml; charset=utf-8"
        if path.suffix in (".html", ".htm"):
            head = path.read_bytes()[:2048].lower()
            if b"charset=utf-8" in head or b'charset="utf-8"' in head:
                return "text/html; charset=utf-8"
            return "text/html"
        return mimetypes.guess_type(path.name)[0] or "application/octet-stream"

    def resolve(self, raw_path: str) -> Path | None:
        path = unquote(urlsplit(raw_path).path)
        if path in self.routes:  # an explicit route may point anywhere (a fixture kept elsewhere)
            c = self.root / self.routes[path]
            return c if c.is_file() else None
        else:
            rel = path.lstrip("/")
            cand = [self.root / rel, self.root / (rel + ".xml"), self.root / (rel + ".html"),
                    self.root / rel / "index.html"]
        for c in cand:
            try:
                c = c.resolve()
            except OSError:
                continue
            if c.is_file() and c.is_relative_to(self.root):
                return c
        return None

    def start(self) -> SiteServer:
        # shutdown() waits for the serving loop's next look at its flag: every 20 ms, not the default 0.5 s that
        # each stop would otherwise cost (the tests start and stop a server hundreds of times)
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="site-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
