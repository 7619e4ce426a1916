"""The store's CPU per article as it grows: what storing a fetch's pages costs the run, segment by segment.

    python benchmarks/store.py [--articles 100000] [--segments 10] [--no-write]

`newsmirror run` stores each worker batch (32 analysed pages) with ingest.store_pages, inside Store.grouped() (a
commit every 1,000 articles); its URLs were added as pending when they were discovered. This does the same in one
process with nothing else running, into a fresh store, so that the store's own cost is seen without a fetch around it
(benchmarks/cluster.py --without-store gives its share of a real run) and a change to the store is measured in a
minute, not in the quarter of an hour of a run of 100,000 pages.

The pages are those of benchmarks/mirror.py's site (synthetic Chinese articles, median 4.4 KB of text, half of them
linking to an older one, a lead picture and some inline ones), made into analyses without extraction: the body its
paragraphs (compressed, as a worker sends it), its links and pictures, its content hash as a worker makes it (of its
own words: its id before its text). The first 1,000 pages' bodies serve all the others (making each costs 2 ms, more
than storing it); their titles, URLs and ids are each their own, and each fingerprint is drawn at random (those of
unrelated texts are as far apart as random ones: no page is taken for a copy of another).

Each segment of N/segments articles is measured (the process's CPU, user + system, over store_pages alone) and set
beside its baseline, measured in the same run right after it: the same rows, bodies included, inserted in the same
batches and commits into a table of another SQLite file (the store's journal and sync settings) that has no index at
all: what writing the bytes alone costs. A flat store has the same ratio to it in every segment. Beside the CPU, the
read and write system calls made (Linux's /proc/self/io): most of the store's system time is theirs, and their
number, unlike CPU time on a shared machine, is the same from one run to the next.
Writes benchmarks/results/store.md. Run by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import types
from datetime import UTC, datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import mirror as site  # noqa: E402

from newsmirror.config import load_config  # noqa: E402
from newsmirror.dedup import to_signed  # noqa: E402
from newsmirror.ids import url_id  # noqa: E402
from newsmirror.models import Article, Candidate, RunReport  # noqa: E402
from newsmirror.pipeline.analyse import Analysis, content_hash  # noqa: E402
from newsmirror.pipeline.context import PAGE_BATCH  # noqa: E402
from newsmirror.pipeline.ingest import store_pages  # noqa: E402
from newsmirror.store import Store  # noqa: E402
from newsmirror.store.schema import pack_body  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "store.md"
BASE = "http://127.0.0.1:8000"  # (never fetched)
TEMPLATES = 1000
CONFIG = """\
[site]
title = "store"
output = "mirror"

[categories.china]
title = "china"

[[sources]]
name = "picks"
kind = "urls"
path = "picks.txt"
category = "china"
"""
_LINK = re.compile(r'href="[^"]*/a(\d+)\.html"[^>]*>')
_INLINE = re.compile(r'<img src="(/images/\d{4}/\d\d/a\d+-\d+\.jpg)"')


def templates(n: int) -> list[tuple[str, str, int | None, int]]:
    """(body_html, text, how many articles on the one it links to (None: none), inline pictures) of the first pages."""
    out = []
    for j in range(min(n, TEMPLATES)):
        d = site.make_article(j, n, BASE)
        body = "".join(f"<p>{escape(p)}</p>" for p in d["expected"])
        article = d["html"].split('class="article-content"', 1)[-1]
        linked = [int(m) - site.ID_BASE - j for m in _LINK.findall(article)]
        linked = [k for k in linked if k > 0]
        out.append((body, "\n".join(d["expected"]), linked[0] if linked else None, len(_INLINE.findall(article))))
    return out


def page(i: int, tpl: list[tuple[str, str, int | None, int]]) -> tuple[Candidate, Analysis]:
    """Page i as a worker returns it, and the candidate its feed made."""
    body, text, link_to, inline = tpl[i % len(tpl)]
    source, category = site.SOURCES[i % 10]
    url, title, when = BASE + site.article_path(i), site.title_of(i), site.published(i)
    aid = f"a{site.ID_BASE + i}"
    lead = f"{BASE}/images/{when:%Y/%m}/{aid}-lead.jpg"
    art = Article(url=url, canonical_url=url, title=title, body_html="", id=aid, published=when, image=lead,
                  caption="图为街头一景。", extracted_by="rules")
    analysis = Analysis(art, content_hash(title, f"{aid}\n{text}"),  # (titles repeat: a text of its own)
                        {BASE + site.article_path(i + link_to)} if link_to else set(),
                        [lead, *(f"{BASE}/images/{when:%Y/%m}/{aid}-{k}.jpg" for k in range(inline))],
                        simhash=random.Random(i).getrandbits(64), own_id=url_id(url) or "",
                        body=pack_body(body))
    return Candidate(url, source, category, title, when), analysis


def cpu() -> tuple[float, float]:
    """The process's CPU seconds so far: (user + system, system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_stime


def io_calls() -> int | None:
    """The read and write system calls the process has made so far (Linux's /proc/self/io; None elsewhere): unlike
    CPU time, the same from one run to the next on a busy machine."""
    try:
        counts = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    except OSError:
        return None
    return int(counts["syscr"]) + int(counts["syscw"])


class Plain:
    """The baseline: the same rows into one table without an index, in the same batches and commits."""

    def __init__(self, path: Path, every: int) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE pages (url TEXT, title TEXT, body TEXT, hash TEXT, simhash INTEGER, "
                        "links TEXT, images TEXT, seen TEXT)")
        self.every, self.since = every, 0
        self.db.execute("BEGIN")

    def store(self, batch: list[tuple[Candidate, Analysis]]) -> None:
        seen = datetime.now(UTC).isoformat()
        self.db.executemany("INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (c.url, a.article.title, a.body, a.content_hash, to_signed(a.simhash), " ".join(sorted(a.links)),
             " ".join(a.images), seen) for c, a in batch])
        self.since += len(batch)
        if self.since >= self.every:
            self.db.execute("COMMIT")
            self.db.execute("BEGIN")
            self.since = 0

    def close(self) -> None:
        self.db.execute("COMMIT")
        self.db.close()


def measure(n: int, segments: int) -> list[dict]:
    tpl = templates(n)
    folder = Path(tempfile.mkdtemp(prefix="nm-store-"))
    (folder / "newsmirror.toml").write_text(CONFIG, encoding="utf-8")
    (folder / "picks.txt").write_text("", encoding="utf-8")
    cfg = load_config(folder / "newsmirror.toml")
    store = Store(folder / "store.db")
    plain = Plain(folder / "plain.db", every=1000)
    ctx = types.SimpleNamespace(store=store, cfg=cfg)  # what store_pages asks of the run's Context
    report = RunReport()
    size = n // segments
    rows = []
    try:
        with store.grouped():
            for s in range(segments):
                batches = []
                for first in range(s * size, (s + 1) * size, PAGE_BATCH):
                    batches.append([page(i, tpl) for i in range(first, min(first + PAGE_BATCH, (s + 1) * size))])
                # discovered before they are fetched (not measured: discovery's, not the fetch's)
                store.add_pending(c for batch in batches for c, _ in batch)
                c0, s0, i0 = *cpu(), io_calls()
                for batch in batches:
                    store_pages(ctx, [(c, a, (lambda a=a: a.ref)) for c, a in batch], report)
                c1, s1, i1 = *cpu(), io_calls()
                for batch in batches:
                    plain.store(batch)
                c2, s2, i2 = *cpu(), io_calls()
                k = sum(map(len, batches))
                r = {"upto": (s + 1) * size, "store_ms": (c1 - c0) * 1000 / k, "store_sys_ms": (s1 - s0) * 1000 / k,
                     "plain_ms": (c2 - c1) * 1000 / k, "plain_sys_ms": (s2 - s1) * 1000 / k,
                     "store_io": (i1 - i0) / k if i0 is not None else None,
                     "plain_io": (i2 - i1) / k if i1 is not None else None}
                rows.append(r)
                print(f"{r['upto']:>9,} articles: store {r['store_ms']:.3f} ms/article (system "
                      f"{r['store_sys_ms']:.3f}; {calls(r['store_io'])} reads and writes), no index "
                      f"{r['plain_ms']:.3f} ({r['plain_sys_ms']:.3f}; {calls(r['plain_io'])}): "
                      f"{r['store_ms'] / r['plain_ms']:.1f}×", file=sys.stderr, flush=True)
        if report.new != size * segments:  # (a page taken for another's copy would not measure a new article)
            raise RuntimeError(f"stored {report.new} new articles of {size * segments}")
        rows[-1]["store_mb"] = sum(f.stat().st_size for f in folder.glob("store.db*")) / 2**20  # (its WAL too)
    finally:
        store.close()
        plain.close()
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def calls(per_article: float | None) -> str:
    return "–" if per_article is None else f"{per_article:.1f}"


def table(rows: list[dict], n: int, segments: int, started: str) -> str:
    first = rows[0]["store_ms"]
    lines = [
        "# The store's CPU per article as it grows",
        "",
        f"`python benchmarks/store.py --articles {n} --segments {segments}`, started {started}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores (shared with other work: compare rows of one run). "
        "How the pages are made and what the baseline is: the script's docstring.",
        "",
        "| articles stored | store CPU ms/article (of it system) | its reads and writes (system calls) an article "
        "| baseline: no index, ms/article (system) | its reads and writes an article | × baseline "
        "| × the first segment |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['upto']:,} | {r['store_ms']:.3f} ({r['store_sys_ms']:.3f}) | {calls(r['store_io'])} | "
                     f"{r['plain_ms']:.3f} ({r['plain_sys_ms']:.3f}) | {calls(r['plain_io'])} | "
                     f"{r['store_ms'] / r['plain_ms']:.1f} | {r['store_ms'] / first:.2f} |")
    lines += ["", f"The store's files at the end: {rows[-1]['store_mb']:.0f} MB.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--segments", type=int, default=10)
    ap.add_argument("--no-write", action="store_true", help=f"print the table, do not write {RESULTS.name}")
    args = ap.parse_args()
    if args.articles < args.segments * PAGE_BATCH:
        ap.error(f"--articles: at least {args.segments * PAGE_BATCH} ({PAGE_BATCH} pages a batch, a batch a segment)")
    started = time.strftime("%Y-%m-%d %H:%M")
    out = table(measure(args.articles, args.segments), args.articles, args.segments, started)
    print(out)
    if not args.no_write:
        RESULTS.write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main()
