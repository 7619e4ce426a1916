"""Sitemap benchmark: the memory a sitemap index costs, whatever it lists.

    python benchmarks/sitemaps.py [--files 49] [--per-file 50000] [--limit 100] [--no-write]

A local server (127.0.0.1) serves a sitemap index of `--files` sitemaps of `--per-file` URLs each (the
sitemaps.org maximum is 50,000 a file). Two ways of reading it run, each in a fresh process, one after the
other, and report their peak RSS and wall time:

- `stream` (what the mirror does): `discover_source()` with `limit`: each sitemap is read one entry at a time
  and only the newest `limit` + 1 URLs that need work are held;
- `hold all` (the baseline, what the mirror did before): every sitemap parsed into lists and every URL kept
  as a candidate until the end, then sorted.

Prints a table and writes benchmarks/results/sitemaps.md. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from aiohttp import web

RESULTS = Path(__file__).resolve().parent / "results"


def app(files: int, per_file: int) -> web.Application:
    async def index(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        body = "".join(f"<sitemap><loc>{base}/s{i}.xml</loc></sitemap>" for i in range(files))
        return web.Response(text=f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}'
                                 "</sitemapindex>", content_type="application/xml")

    async def one(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        urls = "".join(f"<url><loc>http://{request.host}/a/{n}/{i}.html</loc>"
                       f"<lastmod>2026-12-0{1 + i % 3}T08:00:00Z</lastmod></url>" for i in range(per_file))
        return web.Response(text=f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
                            content_type="application/xml")

    a = web.Application()
    a.router.add_get("/index.xml", index)
    a.router.add_get("/s{n}.xml", one)
    return a


async def measure(mode: str, files: int, per_file: int, limit: int) -> dict:
    from newsmirror.config import Fetch, SitemapSource
    from newsmirror.fetch import Fetcher
    from newsmirror.sources import discover_source
    from newsmirror.sources.sitemap import parse_sitemap

    runner = web.AppRunner(app(files, per_file))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    source = SitemapSource(name="sm", kind="sitemap", url=f"{base}/index.xml", category="c", limit=limit,
                    max_sitemaps=files + 1, max_age_days=3650)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    async with Fetcher(Fetch(retries=0, max_bytes=200_000_000, total_timeout=600, read_timeout=600)) as f:
        if mode == "stream":
            kept = len((await discover_source(source, f, Path("."))).candidates)
        else:  # hold all: every file's entries in lists, every URL kept, then sorted
            held = []
            children, _ = parse_sitemap((await f.get(source.url)).body, source.url, 200_000_000)
            for child, _ in children:
                _, pages = parse_sitemap((await f.get(child)).body, child, 200_000_000)
                held.extend(pages)
            held.sort(key=lambda p: p[1].timestamp() if p[1] else 0, reverse=True)
            kept = len(held[:limit])
    took = time.perf_counter() - t0
    await runner.cleanup()
    return {"mode": mode, "kept": kept, "seconds": took, "rss_before": before,
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=49)
    ap.add_argument("--per-file", type=int, default=50_000)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--worker")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(measure(args.worker, args.files, args.per_file, args.limit))))
        return
    rows = []
    for mode in ("hold all", "stream"):
        proc = subprocess.run([sys.executable, __file__, "--worker", mode, "--files", str(args.files), "--per-file",
                               str(args.per_file), "--limit", str(args.limit)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout))
    base = rows[0]
    listed = args.files * args.per_file
    lines = ["| reading | URLs listed | kept | peak RSS MB | RSS at start MB | × hold all (peak) | seconds |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['mode']} | {listed:,} | {r['kept']} | {r['peak_rss']:.0f} | {r['rss_before']:.0f} | "
                     f"{r['peak_rss'] / base['peak_rss']:.2f} | {r['seconds']:.1f} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "sitemaps.md").write_text(
            f"# Sitemap benchmark\n\n`python benchmarks/sitemaps.py --files {args.files} --per-file {args.per_file} "
            f"--limit {args.limit}` on {datetime.now():%Y-%m-%d}, Python {platform.python_version()}, "
            "2 cores shared with other work; each mode in a fresh process (the server runs in it too).\n\n"
            f"{table}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
