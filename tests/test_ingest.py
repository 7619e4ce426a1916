"""The store phase: pages stored a batch at a time end as if stored one by one."""

from __future__ import annotations

import dataclasses
import zlib

import pytest

from newsmirror.errors import PageRejected
from newsmirror.models import Article, Candidate, RunReport, WarcRef
from newsmirror.pipeline.analyse import Analysis
from newsmirror.pipeline.context import Context
from newsmirror.pipeline.ingest import fail, store_page, store_pages
from newsmirror.store import Store, StoreError

from .conftest import minimal_config

FP = 0x0123_4567_89AB_CDEF
FP2 = 0x7654_3210_FEDC_BA98
TITLE = "城南老旧小区改造完成"


def page(url: str, content_hash: str, *, canonical: str | None = None, title: str = TITLE, fp: int | None = None,
         links: tuple[str, ...] = (), images: tuple[str, ...] = (), source: str = "ntd-intl",
         final: str | None = None) -> tuple:
    c = Candidate(url=url, source=source, category="intl")
    art = Article(url=final or url, canonical_url=canonical or final or url, title=title,
                  body_html=f"<p>{content_hash}</p>")
    return c, Analysis(art, content_hash, set(links), list(images), simhash=fp)


def pages() -> list[tuple]:
    """A batch in which later pages depend on what earlier ones store."""
    return [
        page("https://x.example/a1.html?from=rss", "h1", canonical="https://x.example/a1.html", fp=FP,
             links=("https://x.example/b2.html",), images=("https://x.example/i1.jpg", "https://x.example/i2.jpg")),
        page("https://x.example/copy-a1.html", "h1"),  # the same words as the page before: a duplicate
        page("https://x.example/near-a1.html", "h1b", fp=FP ^ 0b101),  # nearly the same: a duplicate too
        page("https://x.example/a1.html", "h1c", fp=FP ^ (1 << 60), links=("https://x.example/c3.html",)),  # edited
        page("https://x.example/a1.html?from=feed2", "h1c", canonical="https://x.example/a1.html"),  # unchanged
        page("https://y.example/a1.html", "h9", title="另一篇文章的标题在此"),  # its own id is taken: a1-…
        page("https://x.example/b2.html", "h2", title="第二篇", images=("https://x.example/i2.jpg",)),
        page("https://x.example/b2.html?x=1", "h3", canonical="https://x.example/b2.html", title="第二篇",
             source="ntd-intl"),  # found at another URL, its canonical the page before's: an update
        page("https://x.example/a1.html?from=rss", "h4", final="https://z.example/a1.html"),  # a1's URL, now another
        # site's page (redirected): refused
        page("https://x.example/d4.html", "h5", title="第四篇"),
        page("https://x.example/f6.html", "h7", title="第六篇新闻的标题", fp=FP2 ^ 1 << 40),
    ]


def dump(store: Store) -> dict:
    q = {"articles": "SELECT id, url, canonical_url, title, content_hash, simhash, warc_offset FROM articles",
         "urls": "SELECT url, status, article_id, reason, attempts FROM urls",
         "links": "SELECT article_id, target FROM links", "images": "SELECT article_id, url, pos FROM article_images"}
    return {k: sorted(tuple(r) for r in store.db.execute(sql)) for k, sql in q.items()}


@pytest.mark.parametrize("before", [False, True])
def test_a_batch_is_stored_as_its_pages_one_by_one(tmp_path, monkeypatch, before):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    results = []
    for how in ("one by one", "batch"):
        folder = tmp_path / how.replace(" ", "-")
        folder.mkdir()
        cfg = minimal_config(folder, "http://127.0.0.1:1")
        store = Store(folder / "s.db")
        ctx = Context(cfg, store, [], "")
        report = RunReport()
        if before:  # some of the keys the batch asks about are in the store already
            store_page(ctx, *page("https://x.example/b2.html", "h0", title="第二篇"), lambda: None, RunReport())
            for i in range(3):  # the first saved of equals is the twin
                store_page(ctx, *page(f"https://w.example/old{i}.html", f"h0{i}", title="第六篇新闻的标题", fp=FP2),
                           lambda: None, RunReport())
        batch = pages()
        refs = [WarcRef("w.warc.gz", i, f"r{i}", f"d{i}") for i in range(len(batch))]
        archives = [lambda ref=ref: ref for ref in refs]
        if how == "batch":
            flushed: list[bool] = []
            ids = store_pages(ctx, [(c, a, arc) for (c, a), arc in zip(batch, archives, strict=True)], report,
                              lambda flushed=flushed: flushed.append(True))
            assert flushed == [True]
        else:
            ids = [store_page(ctx, c, a, arc, report) for (c, a), arc in zip(batch, archives, strict=True)]
        assert store.articles_version() >= 1  # (once a transaction: one for the batch, one a page for the others)
        results.append((ids, dataclasses.astuple(report), dump(store)))
        store.close()
    one, many = results
    assert many == one
    ids, report, tables = many
    assert ids[0] == "a1" and ids[1] is None and ids[2] is None and ids[3] == "a1" and ids[4] is None
    assert ids[5].startswith("a1-") and ids[6] == ids[7] == "b2" and ids[8] is None and ids[9] == "d4"
    assert (ids[10] is None) == before
    statuses = {r[0]: r[1] for r in tables["urls"]}
    assert statuses["https://x.example/copy-a1.html"] == statuses["https://x.example/near-a1.html"] == "duplicate"
    assert statuses["https://x.example/a1.html?from=rss"] == "failed" and report[4] == 1  # (failed)
    assert ("a1", "https://x.example/c3.html") in tables["links"] and ("a1", "https://x.example/b2.html") not in \
        tables["links"]


def test_a_batch_that_fails_stores_none_of_its_pages(tmp_path):
    cfg = minimal_config(tmp_path, "http://127.0.0.1:1")
    store = Store(tmp_path / "s.db")
    ctx = Context(cfg, store, [], "")

    def broken() -> WarcRef:
        raise OSError("disk full")

    batch = [(c, a, lambda: None) for c, a in pages()[:3]] + [(*page("https://x.example/e5.html", "h6"), broken)]
    with store.grouped(), pytest.raises(OSError):
        store_pages(ctx, batch, RunReport())
    assert store.article_count() == 0 and store.db.execute("SELECT COUNT(*) FROM urls").fetchone()[0] == 0


def test_pages_linking_to_a_url_are_due_whatever_it_turns_out_to_be(tmp_path):
    """A page links to three URLs; each is then stored as a new article, found a duplicate of another, or fails:
    the linking page is marked due (dirty) in the transaction that records each outcome, as its link now leads to
    our copy (or no longer does), with no lookup after the fetch."""
    cfg = minimal_config(tmp_path, "http://127.0.0.1:1")
    assert cfg.site.link_policy == "mirror"
    store = Store(tmp_path / "s.db")
    ctx = Context(cfg, store, [], "")
    targets = {"new": "https://x.example/n1.html", "duplicate": "https://x.example/copy.html",
               "failed": "https://x.example/gone.html"}
    hub = store_page(ctx, *page("https://x.example/hub.html", "hub", title="汇总页面的标题",
                                links=tuple(targets.values())), lambda: None, RunReport())
    store_page(ctx, *page("https://x.example/orig.html", "same", title="原文"), lambda: None, RunReport())
    for outcome, url in targets.items():
        with store.tx():
            store.mark_clean()
        assert store.dirty_ids() == set()
        report = RunReport()
        if outcome == "failed":
            with store.tx():
                fail(ctx, Candidate(url=url, source="ntd-intl", category="intl"), "HTTP 404", report)
        else:
            store_page(ctx, *page(url, "same" if outcome == "duplicate" else "n1", title="新的文章"), lambda: None,
                       report)
        assert report.duplicates == (outcome == "duplicate") and report.failed == (outcome == "failed")
        assert hub in store.dirty_ids(), outcome
    store.close()


def test_a_body_comes_back_compressed_and_is_stored_so_and_read_back_as_the_same_text(tmp_path):
    """A worker sends the body back as the store keeps it (Analysis.packed: zlib of its UTF-8), which the store
    writes as it comes (a blob, smaller than the text) and gives back as the same text."""
    cfg = minimal_config(tmp_path, "http://127.0.0.1:1")
    store = Store(tmp_path / "s.db")
    ctx = Context(cfg, store, [], "")
    c, a = page("https://x.example/a1.html", "h1")
    body = "<p>城南老旧小区改造完成, “引号” 与 emoji 🎉</p>" * 20
    a.article.body_html = body
    a = a.packed()
    assert a.article.body_html == "" and zlib.decompress(a.body) == body.encode("utf-8")
    with store.grouped():
        (aid,) = store_pages(ctx, [(c, a, lambda: None)], RunReport())
    kind, size = store.db.execute("SELECT typeof(body_html), length(body_html) FROM articles WHERE id=?",
                                  (aid,)).fetchone()
    assert kind == "blob" and size < len(body.encode("utf-8")) / 4
    assert store.article(aid).body_html == body
    assert store.articles_by_id([aid])[0].body_html == body


def test_a_body_an_older_version_stored_as_text_reads_as_it_was(tmp_path):
    store = Store(tmp_path / "s.db")
    art = Article(url="https://x.example/a1.html", canonical_url="https://x.example/a1.html", title="旧的",
                  body_html="<p>旧版本存的正文</p>", id="a1")
    store.save_article(art, "h1", False)
    assert store.db.execute("SELECT typeof(body_html) FROM articles").fetchone()[0] == "blob"  # (what it writes now)
    store.db.execute("UPDATE articles SET body_html=? WHERE id='a1'", (art.body_html,))  # (what older ones wrote)
    assert store.db.execute("SELECT typeof(body_html) FROM articles").fetchone()[0] == "text"
    assert store.article("a1").body_html == "<p>旧版本存的正文</p>"
    assert [a.body_html for a in store.articles()] == ["<p>旧版本存的正文</p>"]


def test_a_body_that_cannot_be_unpacked_is_a_clear_error_naming_the_article_and_the_store(tmp_path):
    store = Store(tmp_path / "s.db")
    art = Article(url="https://x.example/a1.html", canonical_url="https://x.example/a1.html", title="标题", id="a1",
                  body_html="<p>正文</p>")
    store.save_article(art, "h1", False)
    store.db.execute("UPDATE articles SET body_html=? WHERE id='a1'", (b"x\x9c not zlib",))  # (damaged on disk)
    with pytest.raises(StoreError, match=r"s\.db: the body of article a1 cannot be read .*restore it from a backup"):
        store.article("a1")


def test_a_body_that_is_not_text_is_a_rejected_page_not_a_failed_batch():
    _, a = page("https://x.example/a1.html", "h1")
    a.article.body_html = "<p>half a pair \ud800</p>"  # (a lone surrogate: no UTF-8 for it)
    with pytest.raises(PageRejected, match="not valid text"):
        a.packed()


def test_what_travels_to_and_from_the_workers_comes_back_equal():
    import pickle

    from newsmirror.fetch.warc import WarcRecords
    from newsmirror.models import Response

    _, a = page("https://x.example/a1.html", "h1", links=("https://x.example/b.html",), fp=FP)
    a.ref = WarcRef("newsmirror-x.warc.gz", 12, "<urn:uuid:1>", "sha1:AB")
    hop = Response("https://x.example/a", "https://x.example/a", 301, {}, b"", "", "", raw_body=b"moved")
    resp = Response("https://x.example/a", "https://x.example/b", 200, {"content-type": "text/html"}, b"", "", "",
                    raw_body=b"\x1f\x8b...", raw_headers=[("Content-Type", "text/html")], hops=[hop])
    for obj in (a, a.packed(), resp, WarcRecords(b"WARC/1.1", "<urn:uuid:2>", "sha1:CD", 3, 8, 100)):
        back = pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))
        assert back == obj and type(back) is type(obj)
        assert type(obj).__reduce__(obj)[0] is type(obj)  # rebuilt by its constructor


def test_a_source_is_looked_up_by_name_and_follows_the_config(tmp_path):
    cfg = minimal_config(tmp_path, "http://127.0.0.1:1")
    ctx = Context(cfg, Store(tmp_path / "s.db"), [], "")
    first = cfg.sources[0]
    assert ctx.source(first.name) is first and ctx.source("(add)") is None
    other = first.model_copy(update={"name": "other"})
    cfg.sources = [other]  # (a config changed since: the lookup follows it)
    assert ctx.source("other") is other and ctx.source(first.name) is None
