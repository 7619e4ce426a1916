"""Revisits end to end: a local site whose pages change over simulated time (SOURCE_DATE_EPOCH), run after run
through the CLI; versions in the store, banners and change pages in Markdown and HTML, the indexes and feeds of
edited and deleted articles, `status`, and every outage that must mark nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from newsmirror.cli import cli
from newsmirror.store import Store

from ..conftest import ServeApp, write_config
from .site import EN, T0, ZH, ChangingSite, Page, article_html

HOUR = 3600


@pytest.fixture
def site() -> Iterator[ChangingSite]:
    s = ChangingSite()
    with ServeApp(s.app()) as base:
        s.base = base
        yield s
        s.release()


def config(tmp_path: Path, site: ChangingSite, revisit: str = "", site_extra: str = "") -> Path:
    return write_config(tmp_path, f"""
        [site]
        title = "镜像"
        output = "mirror"
        formats = ["markdown", "html"]
        html_url = "https://mirror.example"
        {site_extra}

        [fetch]
        retries = 0
        backoff = 0
        connect_timeout = 2
        read_timeout = 1
        total_timeout = 5
        {site_extra and ""}

        [revisit]
        {revisit}

        [categories.intl]
        title = "国际"

        [[sources]]
        name = "news"
        kind = "rss"
        url = "{site.base}/feed"
        category = "intl"
        """)


def run_at(cfg: Path, monkeypatch: pytest.MonkeyPatch, hours: float, *args: str) -> Result:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(T0 + hours * HOUR)))
    return CliRunner().invoke(cli, ["--config", str(cfg), *(args or ("run",))], catch_exceptions=False)


def read(tmp_path: Path, rel: str) -> str:
    return (tmp_path / "mirror" / rel).read_text(encoding="utf-8")


def article_id(tmp_path: Path, url_path: str) -> str:
    store = Store(tmp_path / "newsmirror.db")
    try:
        aid = store.db.execute("SELECT id FROM articles WHERE url LIKE ?", (f"%{url_path}",)).fetchone()[0]
    finally:
        store.close()
    return aid


def query(tmp_path: Path, sql: str, *args: object) -> list[tuple]:
    store = Store(tmp_path / "newsmirror.db")
    try:
        return [tuple(r) for r in store.db.execute(sql, args)]
    finally:
        store.close()


def test_body_and_title_edits_are_kept_as_versions_and_shown_with_their_changes(site, tmp_path, monkeypatch):
    site.pages["/a/zh.html"] = Page(html=article_html("警方逮捕三名大学生", ZH))
    site.pages["/a/en.html"] = Page(html=article_html("Minister announces new rules", EN))
    cfg = config(tmp_path, site)
    assert run_at(cfg, monkeypatch, 0).exit_code == 0
    zh, en = article_id(tmp_path, "/a/zh.html"), article_id(tmp_path, "/a/en.html")
    assert "已修改" not in read(tmp_path, "README.md")

    # 30 minutes later nothing is due: no article is fetched again
    site.requests.clear()
    assert run_at(cfg, monkeypatch, 0.5).exit_code == 0
    assert not [p for p in site.requests if p.startswith("/a/")]

    # a body edit (three → five; a paragraph gone) and a title-only edit; a view counter alone is no edit
    site.pages["/a/zh.html"] = Page(html=article_html("警方逮捕三名大学生", [ZH[0].replace("三名", "五名"), ZH[2]]))
    site.pages["/a/en.html"] = Page(html=article_html("Official announces new rules", EN))
    result = run_at(cfg, monkeypatch, 2)
    assert result.exit_code == 0, result.output
    assert "2 revisited, 2 edited" in result.output

    assert [r[0] for r in query(tmp_path, "SELECT n FROM versions WHERE article_id=? ORDER BY n", zh)] == [1, 2]
    v2 = query(tmp_path, "SELECT title, body_html, warc_record_id FROM versions WHERE article_id=? AND n=2", en)[0]
    assert v2[0] == "Official announces new rules" and v2[2]  # with its WARC record as evidence
    assert query(tmp_path, "SELECT warc_record_id FROM articles WHERE id=?", en) == [(v2[2],)]  # the page's

    md = read(tmp_path, f"pages/intl/{zh}.md")
    assert "本文于 2026-12-01 被原网站修改 (2 个版本)" in md and "五名" in md  # the latest version is shown
    changes_md = read(tmp_path, f"indexes/revisits/changes/{zh}.md")
    assert "<del>三</del><ins>五</ins>" in changes_md  # character by character in Chinese
    assert "删除 · removed: <del>目击者说" in changes_md
    en_changes = read(tmp_path, f"indexes/revisits/changes/{en}.md")
    assert "**标题 · title:** <del>Minister</del><ins>Official</ins> announces new rules" in en_changes  # by word
    assert "removed:" not in en_changes  # the body did not change
    html = read(tmp_path, f"site/pages/intl/{zh}.html")
    assert "本文于 2026-12-01 被原网站修改 (2 个版本)" in html
    assert f'href="../../indexes/revisits/changes/{zh}.html"' in html
    assert "<del>三</del><ins>五</ins>" in read(tmp_path, f"site/indexes/revisits/changes/{zh}.html")
    assert "<del>Minister</del><ins>Official</ins>" in read(tmp_path, f"site/indexes/revisits/changes/{en}.html")

    edited = read(tmp_path, "indexes/revisits/edited.md")
    assert "Official announces new rules" in edited and "警方逮捕三名大学生" in edited
    assert "indexes/revisits/edited.md" in read(tmp_path, "README.md")
    feed = read(tmp_path, "site/edited.xml")
    assert feed.count("<entry>") == 2 and f"https://mirror.example/indexes/revisits/changes/{zh}.html" in feed

    status = run_at(cfg, monkeypatch, 2, "status").output
    assert "revisits" in status and "news" in status
    assert query(tmp_path, "SELECT SUM(checks) FROM revisits") == [(2,)]

    # the next revisit finds the page unchanged: a 304, no new version
    result = run_at(cfg, monkeypatch, 7)
    assert "2 revisited, 0 edited" in result.output
    assert len(query(tmp_path, "SELECT * FROM versions WHERE article_id=?", zh)) == 2


def test_show_first_keeps_the_original_on_the_page(site, tmp_path, monkeypatch):
    site.pages["/a/en.html"] = Page(html=article_html("Minister announces new rules", EN))
    cfg = config(tmp_path, site, revisit='show = "first"')
    run_at(cfg, monkeypatch, 0)
    en = article_id(tmp_path, "/a/en.html")
    site.pages["/a/en.html"] = Page(html=article_html("Official announces new rules", EN))
    assert run_at(cfg, monkeypatch, 2).exit_code == 0
    md = read(tmp_path, f"pages/intl/{en}.md")
    assert "### Minister announces new rules" in md and "本页显示最初版本" in md
    assert "Official" in read(tmp_path, f"indexes/revisits/changes/{en}.md")


DELETIONS = {
    "/a/404.html": Page(status=404, html="<h1>Not Found</h1>"),
    "/a/410.html": Page(status=410, html="<h1>Gone</h1>"),
    "/a/home.html": Page(location="/"),
    "/a/notice.html": Page(html=article_html("提示", ["该内容已被删除"])),
    "/a/empty.html": Page(html="<html><body><p>.</p></body></html>"),
}


def test_deletions_are_marked_only_when_a_check_an_hour_later_agrees(site, tmp_path, monkeypatch):
    for i, p in enumerate([*DELETIONS, "/a/back.html"]):
        site.pages[p] = Page(html=article_html(f"文章 {i} 标题", ZH))
    site.pages["/a/back.html"].published = "Mon, 30 Nov 2026 08:00:00 GMT"  # the newest: what retention keeps
    cfg = config(tmp_path, site, site_extra="retention = 1")
    run_at(cfg, monkeypatch, 0)
    ids = {p: article_id(tmp_path, p) for p in [*DELETIONS, "/a/back.html"]}
    site.pages.update(DELETIONS)
    site.pages["/a/back.html"] = Page(status=404, html="gone")

    result = run_at(cfg, monkeypatch, 2)  # evidence, once: nothing marked yet
    assert "6 revisited" in result.output and "6 deletions to confirm" in result.output
    assert not query(tmp_path, "SELECT * FROM revisits WHERE deleted_at IS NOT NULL")
    pages = list((tmp_path / "mirror" / "pages" / "intl").glob("*.md"))
    assert len(pages) == 1 and "原文已于" not in pages[0].read_text(encoding="utf-8")  # retention = 1

    site.requests.clear()  # half an hour on, the confirming check is not due yet
    run_at(cfg, monkeypatch, 2.5)
    assert not [p for p in site.requests if p.startswith("/a/")]

    result = run_at(cfg, monkeypatch, 3.1)  # an hour after the evidence: confirmed
    assert "6 deletions confirmed" in result.output
    reasons = dict(query(tmp_path, "SELECT article_id, deleted_reason FROM revisits WHERE deleted_at IS NOT NULL"))
    assert reasons[ids["/a/404.html"]] == "HTTP 404" and reasons[ids["/a/410.html"]] == "HTTP 410"
    assert reasons[ids["/a/home.html"]].startswith("redirected to the site's front page")
    assert reasons[ids["/a/notice.html"]] == "removal notice ('该内容已被删除')"
    assert reasons[ids["/a/empty.html"]].startswith("no article on the page any more")
    for p, aid in ids.items():  # every one stays in the tree (retention = 1 would keep one), with its banner
        md = read(tmp_path, f"pages/intl/{aid}.md")
        assert "原文已于 2026-12-01 被删除" in md and f"{site.base}{p}" in md
        assert "原文已于 2026-12-01 被删除" in read(tmp_path, f"site/pages/intl/{aid}.html")
    deleted = read(tmp_path, "indexes/revisits/deleted.md")
    assert deleted.count("删除于 2026-12-01") == 6
    assert read(tmp_path, "site/deleted.xml").count("<entry>") == 6
    assert "原文已删除" in read(tmp_path, "site/index.html")
    status = run_at(cfg, monkeypatch, 3.1, "status").output
    assert "deleted at source" in status

    # the article comes back: the mark is lifted, and its history says so
    site.pages["/a/back.html"] = Page(html=article_html("文章 5 标题", ZH))
    result = run_at(cfg, monkeypatch, 7)
    assert "1 back" in result.output
    back = ids["/a/back.html"]
    assert query(tmp_path, "SELECT deleted_at FROM revisits WHERE article_id=?", back) == [(None,)]
    md = read(tmp_path, f"pages/intl/{back}.md")
    assert "原文已于" not in md and "原文曾被删除" in md
    assert "原文恢复" in read(tmp_path, f"indexes/revisits/changes/{back}.md")
    assert read(tmp_path, "indexes/revisits/deleted.md").count("删除于") == 5


def test_outages_and_robots_never_mark_a_deletion(site, tmp_path, monkeypatch):
    paths = ["/a/500.html", "/a/429.html", "/a/slow.html", "/a/robots.html", "/a/once.html"]
    for i, p in enumerate(paths):
        site.pages[p] = Page(html=article_html(f"文章 {i} 标题", ZH))
    cfg = config(tmp_path, site)
    # the hanging page is cut by the read timeout twice: half a second, not the module's one
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("read_timeout = 1\n", "read_timeout = 0.5\n"),
                   encoding="utf-8")
    run_at(cfg, monkeypatch, 0)
    site.pages["/a/500.html"] = Page(status=500, html="Internal Server Error")
    site.pages["/a/429.html"] = Page(status=429, html="Too Many Requests")
    site.pages["/a/slow.html"] = Page(hang=True)
    site.robots = "User-agent: *\nDisallow: /a/robots.html\n"
    site.pages["/a/once.html"] = Page(status=404, html="gone")  # a single failed check, then back

    for hours in (2, 3.1):
        result = run_at(cfg, monkeypatch, hours)
        assert "0 deletions confirmed" in result.output
        site.pages["/a/once.html"] = Page(html=article_html("文章 4 标题", ZH))
    assert not query(tmp_path, "SELECT * FROM revisits WHERE deleted_at IS NOT NULL OR suspect_since IS NOT NULL")
    assert site.requests.count("/a/slow.html") == 3  # mirrored, then asked twice and cut by the read timeout
    slow = article_id(tmp_path, "/a/slow.html")
    checked, due = query(tmp_path, "SELECT last_checked, next_due FROM revisits WHERE article_id=?", slow)[0]
    assert checked.startswith("2026-12-01T03:06") and due.startswith("2026-12-01T04:06")  # asked again in an hour
    assert site.requests.count("/a/robots.html") == 1  # mirrored, then never fetched against robots.txt
    assert not (tmp_path / "mirror" / "indexes" / "revisits").exists()


def test_demo_day_2_shows_one_edited_and_one_deleted_article(tmp_path):
    import socket

    with socket.socket() as s:  # one port for both days: the mirror knows the articles by their addresses
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    folder = str(tmp_path / "d")
    assert CliRunner().invoke(cli, ["demo", "--dir", folder, "--port", port]).exit_code == 0
    assert not (tmp_path / "d/mirror/indexes/revisits").exists()
    res = CliRunner().invoke(cli, ["demo", "--dir", folder, "--port", port, "--day", "2"])
    assert res.exit_code == 0, res.output
    assert "1 edited" in res.output and "1 deletions confirmed" in res.output
    mirror = tmp_path / "d/mirror"
    assert "被原网站修改 (2 个版本)" in (mirror / "pages/intl/n2002.md").read_text(encoding="utf-8")
    assert "被删除" in (mirror / "pages/culture/n3003.md").read_text(encoding="utf-8")
    assert "n3003" in (mirror / "indexes/revisits/deleted.md").read_text(encoding="utf-8")
    assert "<del> 预计今秋肉眼可见</del>" in (mirror / "indexes/revisits/changes/n2002.md").read_text(encoding="utf-8")
