"""An HTTP client for a cron job: bounded in time, bytes and redirects, polite per host.

Retries with exponential backoff on connection errors, 5xx and 429 (honouring
Retry-After); a timeout, or a response slower than `fetch.min_speed`, fails at
once: one slow server must not hold the run (the URL is tried again next run).
Never follows a redirect to anything but http(s).
Obeys robots.txt (and its Crawl-delay) unless told not to, spaces requests to
one host by `fetch.rate_limit`, sends conditional requests when given an ETag
or a Last-Modified date, and decompresses bodies itself so that the bytes as
received are kept (for the WARC record) and a compression bomb is stopped at
`fetch.max_bytes` of output.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import functools
import logging
import time
import zlib
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import aiohttp

from ..config import Fetch
from ..ids import fetchable_host, origin_of
from ..models import Response
from ..textsafe import printable
from .decode import decode
from .errors import FetchError
from .netguard import AddressRefused, GuardedResolver, not_public, refusal
from .robots import RobotsCache
from .speed import SpeedFloor, SpeedFloors
from .warc import warc_date

log = logging.getLogger("newsmirror.fetch")

RETRY_STATUSES = {429, 500, 502, 503, 504, 520, 521, 522, 523, 524}
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
REDIRECT_BODY_CAP = 1 << 16  # bytes of a redirect's own page kept for the WARC file


def _check_target(url: str, current: str, allowed: frozenset[str] | None = None, origin: str | None = None) -> None:
    """Raise FetchError unless `current` (`url`, or where it redirected) is an http(s) URL with a real host,
    and (with `allowed`, see netguard) an address written in it is one newsmirror may fetch from. `origin`:
    ids.origin_of(current), when the caller has it."""
    scheme = current.split(":", 1)[0].lower() if ":" in current else ""
    if scheme not in ("http", "https"):
        raise FetchError(url, f"redirected to a {brief(scheme, 20) or 'relative'}: URL ({brief(current)}); "
                              "only http(s) is followed")
    why = _host_problem(origin_of(current) if origin is None else origin, allowed)
    if why is not None:
        where = "" if current == url else f"redirected to {brief(current)}: "
        raise FetchError(url, where + why)


@functools.lru_cache(maxsize=4096)
def _host_problem(origin: str, allowed: frozenset[str] | None) -> str | None:
    """Why the host of an http(s) URL, given as ids.origin_of(url) (its path changes nothing: worked out once a
    site, not once a page), may not be fetched; or None."""
    found = fetchable_host(origin)
    if found is None:  # a broken IPv6 address, an empty host label…
        return "not a URL that can be fetched"
    if allowed is not None:
        host = found.rstrip(".")  # (ids.host_of)
        if not_public(host) != "not an IP address":  # an address in the URL: no resolver sees it
            return refusal(host, host, allowed) or None
    return None


@functools.lru_cache(maxsize=4096)
def _netloc(origin: str) -> str:
    """urlsplit(url).netloc.lower(), given ids.origin_of(url): what the per-host limits are keyed by, worked out once
    a site, not once a request."""
    return urlsplit(origin).netloc.lower()


def _request_lines(resp: aiohttp.ClientResponse) -> list[tuple[str, str]]:
    """The header lines of the request `resp` answers, as plain strings (aiohttp's names are multidict's istr, which
    pickle by a reduce of their own: half the cost of sending a page to a worker)."""
    return [(str(k), str(v)) for k, v in resp.request_info.headers.items()]


def brief(text: object, limit: int = 200) -> str:
    """Text that may quote what a server sent (a reason phrase, a Location, a parser error showing the
    bytes it choked on) as one line of at most `limit` characters, fit for the log and `status`."""
    line = printable(" ".join(str(text).split()))  # escape codes a server sent stay text on the operator's terminal
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class Fetcher:
    """Use as `async with Fetcher(cfg) as f: resp = await f.get(url)`."""

    def __init__(self, cfg: Fetch, allowed: frozenset[str] | None = None) -> None:
        """`allowed`: the hosts the config names (see netguard); with it, no other host is fetched from when it
        is on the operator's network. None (a library caller's own fetches) checks no address."""
        self.cfg = cfg
        self.allowed = allowed
        self._session: aiohttp.ClientSession | None = None
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._all = asyncio.Semaphore(cfg.concurrency)
        self._pace: dict[str, asyncio.Lock] = {}
        self._next_at: dict[str, float] = {}
        self.robots = RobotsCache(self._in_turn)  # robots.txt is fetched in turn, as any page of its host
        self._crawl_delays: dict[int, float | None] = {}  # id(robots rules) → its Crawl-delay for our agent
        self._floors = SpeedFloors(min(cfg.min_speed_time / 10, cfg.read_timeout / 4, 1.0))

    async def __aenter__(self) -> Fetcher:
        # (no sock_read: fetch.read_timeout is the speed floors', see SpeedFloor)
        timeout = aiohttp.ClientTimeout(total=self.cfg.total_timeout, sock_connect=self.cfg.connect_timeout)
        proxy = self.cfg.proxy
        if proxy and proxy.startswith("socks"):
            from aiohttp_socks import ProxyConnector

            connector: aiohttp.BaseConnector = ProxyConnector.from_url(proxy, limit=self.cfg.concurrency)
        else:
            connector = aiohttp.TCPConnector(limit=self.cfg.concurrency, limit_per_host=self.cfg.per_host,
                                             resolver=GuardedResolver(self.allowed) if self.allowed is not None
                                             else None)
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            connector=connector,
            auto_decompress=False,
            headers={
                "User-Agent": self.cfg.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "zh-CN,zh;q=0.9,zh-TW;q=0.8,en;q=0.5",
                "Accept-Encoding": "gzip, deflate",
            },
            max_line_size=16384,
            max_field_size=16384,
        )
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session:
            await self._session.close()

    def _host_sem(self, origin: str) -> asyncio.Semaphore:
        """The per-host limit of the URLs of `origin` (ids.origin_of(url))."""
        host = _netloc(origin)
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.cfg.per_host)
        return sem

    async def _wait_turn(self, origin: str, delay: float) -> None:
        """Space requests to one host (of `origin`, ids.origin_of(url)) at least `delay` seconds apart."""
        if delay <= 0:
            return
        host = _netloc(origin)
        lock = self._pace.setdefault(host, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            wait = self._next_at.get(host, 0.0) - now
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_at[host] = max(now, self._next_at.get(host, 0.0)) + delay

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  obey_robots: bool | None = None, as_text: bool = True, max_bytes: int | None = None,
                  decoded: bool = True) -> Response:
        """Fetch one URL, retrying what is worth retrying. Raises FetchError.

        With `etag` / `last_modified` the request is conditional and a 304 comes back as a
        Response with status 304 and no body. `as_text=False` (an image) leaves `text` empty;
        `max_bytes` overrides fetch.max_bytes for this URL. `decoded=False` returns the body as
        received only (`raw_body`), for `decode_response()` to decode elsewhere (a worker process).
        """
        obey = self.cfg.obey_robots if obey_robots is None else obey_robots
        conditional = {}
        if etag:
            conditional["If-None-Match"] = etag
        if last_modified:
            conditional["If-Modified-Since"] = last_modified
        # each hop of a redirect is a request of its own: robots.txt, Crawl-delay and the per-host limits of
        # the host it goes to apply to it
        current = url
        hops: list[Response] = []  # the redirects followed, kept for the WARC file
        for _hop in range(self.cfg.max_redirects + 1):
            origin = origin_of(current)  # (what the checks and limits below depend on: worked out once a hop)
            _check_target(url, current, self.allowed, origin)
            delay = await self._permitted(url, current, obey, origin)
            resp = await self._retrying(url, current, origin, conditional, delay, as_text, max_bytes, decoded)
            if resp.status == 304 and not conditional:  # "not modified" since nothing: no page at all
                raise FetchError(url, "HTTP 304 Not Modified to a request that asked for no comparison (a broken "
                                      "server or cache); tried again next run", status=304)
            if resp.status not in REDIRECT_STATUSES:
                return dataclasses.replace(resp, hops=[*hops, *resp.hops]) if hops else resp
            hops.append(dataclasses.replace(resp, final_url=current))  # archived at its own address
            current = resp.final_url
        raise FetchError(url, f"more than {self.cfg.max_redirects} redirects (fetch.max_redirects)")

    async def _permitted(self, url: str, current: str, obey: bool, origin: str) -> float:
        """Raise FetchError when robots.txt disallows `current` (`url`, or where it redirected; `origin`: its
        ids.origin_of); else the seconds to leave between requests to its host."""
        delay = self.cfg.rate_limit
        if obey:
            rules = await self.robots.rules_for(current, origin)
            if rules is not None:
                if not rules.can_fetch(current, self.cfg.user_agent):
                    where = "" if current == url else f"redirected to {brief(current)}: "
                    unread = self.robots.unavailable.get(self.robots.robots_url(current))
                    if unread is not None:
                        raise FetchError(url, f"{where}{unread}, reading the site's robots.txt: nothing of it is "
                                              "fetched this run (RFC 9309); tried again next run")
                    raise FetchError(url, f"{where}disallowed by the site's robots.txt (set obey_robots = false on "
                                          "the source to override)")
                crawl_delay = self._crawl_delays.get(id(rules), -1.0)
                if crawl_delay == -1.0:  # asked once a host (the rules live as long as the run's robots cache)
                    crawl_delay = self._crawl_delays[id(rules)] = rules.crawl_delay(self.cfg.user_agent)
                if crawl_delay:
                    delay = max(delay, min(float(crawl_delay), self.cfg.max_crawl_delay))
        return delay

    async def _retrying(self, url: str, current: str, origin: str, conditional: dict[str, str], delay: float,
                        as_text: bool, max_bytes: int | None, decoded: bool) -> Response:
        """One request for `current` (a hop of `url`; `origin`: its ids.origin_of), in turn with its host, retried
        when worth it."""
        attempt = 0
        while True:
            try:
                async with self._host_sem(origin), self._all:
                    await self._wait_turn(origin, delay)
                    return await self._once(url, conditional, as_text, max_bytes, decoded, at=current, follow=False)
            except FetchError as exc:
                if not exc.retry or attempt >= self.cfg.retries:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else self.cfg.backoff * (2**attempt)
                if wait > self.cfg.max_retry_after:
                    raise FetchError(url, f"{exc.reason}; server asks to wait {wait:.0f}s, more than "
                                          f"fetch.max_retry_after", status=exc.status) from None
                attempt += 1
                log.debug("retry %d for %s in %.1fs: %s", attempt, url, wait, exc.reason)
                await asyncio.sleep(wait)

    async def _in_turn(self, url: str) -> Response:
        """One request for `url` (robots.txt: not retried in this run, redirects followed) once its host and the
        run have a connection free for it, as `_retrying` does: fetch.min_speed then measures the server, not a
        wait for a connection behind slow responses from other hosts."""
        async with self._host_sem(origin_of(url)), self._all:
            return await self._once(url)

    async def _once(self, url: str, extra_headers: dict[str, str] | None = None, as_text: bool = True,
                    max_bytes: int | None = None, decoded: bool = True, at: str | None = None,
                    follow: bool = True) -> Response:
        """One request for `url` (or for `at`, a hop of it), following redirects, or with `follow=False`
        answering one with a Response of its status whose final_url is where it leads. Raises FetchError.
        The first URL is the caller's to check (`_check_target`); the redirects it follows are checked here.
        Cut when slower than fetch.min_speed, headers and all: a failure not retried in this run."""
        floor = SpeedFloor(self.cfg.min_speed, self.cfg.min_speed_time, self.cfg.read_timeout)
        try:
            async with self._floors.watch(floor):
                return await self._request(url, floor, extra_headers, as_text, max_bytes, decoded, at, follow)
        except TimeoutError:
            if not floor.tripped:
                raise
            raise FetchError(url, floor.reason()) from None

    async def _request(self, url: str, floor: SpeedFloor, extra_headers: dict[str, str] | None, as_text: bool,
                       max_bytes: int | None, decoded: bool, at: str | None, follow: bool) -> Response:
        """`_once` without the speed floor, which counts the bytes of each response it gets on `floor`."""
        cap = max_bytes or self.cfg.max_bytes
        assert self._session is not None, "use Fetcher as an async context manager"
        current = at or url
        hops: list[Response] = []  # the redirects followed, kept for the WARC file
        for _hop in range(self.cfg.max_redirects + 1):
            try:
                async with self._session.get(
                    current,
                    allow_redirects=False,
                    headers=extra_headers or None,
                    proxy=self.cfg.proxy if self.cfg.proxy and not self.cfg.proxy.startswith("socks") else None,
                ) as resp:
                    floor.response(resp)
                    date, ip = warc_date(), self._peer(resp)
                    if resp.status in REDIRECT_STATUSES:
                        loc = resp.headers.get("Location")
                        if not loc:
                            raise FetchError(url, f"HTTP {resp.status} redirect without a Location", status=resp.status)
                        hop = await self._hop(current, resp, date, ip)
                        if not follow:  # where it leads in final_url; the hop as received for the WARC file
                            return dataclasses.replace(hop, url=url, final_url=urljoin(current, loc))
                        hops.append(hop)
                        current = urljoin(current, loc)
                        _check_target(url, current, self.allowed)
                        continue
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    if resp.status == 304:
                        return Response(url=url, final_url=str(resp.url), status=304, headers=headers, body=b"",
                                        text="", encoding="utf-8")
                    if resp.status >= 400:
                        retry = resp.status in RETRY_STATUSES
                        raise FetchError(url, brief(f"HTTP {resp.status} {resp.reason or ''}"), status=resp.status,
                                         retry=retry, retry_after=parse_retry_after(resp.headers.get("Retry-After")))
                    raw = await self._read_capped(url, resp, cap)
                    received = Response(  # (its header lines as they came: decode_response decodes them, in a
                        url=url, final_url=str(resp.url), status=resp.status, headers=headers, body=b"",  # worker)
                        text="", encoding="", raw_body=raw, raw_header_bytes=resp.raw_headers,
                        request_headers=_request_lines(resp),
                        http_version=f"{resp.version.major}.{resp.version.minor}" if resp.version else "1.1",
                        reason=resp.reason or "", ip=ip, date=date, hops=hops,
                    )
                    return decode_response(received, cap, as_text) if decoded else received
            except FetchError:
                raise
            except (TimeoutError, aiohttp.ServerTimeoutError):
                # not retried: a server this slow would only hold the run again (the next run tries it again)
                raise FetchError(url, "timed out (fetch.read_timeout / fetch.total_timeout)") from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, AddressRefused):  # not worth a retry: the answer will be the same
                    where = "" if current == url else f"redirected to {brief(current)}: "
                    raise FetchError(url, where + str(exc.os_error)) from None
                raise FetchError(url, f"cannot connect to {exc.host}:{exc.port} "
                                      f"({brief(exc.os_error.strerror or exc)})", retry=True) from None
            except aiohttp.ServerDisconnectedError:
                # its text is the repr of the half-read response, headers and all: not a reason to show
                raise FetchError(url, "the server disconnected before the response was complete",
                                 retry=True) from None
            except aiohttp.ClientPayloadError as exc:
                raise FetchError(url, f"broken response body ({brief(exc)})", retry=True) from None
            except aiohttp.ClientResponseError as exc:
                raise FetchError(url, f"bad HTTP response ({brief(exc.message)})", retry=True) from None
            except aiohttp.ClientError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {brief(exc)}", retry=True) from None
            except ValueError as exc:  # a URL Python refuses (UnicodeError: a host label empty or too long)
                raise FetchError(url, f"not a URL that can be fetched ({brief(current)}: {brief(exc)})") from None
        raise FetchError(url, f"more than {self.cfg.max_redirects} redirects (fetch.max_redirects)")

    def _peer(self, resp: aiohttp.ClientResponse) -> str:
        """The address the response came from (asked while it is open), or "" through a proxy (whose address it
        would be) or when the transport does not say."""
        if self.cfg.proxy:
            return ""
        # a short response read whole with its headers has given its connection back already: its protocol
        # (aiohttp keeps it on the response) still holds the transport
        conn = resp.connection
        transport = conn.transport if conn is not None else getattr(getattr(resp, "_protocol", None), "transport",
                                                                      None)
        peer = transport.get_extra_info("peername") if transport is not None else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else ""

    async def _hop(self, current: str, resp: aiohttp.ClientResponse, date: str, ip: str) -> Response:
        """A redirect as received, for the WARC file: its status line, headers and (short) body."""
        try:
            raw = await self._read_capped(current, resp, REDIRECT_BODY_CAP)
        except FetchError:  # a redirect's page is not worth more: archived without it
            raw = b""
        return Response(url=current, final_url=current, status=resp.status, headers={}, body=b"", text="",
                        encoding="", raw_body=raw,
                        raw_header_bytes=resp.raw_headers,
                        request_headers=_request_lines(resp),
                        http_version=f"{resp.version.major}.{resp.version.minor}" if resp.version else "1.1",
                        reason=resp.reason or "", ip=ip, date=date)

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse, cap: int) -> bytes:
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit():
            if int(declared) > cap:
                raise FetchError(url, f"body of {int(declared)} bytes is over fetch.max_bytes ({cap})")
            return await resp.read()  # in one go: the parser reads no more than the length declared
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > cap:
                raise FetchError(url, f"body is over fetch.max_bytes ({cap} bytes)")
            chunks.append(chunk)
        return b"".join(chunks)


def decode_response(resp: Response, cap: int, as_text: bool = True) -> Response:
    """A response as received (`raw_body`) with its content coding undone (`body`, at most `cap` bytes) and,
    `as_text`, turned to text by its charset. Pure, so a worker process can do it. Raises FetchError."""
    body = decompress(resp.raw_body, resp.headers.get("content-encoding"), cap, resp.url)
    text, enc = decode(body, resp.headers.get("content-type")) if as_text else ("", "")
    return dataclasses.replace(resp, body=body, text=text, encoding=enc, raw_headers=resp.header_lines(),
                               raw_header_bytes=())


def decompress(raw: bytes, encoding: str | None, cap: int, url: str = "") -> bytes:
    """Undo gzip/deflate content coding, stopping (FetchError) once the output passes `cap` bytes."""
    enc = (encoding or "").strip().lower()
    if enc in ("", "identity"):
        return raw
    if enc in ("gzip", "x-gzip"):
        wbits_options = [16 + zlib.MAX_WBITS]
    elif enc == "deflate":
        wbits_options = [zlib.MAX_WBITS, -zlib.MAX_WBITS]  # zlib-wrapped, or raw deflate as some servers send
    else:
        raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")
    last_error: Exception | None = None
    for wbits in wbits_options:
        d = zlib.decompressobj(wbits)
        out: list[bytes] = []
        size = 0
        data = raw
        try:
            while data:
                piece = d.decompress(data, cap + 1 - size)
                size += len(piece)
                out.append(piece)
                if size > cap:
                    raise FetchError(url, f"decompressed body is over fetch.max_bytes ({cap} bytes): "
                                          "a compression bomb, or raise the cap")
                data = d.unconsumed_tail
                if not piece and not data:
                    break
            out.append(d.flush())
            if size + len(out[-1]) > cap:
                raise FetchError(url, f"decompressed body is over fetch.max_bytes ({cap} bytes)")
            return b"".join(out)
        except zlib.error as exc:
            last_error = exc
    raise FetchError(url, f"broken {enc} body ({last_error})")
