"""`newsmirror extract`: run the mirror's extractor on saved files or URLs, one result per input."""

from __future__ import annotations

import asyncio
import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from .config import Fetch
from .extract import ExtractError, extract
from .extract.text import html_to_text
from .fetch import Fetcher, FetchError, decode
from .fetch.netguard import named_hosts
from .render.markdown import html_to_markdown, md_text
from .transform import sanitize


@dataclass
class Source:
    path: str  # the input as given
    url: str | None
    html: str | None = None
    error: str | None = None


class TooLarge(Exception):
    pass


def read_file(path: str, cap: int) -> str:
    """A saved page's text: at most `cap` bytes, once decompressed (a gzip bomb, /dev/zero)."""
    p = Path(path)
    with open(p, "rb") as f:
        opened = gzip.GzipFile(fileobj=f) if p.suffix == ".gz" else f
        data = opened.read(cap + 1)
    if len(data) > cap:
        raise TooLarge(f"larger than {cap:,} bytes (fetch.max_bytes)")
    text, _ = decode(data)
    return text


async def _fetch_all(urls: list[str], cfg: Fetch) -> dict[str, tuple[str | None, str | None, str | None]]:
    """url → (html, final url, error)."""
    out: dict[str, tuple[str | None, str | None, str | None]] = {}
    async with Fetcher(cfg, named_hosts(urls, cfg.allow_hosts)) as f:  # where they lead: no other internal host

        async def one(u: str) -> None:
            try:
                r = await f.get(u)
                out[u] = (r.text, r.final_url, None)
            except FetchError as exc:
                out[u] = (None, None, exc.reason)

        await asyncio.gather(*(one(u) for u in urls))
    return out


def load_inputs(inputs: list[str], url: str | None, fetch_cfg: Fetch) -> list[Source]:
    """Read every input (files and http(s) URLs) in order; a bad one carries its error."""
    sources: list[Source] = []
    urls = [i for i in inputs if i.startswith(("http://", "https://"))]
    fetched = asyncio.run(_fetch_all(urls, fetch_cfg)) if urls else {}
    for item in inputs:
        if item in fetched:
            html, final, err = fetched[item]
            sources.append(Source(item, final or item, html, err))
            continue
        try:
            sources.append(Source(item, url, read_file(item, fetch_cfg.max_bytes)))
        except FileNotFoundError:
            sources.append(Source(item, url, error="no such file"))
        except TooLarge as exc:
            sources.append(Source(item, url, error=str(exc)))
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            sources.append(Source(item, url, error=f"cannot read it ({exc})"))
    return sources


def result(src: Source) -> dict:
    """The JSON object of one input."""
    out: dict = {"path": src.path, "url": src.url, "title": None, "published": None, "author": None,
                 "image": None, "caption": None, "text": "", "markdown": "", "is_article": False,
                 "reason": None, "error": src.error}
    if src.error or src.html is None:
        return out
    try:
        a = extract(src.html, src.url)
    except ExtractError as exc:
        out["reason"] = exc.reason
        return out
    except Exception as exc:  # a page that breaks the parser must not stop the batch
        out["error"] = f"extraction crashed ({type(exc).__name__}: {exc})"
        return out
    body = sanitize(a.body_html, src.url)
    md = f"# {md_text(a.title)}\n\n"
    if a.image:
        md += f"![{md_text(a.title)}]({a.image})\n\n" + (f"_{md_text(a.caption)}_\n\n" if a.caption else "")
    md += html_to_markdown(body)
    out.update(
        url=a.canonical_url or src.url, title=a.title, published=a.published.isoformat() if a.published else None,
        author=a.author, image=a.image, caption=a.caption, text=html_to_text(a.body_html), markdown=md,
        is_article=True,
    )
    return out


def render(results: list[dict], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
    if fmt == "json":
        return json.dumps(results, ensure_ascii=False, indent=2) + "\n"
    parts = []
    for r in results:
        head = f"==> {r['path']} <==\n" if len(results) > 1 else ""
        if r["error"] or not r["is_article"]:
            body = f"[{'error' if r['error'] else 'not an article'}: {r['error'] or r['reason']}]\n"
        elif fmt == "markdown":
            body = r["markdown"]
        else:
            body = (r["title"] or "") + "\n\n" + r["text"] + "\n"
        parts.append(head + body)
    return "\n".join(parts)
