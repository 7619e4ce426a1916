"""robots.txt, fetched once per host and run, parsed with Protego."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from protego import Protego

from ..ids import origin_of
from ..models import Response
from .errors import FetchError

log = logging.getLogger("newsmirror.fetch")


@functools.lru_cache(maxsize=4096)
def _robots_url(url: str) -> str:
    """(Asked with ids.origin_of(url): once a site.)"""
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}/robots.txt"


class RobotsCache:
    """The robots rules of each host a run talks to. A missing (4xx) or unparsable robots.txt allows all; one
    that cannot be read (5xx, 429, no answer) disallows all for this run, as RFC 9309 asks."""

    def __init__(self, fetch: Callable[[str], Awaitable[Response]]) -> None:
        self.fetch = fetch  # how robots.txt is fetched: in turn with the other requests to its host
        self._rules: dict[str, Protego | None] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.unavailable: dict[str, str] = {}  # robots.txt URL → why it could not be read

    @staticmethod
    def robots_url(url: str) -> str:
        return _robots_url(origin_of(url))

    async def rules_for(self, url: str, origin: str | None = None) -> Protego | None:
        """The parsed robots.txt of url's host, or None when there is none (everything allowed). `origin`:
        ids.origin_of(url), when the caller has it."""
        key = _robots_url(origin_of(url) if origin is None else origin)
        if key in self._rules:
            return self._rules[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._rules:
                self._rules[key] = await self._load(key)
        return self._rules[key]

    async def _load(self, robots_url: str) -> Protego | None:
        try:
            resp = await self.fetch(robots_url)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return None  # no robots.txt: no rules
            # unreachable, 5xx or 429: the site may not want to be crawled now; nothing of it this run
            log.warning("%s cannot be read (%s); nothing of that site is fetched this run", robots_url, exc.reason)
            self.unavailable[robots_url] = exc.reason
            return Protego.parse("User-agent: *\nDisallow: /")
        try:
            return Protego.parse(resp.text[:500_000])
        except Exception as exc:  # a broken robots.txt must not stop a run
            log.info("robots.txt of %s cannot be parsed (%s); treating everything as allowed", robots_url, exc)
            return None

    async def sitemaps(self, url: str) -> list[str]:
        rules = await self.rules_for(url)
        return list(rules.sitemaps) if rules is not None else []
