"""The speed floor of a request (fetch.min_speed over fetch.min_speed_time), like curl's --speed-limit and
--speed-time: a server that sends too slowly, headers and all, is cut."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator

import aiohttp


class SpeedFloor:
    """curl's --speed-limit/--speed-time for one request: cut it (TimeoutError out of SpeedFloors.watch(), `tripped`
    set) when fewer than `min_speed` bytes a second arrived on average over the last `window` seconds, counted from
    the start. The status line and headers count nothing until they have all arrived, so a server that drips
    them is cut too: aiohttp's sock_read timeout starts again with every byte, and never trips on a drip."""

    def __init__(self, min_speed: int, window: float) -> None:
        self.min_speed = min_speed
        self.window = window
        self.tripped = False
        self._before = 0  # bytes of the responses before the current one (the hops of a redirect)
        self._head = 0
        self._body: aiohttp.StreamReader | None = None

    def reason(self) -> str:
        return (f"too slow: under {self.min_speed} bytes/s for {self.window:g} s "
                "(fetch.min_speed / fetch.min_speed_time)")

    def received(self) -> int:
        """Bytes of the request's responses so far, as they reached the connection (not as they were read)."""
        return self._before + self._head + (self._body.total_bytes if self._body is not None else 0)

    def response(self, resp: aiohttp.ClientResponse) -> None:
        """Count `resp` (its headers have arrived; its body is counting) from now on."""
        self._before = self.received()
        headers = resp.raw_headers
        self._head = len(resp.reason or "") + 15 + sum(map(len, itertools.chain.from_iterable(headers))) + 4 * len(
            headers)
        self._body = resp.content

    def start(self, now: float, limit: asyncio.Timeout) -> None:
        """The request starts `now`, in the block of `limit` (which check() makes it leave)."""
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])  # (when, bytes so far), just over one window
        self._limit = limit

    def check(self, now: float) -> None:
        """Cut the request (its `limit` ends now: a TimeoutError where it waits) when too slow; else a sample."""
        samples, got = self._samples, self.received()
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        since, then = samples[0]
        if now - since >= self.window and got - then < self.min_speed * (now - since):
            self.tripped = True
            self._limit.reschedule(now)
            return
        samples.append((now, got))


class SpeedFloors:
    """The speed floors of a fetcher's requests under way, all checked by one timer every tenth of the window (at
    most a second), not one timer a request (which the event loop keeps in its heap for a second each)."""

    def __init__(self, step: float) -> None:
        self.step = step
        self._floors: set[SpeedFloor] = set()
        self._timer: asyncio.TimerHandle | None = None

    @contextlib.asynccontextmanager
    async def watch(self, floor: SpeedFloor) -> AsyncIterator[None]:
        """Run the request in this block: `floor` cuts it (TimeoutError out of the block, `floor.tripped` set)."""
        if floor.min_speed <= 0:
            yield
            return
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(None) as limit:
            floor.start(loop.time(), limit)
            self._floors.add(floor)
            if self._timer is None:
                self._timer = loop.call_later(self.step, self._check, loop)
            try:
                yield
            finally:
                self._floors.discard(floor)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for floor in list(self._floors):
            if not floor.tripped:
                floor.check(now)
        self._timer = loop.call_later(self.step, self._check, loop) if self._floors else None
