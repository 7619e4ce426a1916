"""Revisiting a mirror where nothing changed: what a run costs and how long a full schedule takes.

    python benchmarks/revisit.py [--articles 10000] [--budget 200] [--every 1] [--out FILE]

A store of `articles` articles first seen at the same moment (the worst case: every one is due at once), each
with the validators of its page; a server on 127.0.0.1, in a process of its own, answers every article request
with 304 Not Modified and counts what it is asked. The revisit phase runs every `every` simulated hours (the
clock is moved, not waited for) with the default schedule (1 h … 90 d after first seen, then never) until no
article is due any more. Per run: requests the server saw (never above revisit.budget; robots.txt counted),
and the CPU time of the revisiting process per revisit (the server's is not in it).

Writes benchmarks/results/revisit.md (or --out). Nothing here is a test; it is run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def serve(port_out: multiprocessing.Value, count: multiprocessing.Value) -> None:  # type: ignore[valid-type]
    """The site: 304 to every conditional request for an article, an empty robots.txt (all allowed)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        with count.get_lock():
            count.value += 1
        if request.path == "/robots.txt":
            return web.Response(text="User-agent: *\nAllow: /\n")
        if request.headers.get("If-None-Match"):
            return web.Response(status=304, headers={"ETag": request.headers["If-None-Match"]})
        return web.Response(status=500, text="the benchmark sends validators with every request")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.value = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def seed(cfg_path: Path, base: str, n: int) -> None:
    from newsmirror.config import load_config
    from newsmirror.models import Article
    from newsmirror.store import Store

    os.environ["SOURCE_DATE_EPOCH"] = str(int(T0.timestamp()))  # first seen at T0
    store = Store(load_config(cfg_path).store_path)
    with store.tx():
        for i in range(n):
            url = f"{base}/a/{i}.html"
            a = Article(url=url, canonical_url=url, title=f"文章 {i}", body_html=f"<p>正文 {i} " + "字" * 200 + "</p>",
                        id=f"a{i}", source="bench", category="intl")
            store.save_article(a, f"h{i}", False)
            store.set_validators(url, f'"e{i}"', None)
    store.close()
    del os.environ["SOURCE_DATE_EPOCH"]


async def cycle(cfg_path: Path, count: multiprocessing.Value, every: float) -> list[dict]:  # type: ignore[valid-type]
    from newsmirror.config import load_config
    from newsmirror.fetch import Fetcher
    from newsmirror.models import RunReport
    from newsmirror.pipeline import Mirror
    from newsmirror.revisit import revisit

    m = Mirror(load_config(cfg_path))
    runs = []
    hour = 0.0
    try:
        while True:
            hour += every
            at = T0 + timedelta(hours=hour)
            report = RunReport()
            before, cpu, wall = count.value, time.process_time(), time.perf_counter()
            async with Fetcher(m.cfg.fetch, m._named_hosts()) as fetcher:
                await revisit(m, fetcher, report, clock=lambda at=at: at)
            runs.append({"hour": hour, "revisits": report.revisited, "requests": count.value - before,
                         "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall})
            left = m.store.db.execute("SELECT COUNT(*) FROM articles a LEFT JOIN revisits r ON r.article_id=a.id "
                                      "WHERE r.article_id IS NULL OR r.next_due IS NOT NULL").fetchone()[0]
            if left == 0:
                break
        done = m.store.db.execute("SELECT MIN(step), MIN(checks), MAX(checks), SUM(checks) FROM revisits").fetchone()
        runs.append({"done": tuple(done)})
    finally:
        m.close()
    return runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--every", type=float, default=1.0, help="simulated hours between runs")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "revisit.md")
    args = ap.parse_args()
    port, count = multiprocessing.Value("i", 0), multiprocessing.Value("q", 0)
    server = multiprocessing.Process(target=serve, args=(port, count), daemon=True)
    server.start()
    while port.value == 0:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port.value}"
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = Path(tmp) / "newsmirror.toml"
        cfg_path.write_text(f'[site]\ntitle = "bench"\noutput = "mirror"\n[fetch]\nwarc = false\nper_host = 8\n'
                            f"concurrency = 16\n[revisit]\nbudget = {args.budget}\n[categories.intl]\ntitle = \"i\"\n"
                            f'[[sources]]\nname = "bench"\nkind = "rss"\nurl = "{base}/feed"\ncategory = "intl"\n',
                            encoding="utf-8")
        seed(cfg_path, base, args.articles)
        started = time.perf_counter()
        runs = asyncio.run(cycle(cfg_path, count, args.every))
        elapsed = time.perf_counter() - started
    server.kill()
    done = runs.pop()["done"]
    busy = [r for r in runs if r["revisits"]]
    total = sum(r["revisits"] for r in runs)
    cpu_ms = 1000 * sum(r["cpu"] for r in busy) / max(1, total)
    walls = sorted(r["wall"] for r in busy)
    idle = sorted(r["cpu"] for r in runs if not r["revisits"])
    idle_ms = 1000 * idle[len(idle) // 2] if idle else float("nan")
    worst_cpu = max(1000 * r["cpu"] / r["revisits"] for r in busy)
    lines = [
        "# Revisits of an unchanged mirror (every page answers 304)",
        "",
        f"`python benchmarks/revisit.py --articles {args.articles} --budget {args.budget} --every {args.every:g}` "
        f"on {os.cpu_count()} cores (shared), {datetime.now(UTC):%Y-%m-%d}. Every article first seen at once (all "
        "due together: the worst case); default schedule 1 h, 6 h, 1 d, 3 d, 7 d, 30 d, 90 d; a run every "
        f"{args.every:g} simulated hour(s) until no article is due. CPU: the revisiting process only (the server "
        "runs in another).",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| articles | {args.articles:,} |",
        f"| runs until the schedule was done for every article | {len(runs):,} ({len(busy):,} with revisits; last at "
        f"{runs[-1]['hour']:g} h) |",
        f"| revisits in all | {total:,} (per article: {done[1]}–{done[2]}) |",
        f"| requests per run, most | {max(r['requests'] for r in runs):,} (budget {args.budget}; robots.txt counted) |",
        f"| revisits per run, most | {max(r['revisits'] for r in runs):,} |",
        f"| CPU per revisit, mean | {cpu_ms:.2f} ms |",
        f"| CPU per revisit, worst run | {worst_cpu:.2f} ms |",
        f"| wall time of a run with revisits, median | {walls[len(walls) // 2]:.2f} s |",
        f"| CPU of a run with nothing due (the look-up alone), median | {idle_ms:.1f} ms |",
        f"| schedule steps done by every article | {done[0]} of 7 |",
        f"| the whole simulation took | {elapsed:.0f} s |",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
