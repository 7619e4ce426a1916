"""The whole mirror against a hostile web server: every case is one `newsmirror run` through the CLI.

One raw asyncio HTTP server (its own event loop, in a background thread, on 127.0.0.1 only) serves
every case under its own path prefix `/<case>/`: a feed that lists one good article (`good1.html`)
plus the hostile URL(s) of the case (`bad1.html`, …). Raw sockets, because the worst cases are not
HTTP a framework will produce: a Content-Length that lies, a body that never ends or drips a byte a
second, a connection closed in the middle of the headers.

Each case runs the real mirror in its own `tmp_path` with small limits (FETCH below: one retry, no
backoff, 2 s connect/read timeouts, 6 s in total per request, 2 MB per body, Retry-After up to 5 s;
the two timeout cases, a drip and a stall, have shorter timeouts of their own: FAST_TIMEOUTS, a 1 s
read timeout and 2 s in total, so that they wait for 1-2 s and not for the defaults) and asserts:

- the run finishes within CASE_BOUND (20 s, measured with time.monotonic() around the run; the
  slowest case, the drip of a byte every quarter second, takes one total timeout of 2 s, as a
  timeout is not retried in the run; every other case takes well under 2 s);
- the exit code: 1 when something failed, 0 for the cases that succeed;
- the good article's page exists; the hostile URL has no page (unless the case succeeds);
- `newsmirror status` names the reason with a recognisable word ("timed out", "max_bytes", …);
- no file under the output contains "<script", "javascript:", "onclick", "onload" or "<iframe";
- the server saw no request for a path it does not serve (no entity, DTD or redirect target was
  fetched that the case did not list), and no file anywhere under tmp_path holds /etc/passwd.

The whole module takes a few seconds on 2 cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli

CASE_BOUND = 20.0  # seconds one `newsmirror run` may take, whatever the server does
FETCH = """
[fetch]
retries = 1
backoff = 0
connect_timeout = 2
read_timeout = 2
total_timeout = 6
max_bytes = 2000000
max_retry_after = 5
"""
# the drip and stall cases: what they test is that a timeout stops the request, whatever its length
FAST_TIMEOUTS = FETCH.replace("read_timeout = 2\n", "read_timeout = 1\n").replace("total_timeout = 6\n",
                                                                                  "total_timeout = 2\n")
MAX_BYTES = 2_000_000
FORBIDDEN = ("<script", "javascript:", "onclick", "onload", "<iframe")
PASSWD = Path("/etc/passwd")


# -- the server --------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    server: HostileServer


Handler = Callable[[Request], Awaitable[bool]]  # True: keep the connection open for the next request


class HostileServer:
    """A raw HTTP/1.1 server in its own event loop thread; `routes` maps a path to a handler."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        self.routes = routes
        self.requests: list[str] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="hostile-server", daemon=True)
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostileServer:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop)
        self._server = fut.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                parts = line.decode("latin-1").split()
                path = urlsplit(parts[1] if len(parts) > 1 else "/").path
                self.requests.append(path)
                handler = self.routes.get(path, not_found)
                if not await handler(Request(path, headers, reader, writer, self)):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()


def head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def respond(req: Request, status: str = "200 OK", body: bytes = b"",
                  ctype: str = "text/html; charset=utf-8", **extra: str) -> bool:
    headers = {"Content-Type": ctype, "Content-Length": str(len(body))}
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    req.writer.write(head(status, headers) + body)
    await req.writer.drain()
    return True


async def not_found(req: Request) -> bool:
    return await respond(req, "404 Not Found", b"<html><body><h1>404 Not Found</h1></body></html>")


def static(body: bytes | str, ctype: str = "text/html; charset=utf-8", status: str = "200 OK",
           **extra: str) -> Handler:
    data = body.encode("utf-8") if isinstance(body, str) else body

    async def handler(req: Request) -> bool:
        return await respond(req, status, data, ctype, **extra)

    return handler


async def trickle(req: Request, chunks: Iterator[bytes], pause: float = 0.0) -> None:
    """Write chunks until the client goes away (or the chunks end)."""
    for chunk in chunks:
        if req.writer.is_closing():
            return
        req.writer.write(chunk)
        await req.writer.drain()
        if pause:
            await asyncio.sleep(pause)


# -- pages ------------------------------------------------------------------------------------------

PARAS = [
    "【本报讯】市图书馆古籍修复中心近日完成了一批清代地方志的修复工作，这批地方志共有四十二册。",
    "修复中心负责人介绍，部分书页因年代久远出现虫蛀和霉斑，修复团队用了将近一年时间才全部完成。",
    "修复后的地方志将在下个月向公众展出，市民可以通过预约的方式入馆参观，展期为三个月。",
    "图书馆方面表示，今后还将继续开展古籍数字化工作，让更多珍贵文献以电子形式与读者见面。",
]


def article(title: str, paras: list[str] = PARAS, extra: str = "", charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (f"<!DOCTYPE html><html lang=\"zh-CN\"><head>{meta}<title>{title}</title></head><body>"
            f"<nav><a href=\"/\">首页</a></nav><article><h1>{title}</h1>{body}{extra}</article>"
            f"<footer>版权所有</footer></body></html>")


GOOD = article("市图书馆完成一批清代地方志修复")
GBK_PHRASE = "长江中下游地区遭遇特大暴雨"
GBK_PARAS = [
    f"【本报讯】{GBK_PHRASE}，多个城市发布红色预警，铁路部门临时停运了数十趟列车。",
    "气象部门表示，这次降雨过程持续时间长、累计雨量大，部分地区的降雨量已经突破历史纪录。",
    "当地政府组织了上千名救援人员，连夜转移低洼地区的居民，目前没有人员伤亡的报告。",
    "专家提醒市民，暴雨期间尽量减少外出，远离河道和山体，注意收听官方发布的最新消息。",
    "水利部门已经启动防汛应急响应，各大水库按照调度方案提前泄洪，为后续降雨腾出库容。",
]
GBK_PAGE = article("长江中下游遭遇特大暴雨", GBK_PARAS, charset=None).encode("gbk")


def rss(base: str, prefix: str, names: list[str]) -> bytes:
    items = "".join(f"<item><title>item {n}</title><link>{base}/{prefix}/{n}</link></item>" for n in names)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{prefix}</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


# -- the hostile handlers ---------------------------------------------------------------------------


async def drip(req: Request) -> bool:
    """A page that arrives a byte every quarter second: never silent for read_timeout, never done either."""
    req.writer.write(head("200 OK", {"Content-Type": "text/html; charset=utf-8", "Content-Length": "100000"}))
    await trickle(req, (b" " for _ in range(240)), pause=0.25)
    return False


async def stall(req: Request) -> bool:
    """Headers, then silence."""
    req.writer.write(head("200 OK", {"Content-Type": "text/html; charset=utf-8", "Content-Length": "100000"}))
    await req.writer.drain()
    await asyncio.sleep(30)
    return False


async def endless(req: Request) -> bool:
    """A body with no length that never ends (stops at 200 MB, or when the client hangs up)."""
    req.writer.write(head("200 OK", {"Content-Type": "text/html; charset=utf-8", "Connection": "close"}))
    chunk = b"<p>" + "无穷无尽的正文。".encode() * 2000 + b"</p>\n"
    await trickle(req, (chunk for _ in range(200_000_000 // len(chunk))))
    return False


LIE_PAGE = article("谎报长度的页面", PARAS * 10_000).encode()  # 5.4 MB


async def lie_short(req: Request) -> bool:
    """Declares 100 bytes, sends 5 MB, and keeps the connection for the next request."""
    req.writer.write(head("200 OK", {"Content-Type": "text/html; charset=utf-8", "Content-Length": "100"}))
    await trickle(req, (LIE_PAGE[i:i + 65536] for i in range(0, len(LIE_PAGE), 65536)))
    return True


async def lie_long(req: Request) -> bool:
    """Declares 5000 bytes, sends 10, hangs up."""
    req.writer.write(head("200 OK", {"Content-Type": "text/html; charset=utf-8", "Content-Length": "5000"})
                     + b"<html><bod")
    await req.writer.drain()
    return False


async def mid_headers(req: Request) -> bool:
    """Hangs up in the middle of the headers."""
    req.writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/ht")
    await req.writer.drain()
    return False


async def huge_header(req: Request) -> bool:
    """One header line of 1 MB."""
    req.writer.write(b"HTTP/1.1 200 OK\r\nX-Junk: " + b"a" * 1_000_000 + b"\r\nContent-Length: 0\r\n\r\n")
    with contextlib.suppress(ConnectionError):
        await req.writer.drain()
    return False


async def not_http(req: Request) -> bool:
    """Binary noise instead of a status line."""
    req.writer.write(bytes(range(256)) * 64)
    with contextlib.suppress(ConnectionError):
        await req.writer.drain()
    return False


@functools.cache
def gzip_bomb() -> bytes:
    """~1 MB of gzip that expands to ~1 GB of zeros: one full-flushed block of 1 MiB of zeros, repeated.

    Built in milliseconds; the trailer (CRC, size) is never reached by a client that stops at its cap.
    """
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH) == block  # deterministic: safe to repeat
    n = (1_000_000 - len(first)) // len(block)
    bomb = first + block * n + c.flush()
    assert len(bomb) < MAX_BYTES  # under the cap as received: only the decompressed size is too big
    return bomb


async def gzip_bomb_handler(req: Request) -> bool:
    return await respond(req, body=gzip_bomb(), Content_Encoding="gzip")


def redirect(location: str, status: str = "302 Found") -> Handler:
    async def handler(req: Request) -> bool:
        return await respond(req, status, b"", Location=location)

    return handler


def retry_after_then_ok(wait: str, body: str) -> Handler:
    """429 with Retry-After on odd requests, the page on even ones."""
    seen = Counter[str]()

    async def handler(req: Request) -> bool:
        seen[req.path] += 1
        if seen[req.path] % 2:
            return await respond(req, "429 Too Many Requests", b"slow down", "text/plain", Retry_After=wait)
        return await respond(req, body=body.encode("utf-8"))

    return handler


BAD_UTF8 = ("<html><head><title>字节混乱的页面</title></head><body><article><h1>字节混乱的页面</h1>"
            "<p>这一段里夹着坏字节".encode()
            + b"\xff\xfe\xc3\x28\x00\x00\xe4\xb8"  # invalid UTF-8, NULs, a sequence cut short
            + "和空字节，但文字应该保留下来。</p><p>第二段也是正常的中文句子，\x00读者应该可以看到完整的内容。</p>"
              "<p>第三段继续介绍事情的经过，记者在现场采访了多位目击者。</p></article></body></html>".encode())

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"

# 200,000 <div> start tags, never closed: each nests in the one before (1 MB, under max_bytes)
NESTED = article("二十万层嵌套的页面", extra="<div>" * 200_000 + "<p>埋在最深处的文字。</p>")

JS_SHELL = ('<!DOCTYPE html><html><head><title>Loading…</title><script src="/static/app.js"></script></head>'
            '<body><div id="root"></div><noscript>请启用 JavaScript</noscript>'
            '<script>window.__APP__.render(document.getElementById("root"))</script></body></html>')

ACTIVE = article("带脚本的文章", [
    "第一段正文：市政府宣布将在明年春季启动老城区改造工程，预计投资二十亿元。",
    '第二段正文<script>document.write("注入")</script>介绍了改造的范围，涉及十二条街道和三千多户居民。',
    '第三段<a href="javascript:alert(1)">带脚本链接的文字</a>说明了补偿标准，居民可以选择货币补偿或者回迁安置。',
    '<span onclick="steal()">第四段带点击处理器的文字</span>，施工期间将设置临时停车场和公交接驳线路。',
    '<img src="/x.png" onload="steal()" onerror="steal()" alt="示意图">第五段：工程预计三年完成，'
    '届时老城区将新增绿地和公共活动空间。',
], extra='<iframe src="javascript:alert(2)"></iframe><iframe src="https://player.example/embed/1" onload="x()">'
         '</iframe><p onmouseover="x()">第六段在内嵌框架之后，文字应该原样保留。</p>'
         '<object data="evil.swf"></object><svg onload="x()"><script>alert(3)</script></svg>'
         '<a href="  JaVaScRiPt:alert(4)">第七段的链接文字</a><form action="/steal"><input name="q"></form>')

WRONG_CHARSET = article("长江中下游遭遇特大暴雨", GBK_PARAS, charset="utf-8").encode("gbk")

LOL = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10))


def entity_feed(dtd: str, ref: str, pad: str = "") -> Handler:
    """A feed whose DOCTYPE declares `dtd`, referencing `ref` in its entries (and listing the good article)."""

    async def handler(req: Request) -> bool:
        base, prefix = req.server.base, req.path.split("/")[1]
        body = (f'<?xml version="1.0" encoding="utf-8"?>{pad}<!DOCTYPE rss [{dtd.replace("{base}", base)}]>'
                f'<rss version="2.0"><channel><title>{ref}</title><link>{base}/</link>'
                f"<item><title>{ref}</title><link>{base}/{prefix}/good1.html</link><description>{ref}"
                f"</description></item></channel></rss>")
        return await respond(req, body=body.encode("utf-8"), ctype="application/rss+xml")

    return handler


XXE_DTD = ('<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "{base}/probe/remote.dtd">'
           '<!ENTITY % param SYSTEM "{base}/probe/param.dtd"> %param;')
MALFORMED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>broken</ti\x00\xff<item><<<link>'
             b"</item></channel><rss><![CDATA[ never closed")


# -- the cases ----------------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a case's extra check may look at."""

    server: HostileServer
    prefix: str
    requests: list[str]  # paths the server saw during the run
    out: Path
    status: str
    took: float  # seconds the run took

    def page(self, name: str) -> str:
        return (self.out / "pages/news" / f"{name}.md").read_text(encoding="utf-8")

    def hits(self, name: str) -> int:
        return self.requests.count(f"/{self.prefix}/{name}")


@dataclass
class Case:
    name: str
    routes: dict[str, Handler]  # name under /<case>/ → handler
    reason: tuple[str, ...] = ()  # words `status` must show ("a|b": either)
    exit_code: int = 1
    pages: tuple[str, ...] = ("good1",)  # page ids the run must write (and no others)
    listed: tuple[str, ...] = ("bad1.html",)  # what the case's feed lists beside the good article
    hostile_feed: bool = False  # the case's feed itself is the hostile input; source "other" lists good1
    check: Callable[[Ctx], None] | None = None
    fetch: str = FETCH  # the run's [fetch] table


def check_retried_once(ctx: Ctx) -> None:
    assert ctx.hits("bad1.html") == 2  # retries = 1: two attempts, no more


def check_not_retried(ctx: Ctx) -> None:
    assert ctx.hits("bad1.html") == 1  # a timeout is tried again next run, not in this one


def check_retried_at_most_twice(ctx: Ctx) -> None:
    # aiohttp itself sends a request once more when a reused keep-alive connection is dropped before the
    # response: at most 2 × 2
    assert 2 <= ctx.hits("bad1.html") <= 4


def check_no_wait(ctx: Ctx) -> None:
    assert ctx.hits("bad1.html") == 1  # a Retry-After over max_retry_after is not waited for, nor retried
    assert ctx.took < 5


def check_waited(ctx: Ctx) -> None:
    assert ctx.hits("bad1.html") == 2
    assert ctx.took >= 1.0  # Retry-After: 1 was honoured
    assert "第二次才给出的文章" in ctx.page("bad1")


def check_gbk(ctx: Ctx) -> None:
    assert GBK_PHRASE in ctx.page("bad1")


def check_wrong_charset(ctx: Ctx) -> None:
    # the header says UTF-8 but the bytes are GBK: detection reads them right, no replacement characters
    page = ctx.page("bad1")
    assert GBK_PHRASE in page and "\ufffd" not in page


def check_bad_utf8(ctx: Ctx) -> None:
    page = ctx.page("bad1")
    assert "\x00" not in page
    assert "和空字节，但文字应该保留下来。" in page
    assert "读者应该可以看到完整的内容" in page


def check_nested(ctx: Ctx) -> None:
    page = ctx.page("bad1")
    assert PARAS[0] in page and PARAS[-1] in page


def check_active(ctx: Ctx) -> None:
    page = ctx.page("bad1")
    for text in ("第二段正文", "带脚本链接的文字", "第四段带点击处理器的文字", "第五段", "第六段在内嵌框架之后",
                 "第七段的链接文字"):
        assert text in page, text
    for bad in ("注入", "alert", "steal", "onerror", "onmouseover", "<svg", "<object", "<form", "evil.swf"):
        assert bad not in page.lower(), bad


def check_robots(ctx: Ctx) -> None:
    assert ctx.hits("bad1.html") == 0
    assert "/robots.txt" in ctx.requests


def check_xxe(ctx: Ctx) -> None:
    assert not any(p.startswith("/probe/") for p in ctx.server.requests)


def check_lie_short(ctx: Ctx) -> None:
    assert "谎报长度" not in ctx.page("good1")  # the 5 MB the lying response left behind never became a page


CASES = [
    Case("drip", {"bad1.html": drip}, ("timed out",), check=check_not_retried, fetch=FAST_TIMEOUTS),
    Case("stall", {"bad1.html": stall}, ("timed out",), check=check_not_retried, fetch=FAST_TIMEOUTS),
    Case("endless", {"bad1.html": endless}, ("max_bytes",)),
    # what the client makes of the 5 MB after the 100 declared bytes depends on how they arrive: the rest
    # of a read (a bad status line for the next response) or a 100-byte page with no article in it
    Case("lie-short", {"bad1.html": lie_short}, ("bad HTTP response|no article body",), check=check_lie_short),
    Case("lie-long", {"bad1.html": lie_long}, ("broken response body",)),
    Case("gzip-bomb", {"bad1.html": gzip_bomb_handler}, ("compression bomb", "max_bytes")),
    Case("redirect-loop", {"bad1.html": redirect("bad2.html"), "bad2.html": redirect("/redirect-loop/bad1.html")},
         ("redirects",)),
    Case("redirect-file", {"bad1.html": redirect("file:///etc/passwd", "301 Moved Permanently")},
         ("redirected to a file:",)),
    Case("redirect-ftp", {"bad1.html": redirect("ftp://127.0.0.1/pub/bad1.html", "307 Temporary Redirect")},
         ("redirected to a ftp:",)),
    Case("http-404", {"bad1.html": not_found}, ("404",)),
    Case("unsolicited-304", {"bad1.html": static(b"", status="304 Not Modified")}, ("304 Not Modified",)),
    Case("http-410", {"bad1.html": static("<h1>Gone</h1>", status="410 Gone")}, ("410",)),
    Case("http-500", {"bad1.html": static("<h1>oops</h1>", status="500 Internal Server Error")}, ("500",),
         check=check_retried_once),
    Case("http-429-long", {"bad1.html": static("slow down", "text/plain", "429 Too Many Requests",
                                               Retry_After="3600")}, ("429", "wait"), check=check_no_wait),
    Case("http-429-short", {"bad1.html": retry_after_then_ok("1", article(
        "第二次才给出的文章", ["第二次才给出的文章：" + p for p in PARAS]))}, exit_code=0, pages=("good1", "bad1"),
         check=check_waited),
    Case("wrong-charset", {"bad1.html": static(WRONG_CHARSET)}, exit_code=0, pages=("good1", "bad1"),
         check=check_wrong_charset),
    Case("gbk-no-charset", {"bad1.html": static(GBK_PAGE, "text/html")}, exit_code=0, pages=("good1", "bad1"),
         check=check_gbk),
    Case("bad-utf8-nul", {"bad1.html": static(BAD_UTF8)}, exit_code=0, pages=("good1", "bad1"),
         check=check_bad_utf8),
    Case("pdf", {"bad1.html": static(PDF, "application/pdf")}, ("Content-Type: application/pdf",)),
    Case("nested-divs", {"bad1.html": static(NESTED)}, exit_code=0, pages=("good1", "bad1"), check=check_nested),
    Case("empty", {"bad1.html": static(b"")}, ("empty page",)),
    Case("js-shell", {"bad1.html": static(JS_SHELL)}, ("JavaScript",)),
    Case("active-content", {"bad1.html": static(ACTIVE)}, exit_code=0, pages=("good1", "bad1"),
         check=check_active),
    Case("robots", {"bad1.html": static(article("不该被抓取的文章"))}, ("robots",), check=check_robots),
    Case("mid-headers", {"bad1.html": mid_headers}, ("disconnected",), check=check_retried_at_most_twice),
    Case("long-reason", {"bad1.html": static("<h1>busy</h1>", status="503 " + "Service Unavailable " * 700)},
         ("503 Service Unavailable",), check=check_retried_once),
    Case("huge-header", {"bad1.html": huge_header}, ("bad HTTP response",)),
    Case("not-http", {"bad1.html": not_http}, ("bad HTTP response",)),
    Case("billion-laughs", {"feed.xml": entity_feed(LOL, "&lol9;")}, ("entities",), hostile_feed=True, listed=()),
    Case("xxe", {"feed.xml": entity_feed(XXE_DTD, "&xxe;&remote;")}, ("entities",), hostile_feed=True, listed=(),
         check=check_xxe),
    Case("entities-late", {"feed.xml": entity_feed(LOL + XXE_DTD, "&lol9;&xxe;",
                                                   pad="<!--" + " " * 70_000 + "-->")},
         ("entities",), hostile_feed=True, listed=(), check=check_xxe),
    Case("malformed-feed", {"feed.xml": static(MALFORMED, "application/rss+xml")}, ("no entries",),
         hostile_feed=True, listed=()),
]


def feed_handler(case: Case) -> Handler:
    async def handler(req: Request) -> bool:
        names = ["good1.html"] if case.hostile_feed else ["good1.html", *case.listed]
        body = rss(req.server.base, case.name, names)
        return await respond(req, body=body, ctype="application/rss+xml; charset=utf-8")

    return handler


def all_routes() -> dict[str, Handler]:
    routes: dict[str, Handler] = {
        "/robots.txt": static("User-agent: *\nDisallow: /robots/bad1.html\n", "text/plain"),
    }
    for case in CASES:
        p = f"/{case.name}/"
        routes[p + "good1.html"] = static(GOOD)
        routes[p + ("other.xml" if case.hostile_feed else "feed.xml")] = feed_handler(case)
        for name, handler in case.routes.items():
            routes[p + name] = handler
    return routes


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    s = HostileServer(all_routes()).start()
    try:
        yield s
    finally:
        s.stop()


def config(folder: Path, base: str, case: Case) -> Path:
    text = f"""\
[site]
title = "敌意测试"
output = "mirror"

[categories.news]
title = "新闻"

[[sources]]
name = "news"
kind = "rss"
url = "{base}/{case.name}/feed.xml"
category = "news"
"""
    if case.hostile_feed:
        text += f"""
[[sources]]
name = "other"
kind = "rss"
url = "{base}/{case.name}/other.xml"
category = "news"
"""
    p = folder / "newsmirror.toml"
    p.write_text(text + case.fetch, encoding="utf-8")
    return p


def files_under(root: Path, skip_git: bool) -> Iterator[Path]:
    for p in root.rglob("*"):
        if p.is_file() and not (skip_git and ".git" in p.relative_to(root).parts):
            yield p


def passwd_marker() -> bytes | None:
    try:
        lines = [ln for ln in PASSWD.read_bytes().splitlines() if ln.count(b":") >= 6]
    except OSError:
        return None
    return lines[0] if lines else None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile(server: HostileServer, tmp_path: Path, case: Case) -> None:
    cfg = config(tmp_path, server.base, case)
    runner = CliRunner()
    seen = len(server.requests)
    t0 = time.monotonic()
    res = runner.invoke(cli, ["--config", str(cfg), "run"], catch_exceptions=False)
    took = time.monotonic() - t0
    requests = server.requests[seen:]
    status = runner.invoke(cli, ["--config", str(cfg), "status"], catch_exceptions=False)
    out = tmp_path / "mirror"
    ctx = Ctx(server, case.name, requests, out, status.output, took)

    # finished, in bounded time, without a crash
    assert took < CASE_BOUND, f"the run took {took:.1f}s"
    assert res.exit_code == case.exit_code, res.output
    assert "Traceback" not in res.output and "crashed" not in res.output, res.output
    assert status.exit_code == 0, status.output

    # the good article is mirrored; the hostile URL is not (unless the case is one that succeeds)
    pages = sorted(p.stem for p in (out / "pages").rglob("*.md"))
    assert pages == sorted(case.pages), res.output
    assert (out / "pages/news/good1.md").exists()
    assert PARAS[0] in ctx.page("good1")
    for name in case.listed:
        stem = name.rsplit(".", 1)[0]
        assert (out / "pages/news" / f"{stem}.md").exists() == (stem in case.pages)

    # status names the reason
    for word in case.reason:
        assert any(w in status.output for w in word.split("|")), status.output
    # in one bounded line each, however much of its own bytes the server put into the error
    assert max(len(ln) for ln in status.output.splitlines()) < 400, status.output[:2000]
    if case.exit_code == 0:
        assert "failures" not in status.output, status.output

    # no active content in anything written; nothing fetched that the case did not serve
    for p in files_under(out, skip_git=True):
        text = p.read_bytes().decode("utf-8", "replace").lower()
        for bad in FORBIDDEN:
            assert bad not in text, f"{bad!r} in {p.relative_to(out)}"
    served = set(server.routes)
    # (an article's images are fetched too: that is mirroring them, not following the page's links)
    assert [p for p in requests if p not in served and not p.endswith((".png", ".jpg", ".gif"))] == []
    marker = passwd_marker()
    if marker:
        for p in files_under(tmp_path, skip_git=False):
            assert marker not in p.read_bytes(), f"/etc/passwd content in {p}"

    if case.check:
        case.check(ctx)
