"""View counter benchmark: `newsmirror counter serve` under wrk on 127.0.0.1.

    apt-get install wrk            # Debian's package; the load generator (C, one thread)
    python benchmarks/counter.py [--seconds 30] [--connections 64] [--pages 1000]

Each server runs as its own process; wrk (one thread, `--connections` keep-alive connections)
asks it for the pixels of `--pages` different pages in turn for `--seconds`, and reports
requests/s and latency percentiles. Three servers, in the same run:

- `bare aiohttp`: aiohttp's low-level server (as the counter uses it) answering the same GIF and
  counting nothing, the baseline (what the framework costs on this machine);
- `counter, --dedupe-window 0`: every request counted (rate limit off: all the load comes from
  one address);
- `counter, defaults`: dedupe window 1800 s, rate limit off.

After each counter run the counter gets SIGTERM, and the views in its database are compared with
the requests wrk saw answered (wrk does not count the answers still on their way when it stops, at
most one per connection). Then a fixed number of requests (`--exact`, from an aiohttp client)
must leave exactly that many views in a fresh database, SIGTERM included.

Targets (issue 6): >= 5,000 requests/s with p99 < 50 ms, and counts equal to the requests
answered. Prints a table and writes benchmarks/results/counter.md. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TARGET_RPS = 5000.0
TARGET_P99_MS = 50.0

BARE = r'''
import sys
from aiohttp import web
from newsmirror.counter.service import NO_CACHE, PIXEL

async def pixel(request):
    return web.Response(body=PIXEL, content_type="image/gif", headers=NO_CACHE)

async def main():
    runner = web.ServerRunner(web.Server(pixel, access_log=None))  # aiohttp's low-level server, as the counter
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}/", flush=True)
    import asyncio
    await asyncio.Event().wait()

try:
    import uvloop
    uvloop.run(main())  # the loop the counter uses when uvloop is installed
except ImportError:
    import asyncio
    asyncio.run(main())
'''

LUA = r'''
local pages = %d
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/pages/c" .. (i %% 10) .. "/a" .. (i %% pages) .. ".md")
end
'''


def start(cmd: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line}{proc.stderr.read()}")
    return proc, line.split("listening on ")[1].strip().rstrip("/")


def peak_rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else float("nan")


def ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(base: str, seconds: int, connections: int, lua: Path) -> dict:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(lua), base + "/"],
                         capture_output=True, text=True, check=True).stdout
    res: dict = {"raw": out}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    res["requests"] = int(m.group(1))
    res["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        res[f"p{pct}"] = ms(m.group(1), m.group(2))
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", out)
    res["max"] = ms(m.group(5), m.group(6))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["errors"] = sum(int(x) for x in m.groups()) if m else 0
    return res


def db_views(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COALESCE(SUM(views), 0) FROM views").fetchone()[0]


def stop(proc: subprocess.Popen) -> tuple[int, float]:
    """SIGTERM; (exit code, seconds to exit)."""
    t = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    return proc.returncode, time.perf_counter() - t


async def exact(base: str, n: int, concurrency: int) -> int:
    import aiohttp

    answered = 0
    todo = iter(range(n))

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal answered
        for i in todo:
            async with session.get(f"{base}/pages/c{i % 10}/a{i % 1000}.md") as resp:
                await resp.read()
                answered += resp.status == 200

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    return answered


def counter_cmd(db: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "newsmirror", "-q", "counter", "serve", "--db", str(db), "--port", "0",
            "--rate-limit", "0", *flags]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--exact", type=int, default=20000, help="requests of the exact-count check")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    started = datetime.now()
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="nm-counter-bench-"))
    lua = tmp / "pages.lua"
    lua.write_text(LUA % args.pages)
    rows = []
    servers = [
        ("bare aiohttp (baseline)", [sys.executable, "-c", BARE], None),
        ("counter, --dedupe-window 0", counter_cmd(tmp / "d0.db", "--dedupe-window", "0"), tmp / "d0.db"),
        ("counter, defaults (dedupe 1800 s)", counter_cmd(tmp / "d1800.db"), tmp / "d1800.db"),
    ]
    for label, cmd, db in servers:
        proc, base = start(cmd)
        res = run_wrk(base, args.seconds, args.connections, lua)
        res["rss"] = peak_rss_mb(proc.pid)
        if db is None:
            proc.kill()
            proc.communicate()
            res["code"], res["exit_s"], res["views"] = None, None, None
        else:
            res["code"], res["exit_s"] = stop(proc)
            res["views"] = db_views(db)
        rows.append((label, res))
        print(f"{label}: {res['rps']:.0f} req/s, p99 {res['p99']:.2f} ms, views {res['views']}", flush=True)

    # the exact count: a fixed number of requests, then SIGTERM
    db = tmp / "exact.db"
    proc, base = start(counter_cmd(db, "--dedupe-window", "0"))
    answered = asyncio.run(exact(base, args.exact, 32))
    code, _ = stop(proc)
    exact_views = db_views(db)
    shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()[0]

    base_rps = rows[0][1]["rps"]
    lines = [
        "# View counter benchmark",
        "",
        f"`python benchmarks/counter.py --seconds {args.seconds} --connections {args.connections} "
        f"--pages {args.pages} --exact {args.exact}`, started {started:%Y-%m-%d %H:%M}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores ({platform.machine()}, {platform.system()}); "
        f"{subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.splitlines()[0].split(' [')[0]}.",
        "",
        f"wrk, one thread and {args.connections} keep-alive connections on 127.0.0.1, asks each server for the "
        f"pixels of {args.pages} pages in turn for {args.seconds} s; the server is one process (the other core "
        "runs wrk). The counters run with `--rate-limit 0` (all the load comes from one address). *views in the "
        "database* is read after SIGTERM; *answered (wrk)* is what wrk received, which leaves out the answers "
        "still on their way when it stopped (at most one per connection). "
        f"Load average (1 min) before the run {load_before:.2f}, after it {load_after:.2f} (about 2 is the server "
        "and wrk themselves).",
        "",
        "| server | requests | req/s | × baseline | p50 ms | p75 ms | p90 ms | p99 ms | max ms | non-2xx | "
        "socket errors | peak RSS MB | views in the database | answered (wrk) | exit after SIGTERM |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in rows:
        views = "—" if r["views"] is None else f"{r['views']:,}"
        exit_s = "—" if r["code"] is None else f"code {r['code']} in {r['exit_s']:.2f} s"
        lines.append(
            f"| {label} | {r['requests']:,} | {r['rps']:,.0f} | {r['rps'] / base_rps:.2f} | {r['p50']:.2f} | "
            f"{r['p75']:.2f} | {r['p90']:.2f} | {r['p99']:.2f} | {r['max']:.1f} | {r['non2xx']} | {r['errors']} | "
            f"{r['rss']:.0f} | {views} | {r['requests']:,} | {exit_s} |")
    d0 = rows[1][1]
    lines += [
        "",
        f"Exact count: {args.exact:,} requests from 32 concurrent aiohttp clients to a fresh counter "
        f"(`--dedupe-window 0`), then SIGTERM: {answered:,} answered 200, {exact_views:,} views in the database "
        f"(exit code {code}).",
        "",
        "## Against the targets",
        "",
        f"- counter, `--dedupe-window 0`: {d0['rps']:,.0f} requests/s — target ≥ {TARGET_RPS:,.0f}: "
        f"{'met' if d0['rps'] >= TARGET_RPS else 'NOT met'}; p99 {d0['p99']:.2f} ms — target < {TARGET_P99_MS:.0f}: "
        f"{'met' if d0['p99'] < TARGET_P99_MS else 'NOT met'}",
        f"- counts: {d0['views']:,} views in the database for {d0['requests']:,} answers wrk received "
        f"(+{d0['views'] - d0['requests']} still on their way when wrk stopped, ≤ {args.connections}: "
        f"{'ok' if 0 <= d0['views'] - d0['requests'] <= args.connections else 'NOT ok'}); exact count "
        f"{exact_views:,} views for {answered:,} answered: {'equal' if exact_views == answered else 'NOT equal'}",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "counter.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
