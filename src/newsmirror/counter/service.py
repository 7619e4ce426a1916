"""`newsmirror counter serve`: the view counter behind the pages' 0-pixel image.

`GET /<prefix><page path>` answers a 1×1 GIF that no cache keeps and counts
one view of that page for the day (UTC). A page path is one the mirror
writes (`pages/<category>/<id>.md`, its HTML twin under `site/`, or either
in a script variant's folder); all of a page's versions count for its
Markdown path. Anything else, or anything longer than MAX_PATH, is a 404
and counts nothing. With `mirror` (the output tree), only pages that exist
there count.

`GET /stats.json?days=7&limit=50` lists the most-read pages of the last
finished days (up to yesterday, UTC): nobody can watch today's views come
in. Each answer is made once a day and kept.

What it keeps about readers: nothing on disk, and nothing in the log (no
access log; aiohttp's own error lines are cut to the kind of error). To
count a reader's repeat views within `dedupe_window`
seconds once, and to rate-limit one client, it keeps in memory a keyed
hash (BLAKE2b, keyed) of the client's address, with a random key made at
start and replaced every UTC day (the old hashes are dropped with it).
Both tables are capped at `max_clients` entries, oldest dropped first.

Counts are written in batches, one transaction every `flush_interval`
seconds (or sooner when many pages are pending); SIGTERM and SIGINT
flush everything before the process exits.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import json
import logging
import os
import posixpath
import signal
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..layout import MARKDOWN, parse_page
from .db import MAX_PAGES, CounterDB, tree_pages, window

log = logging.getLogger("newsmirror.counter")

MAX_PATH = 300
MAX_PENDING = 10_000  # distinct (day, page) pairs held before a flush is due at once
MAX_HELD = 200_000  # distinct (day, page) pairs held at most, when they cannot be written (new ones dropped)
# a 1×1 transparent GIF
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")
NO_CACHE = {
    "Cache-Control": "no-cache, no-store, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}

@functools.lru_cache(maxsize=8192)  # the same few pages are asked for again and again
def page_key(path: str, prefix: str = "/") -> str | None:
    """The page a pixel request counts for (`pages/<category>/<id>.md`), or None for anything else."""
    if len(path) > MAX_PATH or not path.startswith(prefix):
        return None
    rest = unquote(path[len(prefix):])
    if not rest or rest.endswith("/") or "\\" in rest or "\x00" in rest:
        return None
    norm = posixpath.normpath("/" + rest).lstrip("/")  # collapses // and ./; a .. cannot climb above the root
    if ".." in rest.split("/"):
        return None
    page = parse_page(norm)  # (the tree's layout says which paths are pages)
    return MARKDOWN.page(page.category, page.id) if page else None


@dataclass
class Settings:
    db: Path
    dedupe_window: float = 1800.0  # seconds; 0 counts every request
    rate_limit: int = 120  # requests per minute per client; 0: no limit
    flush_interval: float = 2.0
    max_clients: int = 100_000
    prefix: str = "/"
    mirror: Path | None = None  # the output tree: only its pages count
    forwarded: bool = False  # the client is the last X-Forwarded-For address: the one our reverse proxy added


def _client(address: str) -> bytes:
    """Who a request comes from: its IPv4 address, or the /64 network of an IPv6 one (one subscriber's line
    gets a whole /64, and could otherwise be a thousand readers)."""
    if ":" in address:
        try:
            ip = ipaddress.IPv6Address(address.split("%")[0])
        except ValueError:
            return address.encode()
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d, from a dual-stack socket or proxy: an IPv4 reader
            return str(ip.ipv4_mapped).encode()  # the same as when it comes as IPv4
        if ip in _NAT64:  # 64:ff9b::a.b.c.d: IPv4 readers behind a translator, one each
            return ip.packed
        return ipaddress.IPv6Network(f"{ip}/64", strict=False).network_address.packed
    return address.encode()


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class Counter:
    """The in-memory state: pending counts, the day's hash key, the dedupe and rate tables."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.pending: dict[tuple[str, str], int] = {}
        self.counted = 0  # views counted since start, for the log
        self.writing = 0  # (day, page) pairs taken for a write that has not ended yet
        self._day = ""
        self._day_start = 0.0  # the UTC midnight that began self._day
        self._key = b""
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # hash(client, page) → when counted
        self._rate: OrderedDict[bytes, tuple[float, float]] = OrderedDict()  # hash(client) → (tokens, when)
        self._known: set[str] | None = None  # the pages of the mirror's tree (with `mirror`)

    def _today(self, now: float) -> str:
        if not self._day_start <= now < self._day_start + 86400:  # a new key each day; the old hashes go with it
            midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            self._day, self._day_start, self._key = midnight.date().isoformat(), midnight.timestamp(), os.urandom(32)
            self._seen.clear()
            self._rate.clear()
        return self._day

    def _mac(self, data: bytes) -> bytes:
        """A keyed hash (BLAKE2b's keyed mode, a MAC) under the day's key."""
        return hashlib.blake2b(data, key=self._key, digest_size=16).digest()

    def _allowed(self, client: bytes, now: float) -> bool:
        """A token bucket per client: `rate_limit` a minute, bursts up to the same number."""
        limit = self.s.rate_limit
        if not limit:
            return True
        tokens, when = self._rate.pop(client, (float(limit), now))
        tokens = min(float(limit), tokens + (now - when) * limit / 60.0)
        ok = tokens >= 1.0
        self._rate[client] = (tokens - 1.0 if ok else tokens, now)
        if len(self._rate) > self.s.max_clients:
            self._rate.popitem(last=False)
        return ok

    def known(self, key: str) -> bool:
        return self.s.mirror is None or (self._known is not None and key in self._known)

    def scan(self) -> None:
        """Read which pages the mirror's tree holds (run in a thread: the tree may hold many)."""
        if self.s.mirror is not None:
            self._known = tree_pages(self.s.mirror)

    def hit(self, key: str, address: str, now: float) -> str:
        """Count one view of page `key` from `address`: "counted", "repeat" (within the window) or "limited"."""
        day = self._today(now)
        if (day, key) not in self.pending and len(self.pending) + self.writing >= MAX_HELD:
            return "dropped"  # the file cannot be written for a long while: memory stays bounded
        client = self._mac(_client(address)) if self.s.rate_limit or self.s.dedupe_window > 0 else b""
        if not self._allowed(client, now):
            return "limited"
        if self.s.dedupe_window > 0:
            seen = self._mac(client + key.encode())
            last = self._seen.pop(seen, None)
            if last is not None and now - last < self.s.dedupe_window:
                self._seen[seen] = last  # the window runs from the view that counted
                return "repeat"
            self._seen[seen] = now
            if len(self._seen) > self.s.max_clients:
                self._seen.popitem(last=False)
        self.pending[(day, key)] = self.pending.get((day, key), 0) + 1
        self.counted += 1
        return "counted"

    def take(self) -> dict[tuple[str, str], int]:
        batch, self.pending = self.pending, {}
        return batch


class CounterApp:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.counter = Counter(settings)
        self.db = CounterDB(settings.db)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="counter-db")  # one writer, in order
        self._flusher: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._stats: dict[tuple[int, date], list[tuple[str, int]]] = {}  # stats.json's rows, for the day
        self._stats_lock = asyncio.Lock()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """Every request: aiohttp's low-level server (no router, no middleware: a third fewer CPU cycles)."""
        if request.method != "GET":
            return web.Response(status=405, headers={**NO_CACHE, "Allow": "GET"})
        if request.path == "/stats.json":
            return await self.stats(request)
        return await self.pixel(request)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.counter.scan)
        self._flusher = asyncio.create_task(self._flush_loop())
        log.info("counter: counting into %s (dedupe window %gs, rate limit %s/min)", self.s.db,
                 self.s.dedupe_window, self.s.rate_limit or "no")

    async def stop(self) -> None:
        if self._flusher:
            self._flusher.cancel()
        try:
            await self.flush()  # whatever was counted before the signal
        except Exception as exc:
            lost = sum(self.counter.pending.values())
            log.error("counter: cannot write to %s (%s); %d views are lost", self.s.db, exc, lost)
        self._io.shutdown(wait=True)
        self.db.close()
        log.info("counter: stopped; %d views counted since start", self.counter.counted)

    async def _flush_loop(self) -> None:
        rescan = time.monotonic() + 60
        while True:
            if self.s.mirror is not None and time.monotonic() > rescan:  # the tree changes when the mirror runs
                await asyncio.get_running_loop().run_in_executor(None, self.counter.scan)
                rescan = time.monotonic() + 60
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.s.flush_interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception as exc:  # a full disk, a locked file: keep counting, try again next time
                log.error("counter: cannot write to %s (%s); the counts are kept and written next time",
                          self.s.db, exc)

    async def flush(self) -> None:
        batch = self.counter.take()
        if not batch:
            return
        self.counter.writing = len(batch)
        try:
            await asyncio.get_running_loop().run_in_executor(self._io, self.db.add, batch)
        except Exception:
            for k, n in batch.items():  # put them back: nothing counted is lost
                self.counter.pending[k] = self.counter.pending.get(k, 0) + n
            raise
        finally:
            self.counter.writing = 0

    def _address(self, request: web.BaseRequest) -> str:
        if self.s.forwarded:
            fwd = ",".join(request.headers.getall("X-Forwarded-For", ()))  # a proxy may add a header line of its own
            if fwd:  # the last: what a client sends itself comes before it, and can be anything
                return fwd.rsplit(",", 1)[-1].strip()
        return request.remote or ""

    async def pixel(self, request: web.BaseRequest) -> web.Response:
        key = page_key(request.raw_path.split("?", 1)[0], self.s.prefix)
        if key is None or not self.counter.known(key):
            return web.Response(status=404, text="not a page of this mirror\n", headers=NO_CACHE)
        outcome = self.counter.hit(key, self._address(request), time.time())
        if outcome == "limited":
            return web.Response(status=429, text="too many requests\n", headers={**NO_CACHE, "Retry-After": "60"})
        if len(self.counter.pending) >= MAX_PENDING:
            self._wake.set()
        return web.Response(body=PIXEL, content_type="image/gif", headers=NO_CACHE)

    async def stats(self, request: web.BaseRequest) -> web.Response:
        try:
            days = int(request.query.get("days", "7"))
            limit = int(request.query.get("limit", "50"))
            if not (1 <= days <= 366 and 1 <= limit <= MAX_PAGES):
                raise ValueError
        except ValueError:
            return web.json_response({"error": f"days must be 1-366 and limit 1-{MAX_PAGES}"}, status=400)
        # finished days only (up to yesterday, UTC): what today's views are, as they happen, is nobody's
        # business; and so each answer is made once a day (at most MAX_PAGES pages), one at a time
        last_day = datetime.now(UTC).date() - timedelta(days=1)
        key = (days, last_day)
        async with self._stats_lock:
            rows = self._stats.get(key)
            if rows is None:
                await self.flush()  # yesterday's last views may still be in memory
                rows = await asyncio.get_running_loop().run_in_executor(self._io, self.db.top, days, MAX_PAGES,
                                                                        last_day)
                if len(self._stats) >= 32 or any(k[1] != last_day for k in self._stats):
                    self._stats.clear()
                self._stats[key] = rows
        first, last = window(days, last_day)
        body = {"days": days, "from": first, "to": last, "pages": [{"path": p, "views": n} for p, n in rows[:limit]]}
        return web.Response(text=json.dumps(body, ensure_ascii=False), content_type="application/json",
                            headers={"Cache-Control": "max-age=600"})


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the counter until SIGTERM or SIGINT; every count is written before it returns.

    Prints `listening on http://HOST:PORT/` (the port it got, with port 0) once it accepts connections.
    Uses uvloop's event loop when it is installed (about a third more requests a second)."""
    app = CounterApp(settings)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(app, host, port))
    else:
        uvloop.run(_serve(app, host, port))


class _Anonymous(logging.Filter):
    """aiohttp's error lines name the client ("Error handling request from <address>"), and when a request
    could not be parsed its traceback quotes what the client sent: the address goes, and such a request is
    logged as the kind of error alone. Our own errors keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = "error handling a request", ()
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = f"a request could not be read ({type(exc).__name__})"
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


_ANONYMOUS = _Anonymous()


async def _serve(counter: CounterApp, host: str, port: int) -> None:
    for name in ("aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.internal"):
        logging.getLogger(name).addFilter(_ANONYMOUS)  # (the same one: added once)
    await counter.start()
    runner = web.ServerRunner(web.Server(counter.handle, access_log=None), handle_signals=False,
                              shutdown_timeout=10)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        bound = runner.addresses[0]
        print(f"listening on http://{bound[0]}:{bound[1]}/", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()  # no new connections; the requests in hand are answered
        await counter.stop()  # then the last flush
