"""How a source fetches its pages: conditionally, and remembering the validators to save."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..fetch import Fetcher, FetchError
from ..models import Response

Validators = tuple[str | None, str | None]  # (ETag, Last-Modified)


class SourceHTTP:
    """Wraps the fetcher for one source.

    `get()` sends If-None-Match / If-Modified-Since from `lookup`, returns None on a 304 (the page
    is not parsed at all), and collects the new validators; the pipeline saves them in the same
    transaction as the URLs they led to, so a killed run can never skip what it did not see.
    """

    def __init__(self, fetcher: Fetcher, lookup: Callable[[str], Validators] | None = None,
                 obey_robots: bool | None = None, deadline: float | None = None) -> None:
        self.fetcher = fetcher
        self.lookup = lookup or (lambda _url: (None, None))
        self.obey_robots = obey_robots
        self.deadline = deadline
        self.asked = 0
        self.validators: dict[str, Validators] = {}
        self.not_modified: list[str] = []

    async def get(self, url: str, conditional: bool = True, key: str | None = None,
                  as_text: bool = True) -> Response | None:
        """`key`: what the validators are kept under, when not the URL itself. Past the deadline only the
        source's first request is made; later ones raise FetchError (bounded runs: asked again next run).
        `as_text=False`: the body alone, not also decoded to text (a feed or a sitemap, which its XML reader
        decodes: a 4 MB feed's text is 5 MB more held while it is read)."""
        if self.asked and self.deadline is not None and time.monotonic() > self.deadline:
            raise FetchError(url, "not fetched: fetch.max_run_seconds reached (asked again next run)")
        self.asked += 1
        key = key or url
        etag, last_modified = self.lookup(key) if conditional else (None, None)
        resp = await self.fetcher.get(url, etag=etag, last_modified=last_modified, obey_robots=self.obey_robots,
                                     as_text=as_text)
        if resp.status == 304:
            self.not_modified.append(url)
            return None
        self.validators[key] = (resp.headers.get("etag"), resp.headers.get("last-modified"))
        return resp
