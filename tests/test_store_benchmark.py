"""benchmarks/store.py: its pages are stored as new articles, each its own, and each segment is measured."""

from __future__ import annotations


def test_the_store_benchmark_stores_every_page_as_a_new_article_and_measures_each_segment():
    from benchmarks import store as bench

    tpl = bench.templates(1000)
    pages = [bench.page(i, tpl) for i in range(2000)]  # (twice the templates: bodies are shared from here on)
    assert len({c.url for c, _ in pages}) == len({a.content_hash for _, a in pages}) == 2000
    assert pages[1000][1].body == pages[0][1].body and pages[1000][1].simhash != pages[0][1].simhash
    assert any(a.links for _, a in pages) and any(len(a.images) > 1 for _, a in pages)
    rows = bench.measure(1000, 2)  # (raises unless all 1,000 were stored as new articles)
    assert [r["upto"] for r in rows] == [500, 1000]
    assert all(r["store_ms"] > 0 and r["plain_ms"] > 0 for r in rows) and rows[-1]["store_mb"] > 1
    assert all(r["store_io"] > 0 and r["plain_io"] > 0 for r in rows)  # (the commits write: Linux counts them)
    table = bench.table(rows, 1000, 2, "now")
    assert table.count("\n| 500 |") == 1 and "| 1,000 |" in table
