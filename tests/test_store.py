from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from newsmirror.models import Article, WarcRef
from newsmirror.store import CACHE_KB, Store, StoreError


def art(i: str, url: str, **kw) -> Article:
    fields = dict(url=url, canonical_url=url, title=f"t{i}", body_html="<p>body</p>", id=i, category="intl",
                  source="s")
    return Article(**{**fields, **kw})


def test_store_round_trip_wal_and_lookups(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path)
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KB  # (a group's index pages: see CACHE_KB)
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
        s.mark_url("https://x.example/a1.html?from=feed", "s", "ok", article_id="a1")
    s.close()
    s = Store(path)  # persisted
    a = s.article("a1")
    assert a and a.title == "ta1" and a.content_hash == "h1" and a.first_seen and not a.pick
    assert s.article_by_url("https://x.example/a1.html").id == "a1"
    assert s.article_by_url("https://x.example/a1.html?from=feed").id == "a1"
    assert s.article_by_hash("h1").id == "a1"
    assert s.id_taken("a1", "https://other.example/a1.html") and not s.id_taken("a1", "https://x.example/a1.html")


def test_failures_count_attempts_and_reset_on_success(tmp_path):
    s = Store(tmp_path / "s.db")
    for _ in range(3):
        s.mark_url("https://x.example/b.html", "s", "failed", reason="HTTP 500", failed=True)
    row = s.url_row("https://x.example/b.html")
    assert row["attempts"] == 3 and row["reason"] == "HTTP 500"
    assert [r["url"] for r in s.failures("s")] == ["https://x.example/b.html"]
    s.mark_url("https://x.example/b.html", "s", "ok", article_id="b")
    assert s.url_row("https://x.example/b.html")["attempts"] == 0 and s.failures() == []


def test_a_transaction_that_fails_leaves_nothing(tmp_path):
    s = Store(tmp_path / "s.db")
    try:
        with s.tx():
            s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert s.article("a1") is None


def test_grouped_transactions_commit_every_n_and_roll_back_only_the_failed_block(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path)
    other = Store(path)  # another connection sees only what is committed

    def committed() -> int:
        return other.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    with s.grouped(every=3):
        for i in range(4):
            with s.tx():
                s.save_article(art(f"a{i}", f"https://x.example/a{i}.html"), f"h{i}", pick=False)
        assert committed() == 3  # the first group of three; the fourth waits for the next commit
        assert s.article("a3") is not None  # this connection sees its own writes
        try:
            with s.tx():
                s.save_article(art("bad", "https://x.example/bad.html"), "hb", pick=False)
                with s.tx():  # a nested block is a savepoint too
                    s.mark_url("https://x.example/bad.html", "s", "ok", article_id="bad")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        assert s.article("bad") is None and s.url_row("https://x.example/bad.html") is None
    assert committed() == 4 and not s.db.in_transaction  # the rest is committed when the group ends
    with s.tx():  # and plain transactions work again after it
        s.save_article(art("a9", "https://x.example/a9.html"), "h9", pick=False)
    assert committed() == 5


def test_a_group_ended_by_an_error_keeps_its_finished_blocks(tmp_path):
    s = Store(tmp_path / "s.db")
    try:
        with s.grouped(every=100):
            with s.tx():
                s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    s.close()
    assert Store(tmp_path / "s.db").article("a1") is not None


def test_commit_now_commits_a_group_between_blocks_and_makes_every_later_block_commit(tmp_path):
    """Ctrl-C's commit: a run then ended where it stands keeps what it saved (another reader sees it)."""
    s = Store(tmp_path / "s.db")
    before = s.committed_article_count()
    with s.grouped(every=100):
        with s.tx():
            s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
        assert s.committed_article_count() == before == 0  # the group holds it
        with s.tx():  # mid-block: nothing half-done is committed; the block's end commits it
            s.save_article(art("a2", "https://x.example/a2.html"), "h2", pick=False)
            s.commit_now()
            assert s.committed_article_count() == 0
        assert s.committed_article_count() == 2
        s.commit_now()  # between blocks: at once (nothing left to commit here, and no error)
        with s.tx():
            s.save_article(art("a3", "https://x.example/a3.html"), "h3", pick=False)
        assert s.committed_article_count() == 3 and s.db.in_transaction  # each later block commits as it ends
    s.commit_now()  # outside a group: nothing to do
    assert s.committed_article_count() == 3


def test_commit_now_between_blocks_commits_at_once(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.grouped(every=100):
        for i in range(3):
            with s.tx():
                s.save_article(art(f"a{i}", f"https://x.example/a{i}.html"), f"h{i}", pick=False)
        assert s.committed_article_count() == 0
        s.commit_now()
        assert s.committed_article_count() == 3  # a kill now loses nothing


def test_links_table_finds_pages_that_link_to_a_url(tmp_path):
    s = Store(tmp_path / "s.db")
    s.set_links("a1", {"https://x.example/b.html", "https://x.example/c.html"})
    s.set_links("a2", {"https://x.example/c.html"})
    assert s.linking_to(["https://x.example/c.html"]) == {"a1", "a2"}
    s.set_links("a1", set())
    assert s.linking_to(["https://x.example/b.html"]) == set()


def test_links_and_urls_of_many_articles_are_found_past_one_statements_limit(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.tx():
        for i in range(1200):
            s.save_article(art(f"a{i}", f"https://x.example/a{i}.html"), f"h{i}", pick=False)
            s.set_links(f"a{i}", {f"https://x.example/t{i}.html"})
    targets = [f"https://x.example/t{i}.html" for i in range(0, 1200, 2)] + ["https://x.example/none.html"] * 700
    assert s.linking_to(targets) == {f"a{i}" for i in range(0, 1200, 2)}
    urls = s.urls_of([f"a{i}" for i in range(1200)] + ["missing"])
    assert urls == {f"https://x.example/a{i}.html" for i in range(1200)}


def test_a_corrupt_store_gives_a_clear_error(tmp_path):
    bad = tmp_path / "s.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    try:
        Store(bad)
    except StoreError as exc:
        assert "s.db" in str(exc) and "move it aside" in str(exc)
    else:
        raise AssertionError("no StoreError")


def test_an_articles_warc_reference_is_kept_when_an_update_brings_none(tmp_path):
    s = Store(tmp_path / "s.db")
    s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False,
                   warc=WarcRef("run1.warc.gz", 10, "<urn:1>", "d1"))
    assert s.warc_ref("a1") == WarcRef("run1.warc.gz", 10, "<urn:1>", "d1")
    s.save_article(art("a1", "https://x.example/a1.html"), "h2", pick=False)  # a run with warc = false
    assert s.warc_ref("a1") == WarcRef("run1.warc.gz", 10, "<urn:1>", "d1")
    s.save_article(art("a1", "https://x.example/a1.html"), "h3", pick=False,
                   warc=WarcRef("run2.warc.gz", 5, "<urn:2>", "d2"))
    assert s.warc_ref("a1") == WarcRef("run2.warc.gz", 5, "<urn:2>", "d2")


def test_articles_by_id_in_the_order_asked_without_the_missing(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.tx():
        for i in range(700):
            s.save_article(art(f"a{i}", f"https://x.example/a{i}.html"), f"h{i}", pick=False)
    ids = [f"a{i}" for i in range(699, -1, -3)] + ["nope"]
    assert [a.id for a in s.articles_by_id(ids)] == ids[:-1]
    assert s.articles_by_id(["a5"])[0].body_html == "<p>body</p>"


def test_a_canonical_url_that_is_not_http_is_replaced_once_by_the_fetched_url(tmp_path):
    s = Store(tmp_path / "s.db")
    s.save_article(art("a1", "https://x.example/a1.html", canonical_url="javascript:alert(1)"), "h1", pick=False)
    s.save_article(art("a2", "https://x.example/a2.html", canonical_url="https://x.example/c2"), "h2", pick=False)
    s.db.execute("DELETE FROM meta WHERE key='canonical_http'")  # as a store made by an older version
    s.mark_clean()
    s.close()
    s = Store(tmp_path / "s.db")
    assert s.article("a1").canonical_url == "https://x.example/a1.html"
    assert s.article("a2").canonical_url == "https://x.example/c2"
    assert s.dirty_ids() == {"a1"}  # its page is made again
    s.close()


def test_a_store_that_cannot_be_opened_now_is_not_called_corrupt(tmp_path):
    folder = tmp_path / "s.db"
    folder.mkdir()  # (as a full disk or an I/O error would) sqlite cannot open it, but nothing says it is broken
    try:
        Store(folder)
    except StoreError as exc:
        assert "cannot use the store now" in str(exc) and "move it aside" not in str(exc)
    else:
        raise AssertionError("no StoreError")


def test_articles_at_finds_what_article_by_url_finds_for_many_urls_at_once(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.tx():
        for i in range(600):  # past one statement's limit
            s.save_article(art(f"a{i}", f"https://x.example/a{i}.html", canonical_url=f"https://x.example/c{i}"),
                           f"h{i}", pick=False)
        s.mark_url("https://x.example/a1.html?from=feed", "s", "ok", article_id="a1")
        s.mark_url("https://x.example/copy-of-2.html", "s", "duplicate", article_id="a2")
        s.mark_url("https://x.example/again-3.html", "s", "pending", article_id="a3")  # led to no article (yet)
    urls = [f"https://x.example/a{i}.html" for i in range(600)] + [f"https://x.example/c{i}" for i in range(600)] + [
        "https://x.example/a1.html?from=feed", "https://x.example/copy-of-2.html", "https://x.example/again-3.html",
        "https://x.example/unknown.html"]
    found = s.articles_at(urls)
    assert found == {u: a.id for u in urls if (a := s.article_by_url(u)) is not None}
    assert len(found) == 1202 and "https://x.example/again-3.html" not in found
    read = s.read_at(f"a{i}" for i in range(600))
    a0 = s.article("a0")
    assert len(read) == 600 and read["a0"] == max(a0.fetched_at, a0.last_seen)


def test_a_field_added_to_the_article_is_stored_and_older_stores_get_its_column(tmp_path):
    """The articles table follows the Article model: `section` round-trips, and a store made before the field
    existed gains the column (NULL for the articles it held) when it is opened."""
    import sqlite3

    path = tmp_path / "s.db"
    s = Store(path)
    s.save_article(art("a1", "https://x.example/a1.html", section="国际"), "h1", pick=False)
    s.save_article(art("a2", "https://x.example/a2.html"), "h2", pick=False)
    assert s.article("a1").section == "国际" and s.article("a2").section is None
    assert [a.section for a in s.articles(with_body=False)] in (["国际", None], [None, "国际"])
    s.close()
    con = sqlite3.connect(path)  # as an older version left it: no such column
    con.execute("ALTER TABLE articles DROP COLUMN section")
    con.close()
    s = Store(path)
    assert s.article("a1").section is None
    s.save_article(art("a1", "https://x.example/a1.html", section="文化"), "h1", pick=False)
    assert s.article("a1").section == "文化"
    s.close()


def test_the_status_summary_is_plain_values_per_configured_source_then_the_added_urls(tmp_path):
    from newsmirror.models import ADDED_SOURCE
    from newsmirror.store import RunSummary, SourceStatus, UrlProblem

    s = Store(tmp_path / "s.db")
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
        s.save_article(art("a2", "https://x.example/a2.html", source=ADDED_SOURCE), "h2", pick=True)
        s.source_ran("s", "rss", "HTTP 503")
        s.mark_url("https://x.example/b.html", "s", "failed", reason="HTTP 500", failed=True)
        s.mark_url("https://x.example/c.html", "s", "gave_up", reason="HTTP 404", failed=True)
        s.mark_url("https://x.example/a1.html", "s", "ok", article_id="a1", reason="no body rule matched")
        s.image_failed("https://x.example/i.jpg", "HTTP 403")
    run = s.summary(["never-ran", "s"], failures=1)
    assert isinstance(run, RunSummary)
    assert run.sources == [SourceStatus("never-ran", None, 0, 0, 0, None, None),
                           SourceStatus("s", "rss", 1, 1, 1, run.sources[1].last_run, "HTTP 503"),
                           SourceStatus(ADDED_SOURCE, "add", 1, 0, 0, None, None)]
    assert run.sources[1].last_run
    assert len(run.failures) == 1 and run.failures_total == 2 and isinstance(run.failures[0], UrlProblem)
    assert run.image_failures == [UrlProblem("https://x.example/i.jpg", None, "failed", 1, "HTTP 403")]
    assert (run.images_ok, run.images_failed) == (0, 1)
    assert [(w.source, w.url, w.reason) for w in run.warnings] == [
        ("s", "https://x.example/a1.html", "no body rule matched")]
    assert run.warnings_total == 1 and run.revisits == {}
    assert [x.name for x in s.summary(["s"]).sources] == ["s", ADDED_SOURCE]


def test_near_twin_is_found_from_the_fingerprint_log_and_an_older_store_gets_the_log(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path)
    fp = 0x0123_4567_89AB_CDEF
    near = fp ^ 1 | 1 << 20 | 1 << 40  # 3 bits apart, in three of the four bands
    far = fp ^ 0b1111  # 4 bits apart
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html", title="城南老旧小区改造完成"), "h1", False, simhash=near)
        s.save_article(art("a2", "https://x.example/a2.html", title="城南老旧小区改造完成"), "h2", False, simhash=far)
        s.save_article(art("a3", "https://x.example/a3.html", title="另一篇文章的标题在此"), "h3", False, simhash=fp)
    # an older version's store: no log (nor its triggers), and the band indexes it looked up by
    s.db.execute("DROP TRIGGER articles_fingerprint_new")
    s.db.execute("DROP TRIGGER articles_fingerprint_changed")
    s.db.execute("DELETE FROM fingerprints")
    for k in range(4):
        s.db.execute(f"CREATE INDEX articles_band{k} ON articles(((simhash >> {16 * k}) & 65535), simhash) "
                     "WHERE simhash IS NOT NULL")
    s.db.execute("CREATE INDEX articles_simhash1 ON articles(((simhash >> 16) & 65535)) WHERE simhash IS NOT NULL")
    s.close()
    s = Store(path)
    names = {r[0] for r in s.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert not any(n.startswith(("articles_band", "articles_simhash")) for n in names)
    assert [tuple(r) for r in s.db.execute("SELECT article, simhash FROM fingerprints ORDER BY n")] == [
        (1, near), (2, far), (3, fp)]
    twin = s.near_twin(fp, 3, "城南老旧小区改造完成")
    assert twin is not None and twin.id == "a1"  # a2 is too far, a3 another title
    assert s.near_twin(fp ^ (1 << 63) ^ (1 << 47) ^ (1 << 31) ^ (1 << 15), 3, "城南老旧小区改造完成") is None
    assert s.near_twin(fp, 4, "城南老旧小区改造完成").id == "a1"  # past the bands' reach: every article read
    # what is saved from now on is logged by the triggers, whatever saves it
    s.save_article(art("a4", "https://x.example/a4.html", title="城南老旧小区改造完成"), "h4", False, simhash=fp ^ 1)
    assert s.near_twin(fp, 3, "城南老旧小区改造完成").id == "a4"  # 1 bit away: nearer than a1
    # an older version that opened it since made its band indexes again (its saves still logged by the triggers)
    s.db.execute("CREATE INDEX articles_band0 ON articles((simhash & 65535), simhash) WHERE simhash IS NOT NULL")
    s.close()
    s = Store(path)
    assert not s.db.execute("SELECT 1 FROM sqlite_master WHERE name='articles_band0'").fetchone()
    assert s.db.execute("SELECT COUNT(*) FROM fingerprints").fetchone()[0] == 4  # (not logged again)


def test_the_band_index_sees_other_processes_articles_edits_and_rollbacks(tmp_path):
    path = tmp_path / "s.db"
    title = "城南老旧小区改造完成"
    fp, other_fp = 0x0123_4567_89AB_CDEF, 0x7654_3210_FEDC_BA98
    s = Store(path)
    s.save_article(art("a1", "https://x.example/a1.html", title=title), "h1", False, simhash=fp)
    assert s.near_twin(fp ^ 0b11, 3, title).id == "a1"  # (the index is read now)
    elsewhere = Store(path)  # another process saves one
    elsewhere.save_article(art("a2", "https://x.example/a2.html", title=title), "h2", False, simhash=other_fp)
    elsewhere.close()
    assert s.near_twin(other_fp ^ 1, 3, title).id == "a2"
    # an edit: the article is found by its new fingerprint, no longer by its old one
    s.save_article(art("a1", "https://x.example/a1.html", title=title), "h1b", False, simhash=fp ^ 0xFFFF_0000)
    assert s.near_twin(fp, 3, title) is None
    assert s.near_twin(fp ^ 0xFFFF_0001, 3, title).id == "a1"
    # a rolled-back save leaves nothing behind, and the next one, logged under the same number, is found
    try:
        with s.tx():
            s.save_article(art("a3", "https://x.example/a3.html", title=title), "h3", False, simhash=0x1111)
            assert s.near_twin(0x1111, 3, title).id == "a3"  # (read into the index inside the transaction)
            raise RuntimeError("the batch fails")
    except RuntimeError:
        pass
    assert s.near_twin(0x1111, 3, title) is None
    s.save_article(art("a4", "https://x.example/a4.html", title=title), "h4", False, simhash=0x2222_0000)
    assert s.near_twin(0x2222_0001, 3, title).id == "a4"


def reopened_with_old_index(s: Store, path: Path, name: str, columns: str) -> tuple[Store, str]:
    """The store at `path` reopened after its index `name` was made as an older version made it (of `columns`):
    the store, and that index's SQL as opening it left it."""
    s.db.execute(f"DROP INDEX {name}")
    s.db.execute(f"CREATE INDEX {name} ON articles({columns})")
    s.close()
    s = Store(path)
    (sql,) = s.db.execute("SELECT sql FROM sqlite_master WHERE name=?", (name,)).fetchone()
    return s, sql


def query_plans(s: Store, queries: list[str]) -> list[tuple[str, str]]:
    """(query, how SQLite makes it) for each of `queries` (as the trace callback gave them)."""
    return [(q, " ".join(str(r[3]) for r in s.db.execute(f"EXPLAIN QUERY PLAN {q}"))) for q in queries]


def test_exact_copies_are_found_by_the_hash_key_index_and_hashes_that_share_a_key_are_told_apart(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path)
    first, second, third = "ab12cd34" + "0" * 56, "ab12cd34" + "f" * 56, "ab12cd34" + "e" * 56  # one key
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html"), first, False)
        s.save_article(art("a2", "https://x.example/a2.html"), second, False)
        s.save_article(art("a3", "https://x.example/a3.html"), second, False)  # (the same words as a2)
    s, sql = reopened_with_old_index(s, path, "articles_hash", "content_hash")  # an older version's: the whole hash
    assert "substr(content_hash, 1, 8)" in sql
    for query in ("SELECT * FROM articles WHERE substr(content_hash, 1, 8)=? ORDER BY rowid",
                  "SELECT * FROM articles WHERE substr(content_hash, 1, 8) IN (?, ?) ORDER BY rowid"):
        plan = " ".join(str(r[3]) for r in s.db.execute(f"EXPLAIN QUERY PLAN {query}", ("k",) * query.count("?")))
        assert "INDEX articles_hash" in plan and "SCAN" not in plan
    assert s.article_by_hash(first).id == "a1" and s.article_by_hash(second).id == "a2"  # (the first saved)
    assert s.article_by_hash(third) is None and s.article_by_hash("ab12") is None
    known = s.known([], [first, second, third, "h"], [], [])
    assert [(a and a.id) for a in map(known.article_by_hash, [first, second, third, "h"])] == ["a1", "a2", None, None]


def test_an_article_is_found_by_the_url_it_was_fetched_from_through_an_index_of_those_not_canonical(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path)
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html"), "h1", False)  # fetched from its canonical URL
        s.save_article(art("a2", "https://x.example/a2.html?p=1", canonical_url="https://x.example/a2.html"), "h2",
                       False)
    s, sql = reopened_with_old_index(s, path, "articles_url", "url")  # an older version's: every article's URL
    assert "WHERE url != canonical_url" in sql
    assert s.db.execute("SELECT count(*) FROM articles INDEXED BY articles_url WHERE url != canonical_url"
                        ).fetchone()[0] == 1  # a2's alone
    urls = ["https://x.example/a1.html", "https://x.example/a2.html?p=1", "https://x.example/a2.html",
            "https://x.example/a3.html"]
    asked: list[str] = []
    s.db.set_trace_callback(asked.append)
    assert [(a and a.id) for a in map(s.article_by_url, urls)] == ["a1", "a2", "a2", None]
    assert s.articles_at(urls) == {urls[0]: "a1", urls[1]: "a2", urls[2]: "a2"}
    known = s.known(urls, [], [], [])
    assert [(a and a.id) for a in map(known.article_by_url, urls)] == ["a1", "a2", "a2", None]
    with s.tx():
        s.set_links("a1", urls[1:3])
    assert {t: r.id for t, r in s.page_links(["a1"])["a1"].items()} == {urls[1]: "a2", urls[2]: "a2"}
    s.db.set_trace_callback(None)
    plans = query_plans(s, [q for q in asked if q.startswith("SELECT") and "url" in q])
    assert len(plans) >= 4
    for query, plan in plans:  # each by an index, not a reading of every article
        assert "SCAN articles" not in plan and "SCAN a " not in plan, (query, plan)


def test_a_category_is_read_by_an_index_of_categories_and_listed_newest_first(tmp_path):
    path = tmp_path / "s.db"
    s = Store(path)
    days = [datetime(2024, 6, d, tzinfo=UTC) for d in (3, 1, 2)]  # published in no order
    with s.tx():
        for i, day in enumerate(days):
            s.save_article(art(f"a{i}", f"https://x.example/a{i}.html", published=day), f"h{i}", False)
        s.save_article(art("b", "https://x.example/b.html", category="china"), "hb", False)
    s, sql = reopened_with_old_index(s, path, "articles_cat", "category, published")  # an older version's
    assert sql == "CREATE INDEX articles_cat ON articles(category)"
    asked: list[str] = []
    s.db.set_trace_callback(asked.append)
    assert [a.id for a in s.listing("intl")] == ["a0", "a2", "a1"] and [a.id for a in s.listing("china")] == ["b"]
    assert [a.id for a in s.articles("intl", with_body=False)] == ["a0", "a2", "a1"]
    s.db.set_trace_callback(None)
    assert len(asked) == 3
    for query, plan in query_plans(s, asked):
        assert "INDEX articles_cat (category=?)" in plan, (query, plan)


def test_a_batch_finds_the_near_twin_the_store_finds_from_the_band_indexes_alone(tmp_path):
    s = Store(tmp_path / "s.db")
    fp = 0x0123_4567_89AB_CDEF
    title, other_title = "城南老旧小区改造完成", "另一篇文章的标题在此"
    saved = {"a1": fp ^ 0b111 << 20, "a2": fp ^ 0b1111, "a3": fp ^ 1 << 40, "a4": fp ^ 0b11 << 50}
    with s.tx():  # a2 shares three bands and is 4 bits away; a3 is nearest but of another title
        for aid, other in saved.items():
            s.save_article(art(aid, f"https://x.example/{aid}.html", title=other_title if aid == "a3" else title),
                           f"h{aid}", False, simhash=other)
    asked = [fp, fp ^ 0xFFFF, fp ^ 0xFFFF_FFFF_FFFF_FFFF]  # the last shares no band with any
    known = s.known([], [], asked, [])
    for each in asked:
        for reach in (0, 1, 3):
            twin, batch_twin = s.near_twin(each, reach, title), known.near_twin(each, reach, title)
            assert (twin and twin.id) == (batch_twin and batch_twin.id)
    assert known.near_twin(fp, 3, title).id == "a4" and s.near_twin(fp, 3, title).id == "a4"  # a1 is 3 bits, a4 2
    assert known.near_twin(fp ^ 0xFFFF, 3, title) is None


def test_articles_version_changes_once_a_transaction_and_with_every_commit(tmp_path):
    s = Store(tmp_path / "s.db")
    v0 = s.articles_version()
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
        s.save_article(art("a2", "https://x.example/a2.html"), "h2", pick=False)
    v1 = s.articles_version()
    assert v1 > v0
    s.save_article(art("a3", "https://x.example/a3.html"), "h3", pick=False)  # outside a transaction
    v2 = s.articles_version()
    assert v2 > v1
    with s.grouped(every=1):
        with s.tx():
            s.save_article(art("a4", "https://x.example/a4.html"), "h4", pick=False)
        v3 = s.articles_version()
        assert v3 > v2
        try:
            with s.tx():
                s.save_article(art("a5", "https://x.example/a5.html"), "h5", pick=False)
                raise RuntimeError
        except RuntimeError:
            pass
        with s.tx():  # the rolled back block took its bump with it: this one bumps again
            s.save_article(art("a6", "https://x.example/a6.html"), "h6", pick=False)
    assert s.articles_version() > v3


def test_pages_linking_to_a_saved_article_are_marked_in_its_transaction(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.tx():
        s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
        s.set_links("a1", {"https://x.example/a2.html"}, new=True)
    s.mark_clean()
    with s.grouped(every=10):
        with s.tx():
            s.save_article(art("a2", "https://x.example/a2.html"), "h2", pick=False)
            s.mark_linking_dirty({"https://x.example/a2.html"})
        assert "a1" not in s.dirty_ids()  # looked up with the group's others, before it commits
    assert s.dirty_ids() == {"a1", "a2"}
    s.mark_clean()
    s.mark_linking_dirty({"https://x.example/a2.html"})  # outside a transaction: at once
    assert s.dirty_ids() == {"a1"}


def test_deferred_writes_are_made_in_order_per_table_when_the_block_ends_or_a_written_key_is_asked(tmp_path):
    s = Store(tmp_path / "s.db")
    with s.tx(), s.deferred():
        known = s.known(["https://x.example/a1.html"], ["h1"], [], ["a1"])
        s.save_article(art("a1", "https://x.example/a1.html"), "h1", pick=False)
        s.set_links("a1", ["https://x.example/b.html"], new=True)
        s.set_links("a1", ["https://x.example/c.html"])  # replaces the first: a delete between two inserts
        assert s.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 0  # not made yet
        assert known.article_by_url("https://x.example/a1.html") is None  # as the store was before the block
        known.wrote("a1", ["https://x.example/a1.html"], "h1")
        assert known.article_by_url("https://x.example/a1.html").id == "a1"  # asked of the store: made first
        assert known.article_by_hash("h1").id == "a1" and not known.id_taken("a1", "https://x.example/a1.html")
        s.mark_url("https://x.example/a1.html", "s", "ok", article_id="a1")
    assert [r[0] for r in s.db.execute("SELECT target FROM links")] == ["https://x.example/c.html"]
    assert s.url_states(["https://x.example/a1.html"])["https://x.example/a1.html"].status == "ok"
    try:
        with s.tx(), s.deferred():
            s.mark_url("https://x.example/a2.html", "s", "ok")
            raise RuntimeError("the batch fails")
    except RuntimeError:
        pass
    assert s.url_states(["https://x.example/a2.html"]) == {}


def test_mark_dirty_leaves_an_article_already_due_unwritten(tmp_path):
    # SQLite writes an updated row again whole (body and all) even when nothing in it changes: an article due
    # already, as every one a fetch has just stored is, must not cost that
    s = Store(tmp_path / "s.db")
    s.save_article(art("a1", "https://x.example/a1.html", body_html="<p>" + "長" * 5000 + "</p>"), "h1", pick=False)
    s.save_article(art("a2", "https://x.example/a2.html"), "h2", pick=False)
    s.mark_clean({"a2"})
    before = s.db.total_changes
    s.mark_dirty({"a1", "a2"})
    assert s.db.total_changes - before == 1  # a2's row alone
    assert s.dirty_ids() == {"a1", "a2"}


def test_none_and_bytes_are_bound_as_null_and_blob(tmp_path):
    """The store registers None and bytes as adapting to themselves (skipping sqlite3's search for an adapter):
    binding them is unchanged."""
    store = Store(tmp_path / "s.db")
    row = store.db.execute("SELECT typeof(?), typeof(?), ?, typeof(CAST(? AS TEXT))", (None, b"\x00\xff", b"ab",
                                                                                      "é".encode())).fetchone()
    assert tuple(row) == ("null", "blob", b"ab", "text")
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)](None) is None


def test_a_batch_in_a_group_journals_the_pages_it_changes_in_memory_not_in_a_temporary_file(tmp_path):
    # tx() inside grouped() is a savepoint: each page it changes first is journaled, so that the batch alone can be
    # rolled back. SQLite keeps that journal in a temporary file (unlinked at once) past its first 64 KB, unless
    # temp_store is MEMORY: then two writes a page, a third of the system calls of storing a page, are not made.
    def temporary_files() -> list[str]:  # (SQLite's are named etilqs_…, and unlinked as soon as opened)
        fds = Path("/proc/self/fd")
        return [t for t in (os.readlink(f) for f in fds.iterdir() if f.is_symlink()) if "etilqs_" in t]

    s = Store(tmp_path / "s.db")
    body = "<p>" + "長" * 3000 + "</p>"
    with s.grouped(every=10_000):
        with s.tx():
            for i in range(100):
                s.save_article(art(f"a{i}", f"https://x.example/a{i}.html", body_html=body), f"h{i}", pick=False)
        s.mark_clean()
        before = temporary_files()
        with s.tx():  # every one of those pages changed again: 400 KB of journal
            s.mark_dirty({f"a{i}" for i in range(100)})
            during = temporary_files()
    assert s.dirty_ids() == {f"a{i}" for i in range(100)}
    assert during == before == []
