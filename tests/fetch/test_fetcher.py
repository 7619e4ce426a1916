"""Fetcher against a real aiohttp server on 127.0.0.1, one route per case."""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from newsmirror.config import Fetch
from newsmirror.fetch import Fetcher, FetchError
from newsmirror.fetch.fetcher import _netloc, parse_retry_after
from newsmirror.ids import origin_of
from tests.conftest import serve_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

HITS = web.AppKey("hits", Counter)
RELEASE = web.AppKey("release", asyncio.Event)
SEEN = web.AppKey("seen", dict)



def fast(**kw: object) -> Fetch:
    """A Fetch config that never waits long."""
    base = dict(retries=2, backoff=0, connect_timeout=2, read_timeout=3, total_timeout=10)
    base.update(kw)
    return Fetch(**base)


@web.middleware
async def count_hits(request: web.Request, handler):
    request.app[HITS][request.path] += 1
    return await handler(request)


def make_app() -> web.Application:
    app = web.Application(middlewares=[count_hits])
    app[HITS] = Counter()
    app[RELEASE] = asyncio.Event()
    app[SEEN] = {}
    r = app.router

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="<p>你好</p>", content_type="text/html", charset="utf-8")

    async def start(request: web.Request) -> web.Response:
        raise web.HTTPFound("/hop")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently("final?x=1")  # relative Location

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def to_file(request: web.Request) -> web.Response:
        raise web.HTTPFound("file:///etc/passwd")

    async def no_location(request: web.Request) -> web.Response:
        return web.Response(status=302)

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def flaky(request: web.Request) -> web.Response:
        if request.app[HITS][request.path] == 1:
            raise web.HTTPInternalServerError()
        return web.Response(text="recovered")

    async def always_500(request: web.Request) -> web.Response:
        raise web.HTTPServiceUnavailable()

    async def limited(request: web.Request) -> web.Response:
        if request.app[HITS][request.path] == 1:
            return web.Response(status=429, headers={"Retry-After": "0"})
        return web.Response(text="after 429")

    async def limited_long(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "3600"})

    async def big_declared(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000, content_type="text/plain")

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(5):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    async def exact(request: web.Request) -> web.Response:
        return web.Response(body=b"z" * 1000, content_type="text/plain")

    async def stall_body(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"first bytes, then nothing")
        await request.app[RELEASE].wait()
        return resp

    async def stall_headers(request: web.Request) -> web.Response:
        await request.app[RELEASE].wait()
        return web.Response(text="too late")

    async def drip_body(request: web.Request) -> web.StreamResponse:
        """Headers at once, then `n` bytes of body one at a time, 0.05 s apart (a bounded loop)."""
        n = int(request.query.get("n", "100"))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain", "Content-Length": str(n)})
        await resp.prepare(request)
        for _ in range(n):
            await resp.write(b"d")
            await asyncio.sleep(0.05)
        return resp

    async def steady(request: web.Request) -> web.StreamResponse:
        """5 KB in 10 chunks, 0.05 s apart: about 10 KB/s, well above a floor of 1000 bytes/s."""
        resp = web.StreamResponse(headers={"Content-Type": "text/plain", "Content-Length": "5000"})
        await resp.prepare(request)
        for _ in range(10):
            await resp.write(b"s" * 500)
            await asyncio.sleep(0.05)
        return resp

    async def echo_ua(request: web.Request) -> web.Response:
        request.app[SEEN]["ua"] = request.headers.get("User-Agent")
        request.app[SEEN]["accept-language"] = request.headers.get("Accept-Language")
        return web.Response(text=request.headers.get("User-Agent", ""))

    async def gbk(request: web.Request) -> web.Response:
        body = (FIXTURES / "gbk" / "article.html").read_bytes()
        return web.Response(body=body, headers={"Content-Type": "text/html"})

    for path, handler in {
        "/ok": ok, "/start": start, "/hop": hop, "/final": ok, "/loop": loop, "/to-file": to_file,
        "/no-location": no_location, "/missing": missing, "/flaky": flaky, "/always-503": always_500,
        "/limited": limited, "/limited-long": limited_long, "/big-declared": big_declared,
        "/big-chunked": big_chunked, "/exact": exact, "/stall-body": stall_body,
        "/stall-headers": stall_headers, "/ua": echo_ua, "/gbk": gbk, "/drip-body": drip_body,
        "/steady": steady,
    }.items():
        r.add_get(path, handler)
    return app


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


async def get(cfg: Fetch, path: str) -> tuple[object, Counter, str]:
    """Fetch `path` from a fresh server; returns (Response or FetchError, hits, the server's base URL)."""
    app = make_app()
    async with serve_app(app) as server, Fetcher(cfg) as f:
        try:
            result: object = await f.get(url(server, path))
        except FetchError as exc:
            result = exc
        return result, app[HITS], url(server, "/")


def fetch(cfg: Fetch, path: str) -> tuple[object, Counter, str]:
    return asyncio.run(get(cfg, path))


def test_200_ok_decoded():
    resp, hits, _ = fetch(fast(), "/ok")
    assert not isinstance(resp, FetchError), resp
    assert resp.status == 200
    assert resp.text == "<p>你好</p>"
    assert resp.encoding == "utf-8"
    assert resp.body == "<p>你好</p>".encode()
    assert resp.headers["content-type"].startswith("text/html")
    assert hits["/ok"] == 1


def test_a_page_for_a_worker_keeps_its_header_lines_as_received_until_decoded():
    """decoded=False: the header lines travel as the bytes that came (a worker decodes them: decode_response), then
    read as raw_headers do, latin-1, a character a byte."""
    from newsmirror.fetch import decode_response

    async def go() -> tuple:
        app = make_app()
        async with serve_app(app) as server, Fetcher(fast()) as f:
            return await f.get(url(server, "/ok"), decoded=False), await f.get(url(server, "/ok"))

    raw, decoded = asyncio.run(go())
    assert raw.raw_headers == [] and raw.text == "" and raw.headers["content-type"].startswith("text/html")
    assert (b"Content-Type", b"text/html; charset=utf-8") in raw.raw_header_bytes
    done = decode_response(raw, 10**6)
    assert done.raw_header_bytes == () and ("Content-Type", "text/html; charset=utf-8") in done.raw_headers
    assert [k for k, _ in done.raw_headers] == [k for k, _ in decoded.raw_headers] and done.text == decoded.text
    odd = dataclasses.replace(raw, raw_header_bytes=((b"X-Name", "café".encode()),))
    assert odd.header_lines() == [("X-Name", "cafÃ©")]  # (the bytes as they came, one character each)


def test_redirects_followed_final_url():
    resp, hits, base = fetch(fast(), "/start")
    assert not isinstance(resp, FetchError), resp
    assert resp.url == base + "start"
    assert resp.final_url == base + "final?x=1"
    assert resp.text == "<p>你好</p>"
    assert (hits["/start"], hits["/hop"], hits["/final"]) == (1, 1, 1)


def test_redirect_loop_fails():
    err, hits, _ = fetch(fast(max_redirects=3), "/loop")
    assert isinstance(err, FetchError)
    assert "redirects" in err.reason
    assert "more than 3" in err.reason
    assert hits["/loop"] == 4  # the first request and 3 redirects, no retry
    assert not err.retry


def test_redirect_to_file_scheme_refused():
    err, hits, _ = fetch(fast(), "/to-file")
    assert isinstance(err, FetchError)
    assert "file" in err.reason and "only http(s)" in err.reason
    assert "root:" not in str(err)
    assert err.status is None
    assert hits["/to-file"] == 1  # not retried


def test_redirect_without_location():
    err, hits, _ = fetch(fast(), "/no-location")
    assert isinstance(err, FetchError)
    assert err.status == 302 and "Location" in err.reason
    assert hits["/no-location"] == 1


def test_404_is_not_retried():
    err, hits, _ = fetch(fast(retries=3), "/missing")
    assert isinstance(err, FetchError)
    assert err.status == 404
    assert "404" in str(err)
    assert hits["/missing"] == 1


def test_500_then_200_succeeds_after_retry():
    resp, hits, _ = fetch(fast(retries=2), "/flaky")
    assert not isinstance(resp, FetchError), resp
    assert resp.text == "recovered"
    assert hits["/flaky"] == 2


def test_5xx_gives_up_after_retries():
    err, hits, _ = fetch(fast(retries=2), "/always-503")
    assert isinstance(err, FetchError)
    assert err.status == 503
    assert hits["/always-503"] == 3  # one try and two retries


def test_429_retry_after_zero_then_200():
    resp, hits, _ = fetch(fast(retries=1), "/limited")
    assert not isinstance(resp, FetchError), resp
    assert resp.text == "after 429"
    assert hits["/limited"] == 2


def test_429_retry_after_too_long_fails_fast():
    t0 = time.monotonic()
    err, hits, _ = fetch(fast(retries=3, max_retry_after=5), "/limited-long")
    assert time.monotonic() - t0 < 5
    assert isinstance(err, FetchError)
    assert err.status == 429
    assert "max_retry_after" in err.reason
    assert "3600" in err.reason
    assert hits["/limited-long"] == 1


def test_body_over_max_bytes_declared_length():
    err, hits, _ = fetch(fast(max_bytes=1000), "/big-declared")
    assert isinstance(err, FetchError)
    assert "max_bytes" in err.reason and "5000" in err.reason
    assert hits["/big-declared"] == 1


def test_body_over_max_bytes_chunked():
    err, hits, _ = fetch(fast(max_bytes=1000), "/big-chunked")
    assert isinstance(err, FetchError)
    assert "max_bytes" in err.reason
    assert hits["/big-chunked"] == 1


def test_body_exactly_max_bytes_is_fine():
    resp, _, _ = fetch(fast(max_bytes=1000), "/exact")
    assert not isinstance(resp, FetchError), resp
    assert len(resp.body) == 1000


@pytest.mark.parametrize("path", ["/stall-body", "/stall-headers"])
def test_stalled_read_times_out(path):
    t0 = time.monotonic()
    err, hits, _ = fetch(fast(retries=0, read_timeout=0.3), path)
    assert isinstance(err, FetchError)
    assert "timed out" in err.reason
    assert hits[path] == 1
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("path", ["/stall-body", "/stall-headers"])
def test_a_timeout_is_not_retried_in_the_run(path):
    err, hits, _ = fetch(fast(retries=2, read_timeout=0.2), path)
    assert isinstance(err, FetchError) and "timed out" in err.reason
    assert not err.retry
    assert hits[path] == 1  # one slow server must not hold the run for (retries + 1) timeouts


@pytest.mark.parametrize("path", ["/stall-body", "/stall-headers"])
def test_read_timeout_holds_with_the_speed_floor_off(path):
    """fetch.read_timeout is checked by the speed floors' timer (not aiohttp's sock_read): with min_speed = 0 too."""
    t0 = time.monotonic()
    err, hits, _ = fetch(fast(retries=0, read_timeout=0.3, min_speed=0), path)
    assert isinstance(err, FetchError) and err.reason == "timed out: nothing arrived for 0.3 s (fetch.read_timeout)"
    assert hits[path] == 1 and time.monotonic() - t0 < 5


def test_a_body_that_arrives_slowly_but_never_stops_for_read_timeout_is_not_cut_by_it():
    resp, hits, _ = fetch(fast(retries=0, read_timeout=0.3, min_speed=0), "/drip-body?n=20")  # a byte every 0.05 s
    assert not isinstance(resp, FetchError), resp
    assert resp.body == b"d" * 20 and hits["/drip-body"] == 1


# -- the speed floor (fetch.min_speed over fetch.min_speed_time), like curl's --speed-limit/--speed-time


def floor(**kw: object) -> Fetch:
    """Fast, with a floor of 1000 bytes/s measured over 0.4 s, and retries that a cut must not use."""
    return fast(**{"retries": 2, "min_speed": 1000, "min_speed_time": 0.4, **kw})


FLOOR_REASON = "too slow: under 1000 bytes/s for 0.4 s (fetch.min_speed / fetch.min_speed_time)"


def test_a_body_that_drips_is_cut_once_and_not_retried_in_the_run():
    err, hits, _ = fetch(floor(), "/drip-body")  # 100 bytes, one every 0.05 s: it would be whole after 5 s
    assert isinstance(err, FetchError), err
    assert err.reason == FLOOR_REASON
    assert not err.retry and err.status is None
    assert hits["/drip-body"] == 1


@asynccontextmanager
async def dripping_server(payload: bytes, every: float = 0.05) -> AsyncIterator[tuple[str, list[str]]]:
    """A raw HTTP server on 127.0.0.1 that answers each request by sending `payload` (status line and headers
    included) one byte at a time, `every` seconds apart, then hangs up; yields its base URL and the request
    lines it read. What aiohttp's server cannot do: drip the headers themselves."""
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            seen.append(request.split(b"\r\n", 1)[0].decode("latin-1"))
            for i in range(len(payload)):  # bounded: nothing outlives the test
                writer.write(payload[i:i + 1])
                await writer.drain()
                await asyncio.sleep(every)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen
    finally:
        server.close()
        await server.wait_closed()


def test_headers_that_drip_are_cut_too():
    """aiohttp's sock_read timeout starts again with every byte: only the floor stops a drip of headers."""
    payload = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"p" * 60 + b"\r\n"
               b"Content-Length: 5\r\n\r\nhello")  # whole after about 6 s

    async def go() -> tuple[object, list[str]]:
        async with dripping_server(payload) as (base, seen), Fetcher(floor(obey_robots=False)) as f:
            try:
                return await f.get(base + "/slow-head"), seen
            except FetchError as exc:
                return exc, seen

    err, seen = asyncio.run(go())
    assert isinstance(err, FetchError), err
    assert FLOOR_REASON in err.reason and not err.retry
    assert seen == ["GET /slow-head HTTP/1.1"]  # one request: not retried in this run


def test_a_robots_txt_that_drips_keeps_the_site_out_of_the_run():
    """As one that cannot be read (RFC 9309): nothing of the site is fetched this run, and the reason says why."""
    payload = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\n" + b"#" * 40

    async def go() -> tuple[object, list[str]]:
        async with dripping_server(payload) as (base, seen), Fetcher(floor()) as f:
            try:
                return await f.get(base + "/article.html"), seen
            except FetchError as exc:
                return exc, seen

    err, seen = asyncio.run(go())
    assert isinstance(err, FetchError), err
    assert FLOOR_REASON in err.reason and "robots.txt" in err.reason and "nothing of it is fetched" in err.reason
    assert seen == ["GET /robots.txt HTTP/1.1"]


def test_responses_above_the_floor_are_whole():
    async def go() -> list[object]:
        async with serve_app(make_app()) as server, Fetcher(floor(min_speed_time=0.3)) as f:
            return [await f.get(url(server, p)) for p in ("/ok", "/steady", "/gbk")]

    ok, steady, gbk = asyncio.run(go())
    assert ok.text == "<p>你好</p>"
    assert steady.body == b"s" * 5_000  # 0.5 s at about 10 KB/s: above the floor in every window
    assert gbk.status == 200


def test_a_floor_of_zero_is_off():
    resp, hits, _ = fetch(floor(min_speed=0), "/drip-body?n=10")  # 0.5 s at 20 bytes/s: past the floor's window
    assert not isinstance(resp, FetchError), resp
    assert resp.body == b"d" * 10


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def go() -> FetchError:
        async with Fetcher(fast(retries=1)) as f:
            with pytest.raises(FetchError) as ei:
                await f.get(f"http://127.0.0.1:{port}/x")
            return ei.value

    err = asyncio.run(go())
    assert "cannot connect" in err.reason
    assert str(port) in err.reason
    assert err.status is None


def test_user_agent_is_the_configured_one():
    app = make_app()

    async def go() -> str:
        async with serve_app(app) as server, Fetcher(fast(user_agent="TestMirror/9.9 (+tests)")) as f:
            return (await f.get(url(server, "/ua"))).text

    assert asyncio.run(go()) == "TestMirror/9.9 (+tests)"
    assert app[SEEN]["ua"] == "TestMirror/9.9 (+tests)"
    assert app[SEEN]["accept-language"].startswith("zh-CN")


def test_gbk_page_without_header_charset_is_decoded():
    resp, _, _ = fetch(fast(), "/gbk")
    assert not isinstance(resp, FetchError), resp
    assert resp.encoding == "gb18030"
    assert (FIXTURES / "gbk" / "expected.txt").read_text(encoding="utf-8").strip() in resp.text


def test_fetcher_outside_context_manager_is_an_error():
    async def go() -> None:
        await Fetcher(fast()).get("http://127.0.0.1:9/")

    with pytest.raises(AssertionError, match="context manager"):
        asyncio.run(go())


# -- politeness: per-host limit, and one slow host must not hold up the others


class Gate:
    """A server that records how many requests are in flight; handlers wait until the test opens the gate."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrived = 0
        self.changed = asyncio.Condition()
        self.app = web.Application()
        self.app.router.add_get("/slow/{n}", self.slow)
        self.app.router.add_get("/canary", self.canary)

    async def slow(self, request: web.Request) -> web.Response:
        async with self.changed:
            self.in_flight += 1
            self.arrived += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.changed.notify_all()
        try:
            await self.open.wait()
        finally:
            self.in_flight -= 1
        return web.Response(text=request.match_info["n"])

    async def canary(self, request: web.Request) -> web.Response:
        return web.Response(text="canary")

    async def wait_arrived(self, n: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.arrived >= n)


def test_per_host_concurrency_limit():
    async def go() -> tuple[Gate, list[str]]:
        gate = Gate()
        async with serve_app(gate.app) as server, Fetcher(fast(per_host=2, concurrency=8)) as f:
            tasks = [asyncio.create_task(f.get(url(server, f"/slow/{i}"))) for i in range(6)]
            try:
                await asyncio.wait_for(gate.wait_arrived(2), 5)
                # a full round trip on another connection: requests that were let through have arrived by now
                async with aiohttp.ClientSession() as other:
                    async with other.get(url(server, "/canary")) as r:
                        assert await r.text() == "canary"
                assert gate.in_flight == 2
            finally:
                gate.open.set()
                done = await asyncio.wait_for(asyncio.gather(*tasks), 10)
            return gate, [r.text for r in done]

    gate, texts = asyncio.run(go())
    assert texts == [str(i) for i in range(6)]
    assert gate.arrived == 6
    assert gate.max_in_flight == 2


def test_slow_host_does_not_block_other_hosts():
    """With concurrency=2, per_host=1: requests queued for a stuck host must not take the global slots."""

    async def go() -> str:
        stuck = Gate()
        async with serve_app(stuck.app) as slow_server, serve_app(make_app()) as quick_server, \
                Fetcher(fast(per_host=1, concurrency=2)) as f:
            queued = [asyncio.create_task(f.get(url(slow_server, f"/slow/{i}"))) for i in range(3)]
            await asyncio.wait_for(stuck.wait_arrived(1), 5)
            try:
                resp = await asyncio.wait_for(f.get(url(quick_server, "/ok")), 5)
            finally:
                stuck.open.set()
                await asyncio.gather(*queued)
            assert stuck.max_in_flight == 1
            return resp.text

    assert asyncio.run(go()) == "<p>你好</p>"


# -- Retry-After


def test_parse_retry_after_seconds():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0


def test_parse_retry_after_http_date():
    now = float(int(time.time()))
    value = email.utils.formatdate(now + 90, usegmt=True)
    assert parse_retry_after(value, now=now) == pytest.approx(90.0)
    past = email.utils.formatdate(now - 90, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3", "\xb2", "\u0663"])
def test_parse_retry_after_garbage_is_none(value):
    assert parse_retry_after(value) is None


def test_a_fetch_error_survives_the_trip_from_a_worker_process():
    import pickle

    err = FetchError("http://127.0.0.1/x", "HTTP 429 Too Many Requests", status=429, retry=True, retry_after=3.0)
    back = pickle.loads(pickle.dumps(err))
    assert (back.url, back.reason, back.status, back.retry, back.retry_after, str(back)) == \
        (err.url, err.reason, 429, True, 3.0, str(err))


def robots_app(robots: str, redirects: dict[str, str]) -> web.Application:
    """A site with this robots.txt whose paths in `redirects` answer 302 to their target; others 200."""
    app = web.Application(middlewares=[count_hits])
    app[HITS] = Counter()

    async def handle(request: web.Request) -> web.Response:
        if request.path == "/robots.txt":
            return web.Response(text=robots)
        if request.path in redirects:
            raise web.HTTPFound(redirects[request.path])
        return web.Response(text=f"<p>{request.path}</p>", content_type="text/html")

    app.router.add_get("/{tail:.*}", handle)
    return app


def test_a_redirect_into_a_disallowed_path_is_not_followed():
    async def go() -> tuple[object, Counter]:
        app = robots_app("User-agent: *\nDisallow: /private/\n", {"/open/a1": "/private/a1"})
        async with serve_app(app) as server, Fetcher(fast()) as f:
            try:
                return await f.get(url(server, "/open/a1")), app[HITS]
            except FetchError as exc:
                return exc, app[HITS]

    err, hits = asyncio.run(go())
    assert isinstance(err, FetchError) and "redirected to" in err.reason and "robots.txt" in err.reason
    assert hits["/open/a1"] == 1 and hits["/private/a1"] == 0


def test_a_redirect_to_another_host_obeys_that_hosts_robots_and_pace():
    async def go() -> tuple[object, object, Counter]:
        other = robots_app("User-agent: *\nDisallow: /closed/\nCrawl-delay: 0.3\n", {})
        async with serve_app(other) as there:
            here = robots_app("", {"/x": url(there, "/closed/x"), "/y": url(there, "/open/y"),
                                   "/z": url(there, "/open/z")})
            async with serve_app(here) as server, Fetcher(fast()) as f:
                try:
                    await f.get(url(server, "/x"))
                    closed: object = None
                except FetchError as exc:
                    closed = exc
                t = asyncio.get_running_loop().time()
                await asyncio.gather(f.get(url(server, "/y")), f.get(url(server, "/z")))
                return closed, asyncio.get_running_loop().time() - t, other[HITS]

    closed, took, hits = asyncio.run(go())
    assert isinstance(closed, FetchError) and "robots.txt" in closed.reason and hits["/closed/x"] == 0
    assert hits["/open/y"] == 1 and hits["/open/z"] == 1
    assert took >= 0.3  # the other host's Crawl-delay spaced the two redirected requests


def test_a_redirect_to_a_host_that_is_not_a_host_fails_that_url_alone():
    async def go() -> tuple[object, object]:
        app = robots_app("", {"/bad": "http://www..example.com/x"})
        async with serve_app(app) as server, Fetcher(fast()) as f:
            try:
                bad: object = await f.get(url(server, "/bad"))
            except FetchError as exc:
                bad = exc
            return bad, await f.get(url(server, "/fine"))

    bad, fine = asyncio.run(go())
    assert isinstance(bad, FetchError) and "not a URL that can be fetched" in bad.reason and not bad.retry
    assert fine.text == "<p>/fine</p>"


def test_the_per_host_limits_are_keyed_by_the_netloc_urlsplit_reads():
    for url in ["https://News.Example/a.html", "http://user:pw@x.example:8080/p?q=1#f", "http://x.example?q",
                "http://x.example#top", "https://[::1]:8443/", "http://x.example", "http://a\tb.example/x",
                "http://127.0.0.1:5000/a/b/c?d=/e"]:
        assert _netloc(origin_of(url)) == urlsplit(url).netloc.lower(), url


@pytest.mark.parametrize("at", [1_767_225_600.0, 1_767_225_600.25, 1_767_225_601.5, 951_782_400.125])
def test_a_response_is_dated_as_warcio_dates_it(monkeypatch, at):
    """warc_date() writes the date and time once a second and the microseconds each time: as warcio writes them."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from warcio.timeutils import datetime_to_iso_date

    from newsmirror.fetch import warc

    monkeypatch.setattr(warc, "time", SimpleNamespace(time=lambda: at, strftime=time.strftime, gmtime=time.gmtime))
    expected = datetime_to_iso_date(datetime.fromtimestamp(at, UTC).replace(tzinfo=None), use_micros=True)
    assert warc.warc_date() == expected
    assert warc.warc_date(datetime.fromtimestamp(at, UTC)) == expected
