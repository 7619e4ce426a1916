"""Extraction benchmark: newsmirror against trafilatura (default, fast) and readability-lxml.

    python benchmarks/extraction.py [--bench ../shared/bench] [--only newsmirror,trafilatura]

Runs every extractor over the same pages of `aeb/`, `zh/` and `traf-eval/` (see
../shared/bench/README.md for the metrics), each in a fresh process of its own
that reads every file first and then times extraction alone (one process, one
core), and reports its peak RSS. Prints a table and writes
benchmarks/results/extraction.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_BENCH = REPO.parent / "shared" / "bench"
EXTRACTORS = ["newsmirror", "trafilatura", "trafilatura-fast", "readability-lxml"]


def load_pages(bench: Path) -> dict[str, list[dict]]:
    from newsmirror.fetch.decode import decode

    sets: dict[str, list[dict]] = {"aeb": [], "zh": [], "traf": []}
    truth = json.loads((bench / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    for key in sorted(truth):
        raw = gzip.decompress((bench / "aeb" / "html" / f"{key}.html.gz").read_bytes())
        html, _ = decode(raw)
        sets["aeb"].append({"id": key, "url": truth[key].get("url"), "html": html})
    for g in json.loads((bench / "zh" / "gold.json").read_text(encoding="utf-8")):
        raw = (bench / "zh" / "html" / g["file"]).read_bytes()
        html, _ = decode(raw)
        sets["zh"].append({"id": g["file"], "url": None, "html": html})
    traf = json.loads((bench / "traf-eval" / "gold.json").read_text(encoding="utf-8"))
    for key in sorted(traf):
        raw = gzip.decompress((bench / "traf-eval" / "html" / f"{key}.gz").read_bytes())
        html, _ = decode(raw)
        sets["traf"].append({"id": key, "url": traf[key].get("url"), "html": html})
    return sets


def make_extractor(name: str):
    """A function html, url → (text, title, date-string or None, is_article)."""
    if name == "newsmirror":
        from newsmirror.extract import ExtractError, extract
        from newsmirror.extract.text import html_to_text

        def run(html: str, url: str | None):
            try:
                a = extract(html, url)
            except ExtractError:
                return "", None, None, False
            return html_to_text(a.body_html), a.title, a.published.isoformat() if a.published else None, True

        return run
    if name.startswith("trafilatura"):
        import trafilatura

        fast = name.endswith("fast")

        def run(html: str, url: str | None):
            doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, fast=fast)
            if doc is None:
                return "", None, None, False
            return doc.text or "", doc.title, doc.date, True

        return run
    if name == "readability-lxml":
        import logging

        import lxml.html
        from readability import Document

        logging.getLogger("readability").setLevel(logging.ERROR)

        def run(html: str, url: str | None):
            try:
                d = Document(html, url=url)
                summary = d.summary(html_partial=True)
                title = d.short_title()
            except Exception:
                return "", None, None, False
            from newsmirror.extract.text import element_text

            return element_text(lxml.html.fragment_fromstring(summary, create_parent="div")), title, None, True

        return run
    raise SystemExit(f"unknown extractor {name!r}; use one of {', '.join(EXTRACTORS)}")


def worker(name: str, bench: Path) -> None:
    sets = load_pages(bench)
    fn = make_extractor(name)
    fn("<html><body><p>warm up</p></body></html>", None)
    out: dict = {"name": name, "sets": {}}
    for set_name, pages in sets.items():
        results = []
        t0 = time.perf_counter()
        for p in pages:
            try:
                text, title, date, is_article = fn(p["html"], p["url"])
            except Exception as exc:  # an extractor crash counts as an empty answer
                text, title, date, is_article = "", None, None, False
                print(f"{name} crashed on {p['id']}: {exc}", file=sys.stderr)
            results.append({"id": p["id"], "text": text, "title": title, "date": date, "is_article": is_article})
        elapsed = time.perf_counter() - t0
        out["sets"][set_name] = {"elapsed": elapsed, "docs": len(pages), "results": results}
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout, ensure_ascii=False)


def score(bench: Path, run: dict) -> dict:
    from newsmirror.extract.evaluate import aeb_score, same_day, snippet_counts, snippet_score

    truth = json.loads((bench / "aeb" / "ground-truth.json").read_text(encoding="utf-8"))
    aeb = run["sets"]["aeb"]
    s_aeb = aeb_score((r["text"], truth[r["id"]]["articleBody"]) for r in aeb["results"])
    gold = {g["file"]: g for g in json.loads((bench / "zh" / "gold.json").read_text(encoding="utf-8"))}
    zh = run["sets"]["zh"]
    counts = []
    titles = dates = dated = 0
    for r in zh["results"]:
        g = gold[r["id"]]
        text = r["text"] if g["is_article"] else r["text"]
        counts.append(snippet_counts(text, g["with"], g["without"]))
        titles += (r["title"] or "").strip() == (g["title"] or "").strip()
        if g.get("date"):
            dated += 1
            dates += same_day(r["date"], g["date"])
    s_zh = snippet_score(counts)
    traf_gold = json.loads((bench / "traf-eval" / "gold.json").read_text(encoding="utf-8"))
    traf = run["sets"]["traf"]
    s_traf = snippet_score(snippet_counts(r["text"], traf_gold[r["id"]]["with"], traf_gold[r["id"]]["without"])
                           for r in traf["results"])
    empty = {  # pages whose gold has text and whose answer is empty: the costliest error
        "aeb": sum(1 for r in aeb["results"] if not r["text"].strip() and truth[r["id"]]["articleBody"].strip()),
        "zh": sum(1 for r in zh["results"] if not r["text"].strip() and gold[r["id"]]["is_article"]),
        "traf": sum(1 for r in traf["results"] if not r["text"].strip() and traf_gold[r["id"]]["with"]),
    }
    total_docs = aeb["docs"] + zh["docs"] + traf["docs"]
    total_time = aeb["elapsed"] + zh["elapsed"] + traf["elapsed"]
    return {
        "name": run["name"],
        "aeb": s_aeb, "zh": s_zh, "traf": s_traf, "empty": empty,
        "title": titles / len(zh["results"]), "date": dates / dated if dated else 0.0, "dated": dated,
        "aeb_dps": aeb["docs"] / aeb["elapsed"], "zh_dps": zh["docs"] / zh["elapsed"],
        "dps": total_docs / total_time, "rss": run["maxrss_mb"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH)
    ap.add_argument("--only", default=",".join(EXTRACTORS))
    ap.add_argument("--worker")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    ap.add_argument("--dump", type=Path, help="write each extractor's raw answers here (JSON) for inspection")
    args = ap.parse_args()
    if not all((args.bench / d).is_dir() for d in ("aeb", "zh", "traf-eval")):
        print(f"extraction.py: no benchmark pages in {args.bench} (it needs aeb/, zh/ and traf-eval/, laid out as "
              "../shared/bench/README.md says; AEB is scrapinghub/article-extraction-benchmark on GitHub): "
              "pass --bench DIR", file=sys.stderr)
        sys.exit(2)
    if args.worker:
        worker(args.worker, args.bench)
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    rows = []
    for name in names:
        proc = subprocess.run([sys.executable, __file__, "--worker", name, "--bench", str(args.bench)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
        run = json.loads(proc.stdout)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            (args.dump / f"{name}.json").write_text(json.dumps(run, ensure_ascii=False, indent=1), encoding="utf-8")
        rows.append(score(args.bench, run))
        print(f"{name}: done", file=sys.stderr)
    base = next((r for r in rows if r["name"] == "trafilatura"), rows[0])
    head = ("| extractor | AEB P | AEB R | AEB F1 | zh P | zh R | zh F1 | zh title exact | zh date same day "
            "| traf-eval P | traf-eval R | traf-eval F1 | empty (AEB/zh/traf-eval) "
            "| docs/s (all) | × trafilatura | peak RSS MB |")
    lines = [head, "|" + "---|" * 16]
    for r in rows:
        e = r["empty"]
        lines.append(
            f"| {r['name']} | {r['aeb'].precision:.3f} | {r['aeb'].recall:.3f} | {r['aeb'].f1:.3f} "
            f"| {r['zh'].precision:.3f} | {r['zh'].recall:.3f} | {r['zh'].f1:.3f} | {r['title']:.1%} "
            f"| {r['date']:.1%} | {r['traf'].precision:.3f} | {r['traf'].recall:.3f} | {r['traf'].f1:.3f} "
            f"| {e['aeb']}/{e['zh']}/{e['traf']} | {r['dps']:.1f} | {r['dps'] / base['dps']:.2f} | {r['rss']:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        out = HERE / "results" / "extraction.md"
        out.parent.mkdir(exist_ok=True)
        out.write_text(
            "# Extraction benchmark\n\n"
            f"`python benchmarks/extraction.py` on {time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, "
            f"{os.cpu_count()} cores; one process per extractor, files read before timing, extraction alone timed.\n"
            f"AEB: {len(load_pages(args.bench)['aeb'])} pages, shingle metric. zh: snippet metric; title exact match; "
            f"date on the same day for the {rows[0]['dated']} pages whose gold has a date. traf-eval: trafilatura's "
            "evaluation set, snippet metric. Empty: pages whose gold has text and whose answer is empty.\n\n"
            + table + "\n",
            encoding="utf-8",
        )
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
