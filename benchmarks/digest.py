"""Digest benchmark: the time to make a digest of many articles, each with a lead picture, from a synthetic store.

    python benchmarks/digest.py [--articles 500]

Makes a store of N articles (about 2,000 characters of Chinese text each, two categories, one day) and, in the
tree, a photo-like JPEG 1200 px wide for each (benchmarks/mirror.py's generator), as a mirror would hold them; then
times `newsmirror digest` (the code it runs: select, scale every picture to 800 px, build) for the EPUB and the
one-file HTML, with the default 15 MB cap, and reports the file sizes and how many articles went past the cap.
Prints a table and writes benchmarks/results/digest.md. Run by hand; not a test.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mirror import photo  # noqa: E402

from newsmirror.config import load_config  # noqa: E402
from newsmirror.digest import day_range, make_digest, select  # noqa: E402
from newsmirror.models import Article  # noqa: E402
from newsmirror.store import Store  # noqa: E402

TEXT = "记者报道，当地时间周三，多国代表在会议上就气候、贸易与人权议题展开讨论，与会者表示将继续推动对话。"


def make_store(root: Path, n: int) -> Path:
    cfg = root / "newsmirror.toml"
    cfg.write_text('[site]\ntitle = "基准"\noutput = "out"\nbase_url = "https://example.org/m"\n'
                   '[categories.intl]\ntitle = "国际"\n[categories.china]\ntitle = "中国"\n', encoding="utf-8")
    store = Store(root / "newsmirror.db")
    day = datetime(2026, 12, 4, 1, tzinfo=UTC)
    with store.tx():
        for i in range(n):
            img = photo(i, 1200)
            asset = f"assets/{hashlib.sha256(img).hexdigest()[:2]}/{hashlib.sha256(img).hexdigest()[:32]}.jpg"
            (root / "out" / asset).parent.mkdir(parents=True, exist_ok=True)
            (root / "out" / asset).write_bytes(img)
            url = f"https://news.example/a/{i}.html"
            body = "".join(f"<p>{TEXT}{j}</p>" for j in range(40))
            store.save_article(Article(url=url, canonical_url=url, title=f"第{i}篇 新闻标题", body_html=body,
                                       id=f"a{i}", category=("intl", "china")[i % 2], source="bench",
                                       published=day + timedelta(minutes=i), image=f"https://img.example/{i}.jpg",
                                       caption="图片说明"), f"h{i}", False)
            store.set_article_images(f"a{i}", [f"https://img.example/{i}.jpg"], new=True)
            store.image_done(f"https://img.example/{i}.jpg", asset, 1200, 800, len(img))
    store.close()
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=500)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        cfg = load_config(make_store(root, args.articles))
        made = time.perf_counter() - t0
        store = Store(cfg.store_path)
        rng = day_range(datetime(2026, 12, 4).date(), datetime(2026, 12, 4).date())
        for fmt in ("epub", "html"):
            t0 = time.perf_counter()
            arts = select(store, cfg, rng)
            data, content = make_digest(cfg, store, cfg.output_dir, arts, rng, None, fmt)
            rows.append((fmt, time.perf_counter() - t0, len(data), content.count, len(content.left_out)))
        store.close()
    lines = [f"# Digest benchmark ({args.articles} articles, one photo-like JPEG 1200 px wide each)", "",
             f"{datetime.now(UTC):%Y-%m-%d}, {platform.python_version()}, {platform.machine()}; synthetic store "
             f"made in {made:.1f} s (not counted).", "",
             "| format | seconds | file size | articles in it | past the 15 MB cap (listed) |", "|---|---|---|---|---|"]
    lines += [f"| {f} | {s:.1f} | {b / 1e6:.1f} MB | {n} | {left} |" for f, s, b, n, left in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parent / "results" / "digest.md"
    out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
