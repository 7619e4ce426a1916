"""What a run costs as the mirror grows: a no-op run, and the commit of a run that added a few articles.

    python benchmarks/scale.py [--sizes 1000,10000,50000,100000] [--new 10] [--keep DIR] [--no-write]
    python benchmarks/scale.py --noop-only --src OTHER/src --no-write    # another version's no-op runs

For each size N a mirror of N synthetic articles is made without network: the store is filled directly
(5 categories, short bodies, no share URL so no QR codes), then `newsmirror build` writes and commits the
tree (not timed). Then, each timed:

- *no-op run*: `python -m newsmirror -q run` (its one source, a `urls` list, is empty: nothing to fetch), the
  best of three: startup, the store's checks, the build that finds nothing to do;
- *commit, changed paths*: a run after `--new` articles were saved (as a fetch would have saved them): the
  time from the tree written to the commit made, when the commit stages the paths the run wrote;
- *commit, whole tree*: the same after `--new` more, when the store says an earlier run was cut before its
  commit (then, as every run did before, `git add -A` of the whole tree, since nobody knows what that run left).

Writes a table into benchmarks/results/mirror.md, between the markers `<!-- scale.py -->` and
`<!-- /scale.py -->` (benchmarks/mirror.py keeps that block when it rewrites the file). Run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from newsmirror.config import load_config  # noqa: E402
from newsmirror.models import Article  # noqa: E402
from newsmirror.pipeline import Mirror  # noqa: E402
from newsmirror.pipeline.seams import SEAMS  # noqa: E402
from newsmirror.store import Store  # noqa: E402

CATEGORIES = ("china", "intl", "economy", "culture", "tech")
CONFIG = """\
[site]
title = "规模测试"
output = "mirror"

{categories}
[[sources]]
name = "picks"
kind = "urls"
path = "picks.txt"
category = "china"
"""
RESULTS = ROOT / "benchmarks" / "results" / "mirror.md"
START, END = "<!-- scale.py -->", "<!-- /scale.py -->"


SRC = ROOT / "src"  # the code the `newsmirror` subprocesses run (--src)


def make_mirror(folder: Path, n: int) -> Path:
    cats = "".join(f'[categories.{c}]\ntitle = "{c}"\n\n' for c in CATEGORIES)
    cfg = folder / "newsmirror.toml"
    cfg.write_text(CONFIG.format(categories=cats), encoding="utf-8")
    (folder / "picks.txt").write_text("", encoding="utf-8")
    add_articles(load_config(cfg).store_path, 0, n)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run([sys.executable, "-m", "newsmirror", "--config", str(cfg), "-q", "build"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return cfg


def add_articles(store_path: Path, first: int, n: int) -> list[str]:
    """Save articles first … first+n-1 as a fetch would (dirty, due for the next build)."""
    store = Store(store_path)
    day = datetime(2024, 1, 1, tzinfo=UTC)
    ids = []
    with store.tx():
        for i in range(first, first + n):
            aid = f"a{1_000_000 + i}"
            url = f"https://news.example/{CATEGORIES[i % 5]}/{aid}.html"
            body = "".join(f"<p>第{i}篇文章的第{k}段：这是用来测量规模的合成正文，内容足够长。</p>" for k in range(4))
            art = Article(url=url, canonical_url=url, title=f"合成新闻 {i}", body_html=body, id=aid,
                          published=day + timedelta(minutes=i), category=CATEGORIES[i % 5], source="picks")
            store.save_article(art, f"h{i}", pick=False)
            ids.append(aid)
    store.close()
    return ids


def noop_seconds(cfg: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "newsmirror", "--config", str(cfg), "-q", "run"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t)
    return best


def commit_seconds(cfg_path: Path, first: int, n: int, whole_tree: bool) -> tuple[float, float]:
    """(seconds from the tree written to the commit made, seconds of the whole run) of a run after n new ones."""
    cfg = load_config(cfg_path)
    add_articles(cfg.store_path, first, n)
    if whole_tree:  # as a run cut before its commit leaves it
        store = Store(cfg.store_path)
        store.set_state(uncommitted=True)
        store.close()
    marks: dict[str, float] = {}
    SEAMS.before_sign = lambda: marks.setdefault("written", time.perf_counter())
    mirror = Mirror(cfg)
    mirror.lock()
    try:
        t = time.perf_counter()
        report = asyncio.run(mirror.run())
        end = time.perf_counter()
    finally:
        mirror.close()
    assert report.committed, "the run committed nothing"
    return end - marks["written"], end - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,50000,100000")
    ap.add_argument("--new", type=int, default=10, help="articles a timed run adds")
    ap.add_argument("--keep", help="make the mirrors in this folder (kept)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--src", help="run the newsmirror subprocesses from this source folder (another version)")
    ap.add_argument("--noop-only", action="store_true", help="the no-op runs alone (no commit timings)")
    args = ap.parse_args()
    global SRC
    SRC = Path(args.src).resolve() if args.src else SRC
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nm-scale-"))
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        folder = base / f"n{n}"
        folder.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        cfg = make_mirror(folder, n)
        made = time.perf_counter() - t
        noop = noop_seconds(cfg)
        if args.noop_only:
            print(f"N={n:,}: made in {made:.0f} s; no-op run {noop:.2f} s", flush=True)
            continue
        paths_commit, paths_run = commit_seconds(cfg, n, args.new, whole_tree=False)
        whole_commit, whole_run = commit_seconds(cfg, n + args.new, args.new, whole_tree=True)
        rows.append((n, made, noop, paths_commit, paths_run, whole_commit, whole_run))
        print(f"N={n:,}: made in {made:.0f} s; no-op run {noop:.2f} s; commit of {args.new} new: "
              f"{paths_commit:.2f} s (changed paths), {whole_commit:.2f} s (whole tree)", flush=True)
    table = ["## A no-op run and a commit, by mirror size (benchmarks/scale.py)\n",
             f"`python benchmarks/scale.py --sizes {args.sizes} --new {args.new}`, "
             f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, {os.cpu_count()} cores; "
             f"load average {os.getloadavg()[0]:.1f} at the end (the machine is shared). Markdown only, no QR codes, "
             f"5 categories. *commit* is the time from the tree written to the commit made, in a run that added "
             f"{args.new} articles: staging the paths the run wrote (every run now), or `git add -A` of the whole "
             f"tree (what every run did before; now only after a run cut before its commit).\n",
             "| articles | no-op run s (best of 3) | commit s, changed paths | run s | commit s, whole tree | run s |",
             "|---|---|---|---|---|---|"]
    table += [f"| {n:,} | {noop:.2f} | {pc:.2f} | {pr:.2f} | {wc:.2f} | {wr:.2f} |"
              for n, _made, noop, pc, pr, wc, wr in rows]
    text = "\n".join(table)
    print(text)
    if args.no_write or args.noop_only:
        return
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    block = f"{START}\n{text}\n{END}\n"
    if START in old and END in old:
        new = old[:old.index(START)] + block + old[old.index(END) + len(END) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
