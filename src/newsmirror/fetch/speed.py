"""The speed floor of a request (fetch.min_speed over fetch.min_speed_time), like curl's --speed-limit and
--speed-time: a server that sends too slowly, headers and all, is cut."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from types import TracebackType

import aiohttp


class SpeedFloor:
    """curl's --speed-limit/--speed-time for one request: cut it (TimeoutError out of SpeedFloors.watch(), `tripped`
    set) when fewer than `min_speed` bytes a second arrived on average over the last `window` seconds, counted from
    the start. The status line and headers count nothing until they have all arrived, so a server that drips
    them is cut too: aiohttp's sock_read timeout starts again with every byte, and never trips on a drip.

    And fetch.read_timeout (`stall`): cut it when nothing more has arrived for that long. (aiohttp's sock_read does
    it by moving a timer of the event loop at every piece of a response that arrives, a thirtieth of the run's CPU
    a page; here the floors' one timer looks.)"""

    def __init__(self, min_speed: int, window: float, stall: float = 0.0) -> None:
        self.min_speed = min_speed
        self.window = window
        self.stall = stall
        self.tripped = False
        self.stalled = False
        self._before = 0  # bytes of the responses before the current one (the hops of a redirect)
        self._head = 0  # the current response's status line and headers (-1: not counted yet)
        self._resp: aiohttp.ClientResponse | None = None
        self._body: aiohttp.StreamReader | None = None

    def reason(self) -> str:
        if self.stalled:
            return f"timed out: nothing arrived for {self.stall:g} s (fetch.read_timeout)"
        return (f"too slow: under {self.min_speed} bytes/s for {self.window:g} s "
                "(fetch.min_speed / fetch.min_speed_time)")

    def received(self) -> int:
        """Bytes of the request's responses so far, as they reached the connection (not as they were read)."""
        if self._head < 0:  # the current response's status line and headers, counted the first time it is asked
            resp = self._resp
            assert resp is not None
            headers = resp.raw_headers
            self._head = len(resp.reason or "") + 15 + sum(map(len, itertools.chain.from_iterable(headers))) + 4 * len(
                headers)
        return self._before + self._head + (self._body.total_bytes if self._body is not None else 0)

    def response(self, resp: aiohttp.ClientResponse) -> None:
        """Count `resp` (its headers have arrived; its body is counting) from now on: its headers are counted when
        the bytes are first asked for (most requests are over before a check asks)."""
        self._before = self.received()
        self._resp, self._head = resp, -1
        self._body = resp.content

    def start(self, now: float, limit: asyncio.Timeout) -> None:
        """The request starts `now`, in the block of `limit` (which check() makes it leave)."""
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])  # (when, bytes so far), just over one window
        self._moved = (now, 0)  # when the bytes so far last changed, and to what
        self._limit = limit

    def check(self, now: float) -> None:
        """Cut the request (its `limit` ends now: a TimeoutError where it waits) when too slow or stalled; else a
        sample."""
        got = self.received()
        if self.stall > 0:
            if got != self._moved[1]:
                self._moved = (now, got)
            elif now - self._moved[0] >= self.stall:
                self.tripped = self.stalled = True
                self._limit.reschedule(now)
                return
        if self.min_speed <= 0:
            return
        samples = self._samples
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        since, then = samples[0]
        if now - since >= self.window and got - then < self.min_speed * (now - since):
            self.tripped = True
            self._limit.reschedule(now)
            return
        samples.append((now, got))


class SpeedFloors:
    """The speed floors of a fetcher's requests under way, all checked by one timer every `step` seconds (a tenth of
    the window, a quarter of the read timeout, at most a second), not one timer a request (which the event loop
    keeps in its heap for a second each, and moves with every piece of the response)."""

    def __init__(self, step: float) -> None:
        self.step = step
        self._floors: set[SpeedFloor] = set()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, floor: SpeedFloor) -> contextlib.AbstractAsyncContextManager[None]:
        """Run the request in this block: `floor` cuts it (TimeoutError out of the block, `floor.tripped` set)."""
        return _Watch(self, floor) if floor.min_speed > 0 or floor.stall > 0 else contextlib.nullcontext()

    def _add(self, floor: SpeedFloor, loop: asyncio.AbstractEventLoop) -> None:
        self._floors.add(floor)
        if self._timer is None:
            self._timer = loop.call_later(self.step, self._check, loop)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for floor in list(self._floors):
            if not floor.tripped:
                floor.check(now)
        self._timer = loop.call_later(self.step, self._check, loop) if self._floors else None


class _Watch:
    """SpeedFloors.watch(floor)'s block (a class, not a generator: it is entered once a request): inside
    asyncio.timeout(None), which the floor's check reschedules to now when the request is too slow."""

    __slots__ = ("floors", "floor", "limit")

    def __init__(self, floors: SpeedFloors, floor: SpeedFloor) -> None:
        self.floors, self.floor = floors, floor
        self.limit = asyncio.timeout(None)

    async def __aenter__(self) -> None:
        await self.limit.__aenter__()
        loop = asyncio.get_running_loop()
        self.floor.start(loop.time(), self.limit)
        self.floors._add(self.floor, loop)

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        self.floors._floors.discard(self.floor)
        return await self.limit.__aexit__(et, e, tb)
