"""How fast the mirror's git history grows: what one added article costs in `.git`, against that article's own files.

    python benchmarks/history.py [--base 1000] [--runs 100] [--per-run 10] [--no-sign] [--keep DIR] [--out FILE]

The synthetic site of benchmarks/mirror.py (served on 127.0.0.1, `base + runs * per_run` articles with their
pictures) is mirrored with the HTML site on (site.formats = ["markdown", "html"], so the Pagefind search index
too), QR codes (base_url) and, unless --no-sign, a signing key. One `urls` source per category lists the
articles to mirror: first the oldest `base` of them (one run), then `per_run` newer ones before each of `runs`
runs, as a mirror run by cron every 30 minutes sees them.

For each run it records the bytes of `.git` (every file in it) and the bytes of the files the new articles
brought to the tree: their pages (Markdown and HTML) and QR codes, and the pictures added with them. The figure
that matters is the growth of `.git` per added article over the runs, divided by the article's own bytes
(target: at most 2). The benchmark runs no `git gc` of its own until the end (each run calls `git gc --auto`, as
it does for an operator); the size after a full `git gc` at the end is shown beside it.

The search index is not in main's history: each run puts it on the one-commit `snapshot` branch instead
(src/newsmirror/publish/snapshot.py) and prunes the snapshot it replaced. The table says how many commits that
branch holds at the end, how many index files it has, and what `.git` holds besides main's history (loose
objects and packs), so that an old snapshot left behind would show.

Writes benchmarks/results/history.md (or --out). Nothing here is a test; it is run by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mirror import CATEGORIES, SITE, SOURCES, Server, article_path, q  # noqa: E402


def tree_bytes(path: Path) -> int:
    """The bytes of every file under `path` (what a copy of the folder weighs, before file system blocks)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                pass
    return total


def write_config(folder: Path, sign: bool) -> Path:
    lines = ["[site]", f"title = {q(SITE + '镜像')}", 'output = "mirror"', 'formats = ["markdown", "html"]',
             'base_url = "https://github.com/example/news/blob/main"', "",
             "[fetch]", "concurrency = 16", "per_host = 16", "warc = true", "",
             "[images]", "max_bytes_per_run = 2000000000", ""]
    if sign:
        lines += ["[signing]", 'key = "keys/mirror.key"', ""]
    for key, title in CATEGORIES:
        lines += [f"[categories.{key}]", f"title = {q(title)}", ""]
        lines += ["[[sources]]", f"name = {q(key)}", 'kind = "urls"', f"path = {q(f'urls/{key}.txt')}",
                  f"category = {q(key)}", "limit = 10000", ""]
    path = folder / "newsmirror.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def list_urls(folder: Path, base: str, articles: range) -> None:
    """The urls files: every article in `articles`, each in its category's list (article i is SOURCES[i % 10]'s)."""
    by_cat: dict[str, list[str]] = {key: [] for key, _ in CATEGORIES}
    for i in articles:
        by_cat[SOURCES[i % 10][1]].append(base + article_path(i))
    (folder / "urls").mkdir(exist_ok=True)
    for key, urls in by_cat.items():
        tmp = folder / "urls" / f".{key}.txt.tmp"
        tmp.write_text("".join(u + "\n" for u in urls), encoding="utf-8")
        tmp.replace(folder / "urls" / f"{key}.txt")


def run(folder: Path, cfg: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "newsmirror", "--config", str(cfg), "-q", "run"], cwd=folder,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"newsmirror run failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def own_bytes(out: Path) -> tuple[int, int, int]:
    """(articles added by the last commit, the bytes of their pages and QR codes, the bytes of pictures added)."""
    diff = subprocess.run(["git", "-C", str(out), "diff", "--name-only", "--diff-filter=A", "HEAD~1", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.split()
    pages = [p for p in diff if "/pages/" in "/" + p and p.rsplit(".", 1)[-1] in ("md", "html", "png")]
    pictures = [p for p in diff if "/assets/" in "/" + p]
    n = sum(1 for p in pages if p.startswith("pages/") and p.endswith(".md"))
    size = sum((out / p).stat().st_size for p in pages)
    return n, size, sum((out / p).stat().st_size for p in pictures)


def churn(out: Path) -> dict[str, int]:
    """Files changed or added by the last commit, by kind (the search index, the pages, …)."""
    diff = subprocess.run(["git", "-C", str(out), "diff", "--name-only", "HEAD~1", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.split()
    kinds: dict[str, int] = {}
    for p in diff:
        kind = ("search index" if "/pagefind/" in "/" + p else "pictures" if "/assets/" in "/" + p
                else "pages" if "/pages/" in "/" + p else "indexes, home, feeds, manifest")
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def growth_by_kind(out: Path, runs: int) -> dict[str, int]:
    """The bytes the last `runs` commits added to the history, by kind of file: each file they added or changed,
    zlib-compressed as git stores it (before any delta a `git gc` may find)."""
    import zlib

    commits = subprocess.run(["git", "-C", str(out), "rev-list", f"-{runs + 1}", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.split()[::-1]
    kinds: dict[str, int] = {}
    for parent, commit in zip(commits, commits[1:], strict=False):
        diff = subprocess.run(["git", "-C", str(out), "diff-tree", "-r", "--no-commit-id", parent, commit],
                              capture_output=True, text=True, check=True).stdout.splitlines()
        for line in diff:
            meta, path = line.split("\t", 1)
            _, _, _, sha, status = meta.split()
            if status == "D":
                continue
            data = subprocess.run(["git", "-C", str(out), "cat-file", "blob", sha], capture_output=True,
                                  check=True).stdout
            kind = ("search index (Pagefind)" if "/pagefind/" in "/" + path else
                    "pictures" if "/assets/" in "/" + path else "manifest and signature" if path.startswith("manifest")
                    else "pages and QR codes" if "/pages/" in "/" + path else "indexes, home pages, feeds")
            kinds[kind] = kinds.get(kind, 0) + len(zlib.compress(data, 1))
    return kinds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--per-run", type=int, default=10)
    ap.add_argument("--no-sign", action="store_true")
    ap.add_argument("--keep", type=Path)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "history.md")
    args = ap.parse_args()
    total = args.base + args.runs * args.per_run
    server = Server(total)
    folder = Path(tempfile.mkdtemp(prefix="nm-history-")) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    try:
        cfg = write_config(folder, not args.no_sign)
        if not args.no_sign and not (folder / "keys/mirror.key").exists():
            subprocess.run([sys.executable, "-m", "newsmirror", "keygen", str(folder / "keys/mirror.key")],
                           check=True, capture_output=True)
        newest = total - args.base  # articles newest..total-1 first (the oldest), then newer ones run by run
        list_urls(folder, server.base, range(newest, total))
        first_s = run(folder, cfg)
        out = folder / "mirror"
        start = tree_bytes(out / ".git")
        print(f"base: {args.base} articles in {first_s:.0f} s, .git {start / 1e6:.1f} MB", flush=True)
        added = own = pictures = 0
        times: list[float] = []
        changed: dict[str, int] = {}
        for r in range(args.runs):
            newest -= args.per_run
            list_urls(folder, server.base, range(newest, total))
            times.append(run(folder, cfg))
            n, size, pics = own_bytes(out)
            added, own, pictures = added + n, own + size, pictures + pics
            for k, v in churn(out).items():
                changed[k] = changed.get(k, 0) + v
            if (r + 1) % 10 == 0 or r + 1 == args.runs:
                grown = tree_bytes(out / ".git") - start
                print(f"run {r + 1}: {added} added, .git +{grown / 1e6:.1f} MB, {grown / max(added, 1) / 1e3:.1f} kB "
                      f"an article; own {(own + pictures) / max(added, 1) / 1e3:.1f} kB", flush=True)
        end = tree_bytes(out / ".git")
        snap = snapshot_info(out)
        kinds = growth_by_kind(out, args.runs)
        subprocess.run(["git", "-C", str(out), "gc", "-q"], check=True)
        after_gc = tree_bytes(out / ".git")
        report(args, added, own, pictures, start, end, after_gc, times, changed, kinds, snap)
    finally:
        server.stop()
        if args.keep is None:
            subprocess.run(["rm", "-rf", str(folder)], check=False)


def snapshot_info(out: Path) -> dict[str, str]:
    """The snapshot branch (commits, index files, their bytes) and what `.git` holds (`git count-objects -v`)."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(out), *args], capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    info: dict[str, str] = {"snapshot commits": git("rev-list", "--count", "refs/heads/snapshot") or "none"}
    listing = git("ls-tree", "-r", "-l", "refs/heads/snapshot", "--", "site/pagefind").splitlines()
    info["snapshot index files"] = f"{len(listing)} ({sum(int(x.split()[3]) for x in listing) / 1e6:.1f} MB)"
    info["index files on main"] = str(len(git("ls-tree", "-r", "--name-only", "HEAD", "--", "site/pagefind")
                                          .splitlines()))
    counts = dict(line.split(": ", 1) for line in git("count-objects", "-v").splitlines() if ": " in line)
    info["loose objects"] = f"{counts.get('count', '?')} ({int(counts.get('size', 0)) / 1e3:.1f} MB)"
    info["packs"] = f"{counts.get('packs', '?')} ({int(counts.get('size-pack', 0)) / 1e3:.1f} MB)"
    return info


def report(args: argparse.Namespace, added: int, own: int, pictures: int, start: int, end: int, after_gc: int,
           times: list[float], changed: dict[str, int], kinds: dict[str, int],
           snap: dict[str, str] | None = None) -> None:
    per = (end - start) / max(added, 1)
    own_per = (own + pictures) / max(added, 1)
    setup = (f"{args.base} articles, then {args.runs} runs of {args.per_run} new ones; HTML site on, QR codes, "
             f"{'no signing' if args.no_sign else 'signed'}")
    lines = [
        f"# History growth ({setup})", "",
        f"`python benchmarks/history.py --base {args.base} --runs {args.runs} --per-run {args.per_run}"
        f"{' --no-sign' if args.no_sign else ''}`", "",
        "| measure | value |", "| --- | --- |",
        f"| articles added | {added} |",
        f"| `.git` after the base run | {start / 1e6:.1f} MB |",
        f"| `.git` after the runs | {end / 1e6:.1f} MB |",
        f"| `.git` growth per added article | {per / 1e3:.1f} kB |",
        f"| an added article's own files (pages, QR codes, pictures) | {own_per / 1e3:.1f} kB "
        f"(pictures {pictures / max(added, 1) / 1e3:.1f} kB) |",
        f"| **growth ÷ own bytes** (target ≤ 2) | **{per / max(own_per, 1):.2f}** |",
        f"| `.git` after a `git gc` at the end | {after_gc / 1e6:.1f} MB "
        f"({(after_gc - start) / max(added, 1) / 1e3:.1f} kB an article over the base) |",
        "| files changed a run (mean) | " + ", ".join(f"{k} {v / max(args.runs, 1):.1f}"
                                                     for k, v in sorted(changed.items())) + " |",
        f"| run time (median) | {sorted(times)[len(times) // 2]:.1f} s |" if times else "",
        *(f"| {k} (at the end, before the `git gc`) | {v} |" for k, v in (snap or {}).items()),
        "", "What the runs added to the history, by kind of file (zlib-compressed, as git stores a new file):", "",
        "| kind | kB an added article | share |", "| --- | --- | --- |",
    ]
    every = sum(kinds.values()) or 1
    for kind, size in sorted(kinds.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {kind} | {size / max(added, 1) / 1e3:.1f} | {size / every:.0%} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
