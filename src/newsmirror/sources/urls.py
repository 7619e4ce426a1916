"""A hand-edited list of URLs: a text file (one per line, # comments) or a CSV with a `url` column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..config_sources import UrlsSource
from ..ids import normalise_url
from ..models import Candidate
from .base import Reading
from .http import SourceHTTP


def parse_url_list(text: str, source: UrlsSource) -> list[Candidate]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    out: list[Candidate] = []
    if lines and "url" in [c.strip().strip('"').strip().lower() for c in lines[0].split(",")]:
        for row in csv.DictReader(io.StringIO("\n".join(lines))):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
            url = row.get("url", "")
            if url.startswith(("http://", "https://")):
                out.append(Candidate(url=normalise_url(url), source=source.name, category=source.category,
                                     title=row.get("title") or None, pick=source.is_pick))
        return out
    for ln in lines:
        url = ln.strip().split()[0].rstrip(",")
        if url.startswith(("http://", "https://")):
            out.append(Candidate(url=normalise_url(url), source=source.name, category=source.category,
                                 pick=source.is_pick))
    return out


async def discover_urls(source: UrlsSource, http: SourceHTTP, root: Path) -> list[Candidate]:
    from .base import SourceError

    if source.path:
        p = (root / source.path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"{p}: cannot read the URL list of source {source.name!r} ({exc}); "
                              f"fix sources.path") from None
    else:
        assert source.url
        resp = await http.get(source.url)
        if resp is None:
            return []
        text = resp.text
    return parse_url_list(text, source)


KINDS = ("urls",)  # the source kinds this module reads: a hand-kept list of URLs
OPTIONS = UrlsSource  # their options (in config_sources, as the config may not import this package)


async def discover(source: UrlsSource, http: SourceHTTP, reading: Reading) -> list[Candidate]:
    return await discover_urls(source, http, reading.root)
