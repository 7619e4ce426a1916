"""End to end: newsmirror.toml → run → pages, indexes, git — against real local servers."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner, Result

from newsmirror.cli import cli
from newsmirror.demo.server import DEMO_SITE, SiteServer
from newsmirror.pipeline import Mirror
from newsmirror.pipeline.seams import SEAMS
from newsmirror.render import HOT
from newsmirror.store import Store

from .conftest import FAST_FETCH, FIXTURES, NTD, SEED_MD, SEED_PATH, minimal_config, write_config

SEED_PAGE = "pages/intl/a103612902.md"


def cli_run(cfg_path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(cfg_path), *args], catch_exceptions=False)


def git_count(repo: Path) -> int:
    out = subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def seed_paragraphs() -> list[str]:
    md = SEED_MD.read_text(encoding="utf-8")
    m = re.search(r'<div class="post_content".*?</div>\s*</div>', md, re.S)
    assert m, "seed page has no post_content"
    doc = lxml.html.fragment_fromstring(m.group(0))
    return [squash(p.text_content()) for p in doc.iter("p")]


def body_paragraphs(page: str, share_text: str = "手机上长按") -> list[str]:
    """The body of one of our pages: the block between the last <hr/> before the share line and the share line."""
    before_share = page.split(share_text)[0]
    blocks = before_share.split("<hr/>")
    body = blocks[-2]
    paras = [b for b in re.split(r"\n\s*\n", body) if b.strip()]
    plain = [re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", p) for p in paras]
    return [squash(p) for p in plain]


def relative_links(page: str) -> list[str]:
    return [u for u in re.findall(r"\]\(([^)\s]+)\)", page) if "://" not in u]


# -- the seed golden test -------------------------------------------------------------------------


def test_seed_golden_page_has_every_part_of_the_seed(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 0, res.output
    out = cfg.output_dir
    page = (out / SEED_PAGE).read_text(encoding="utf-8")

    assert page.startswith("### 普京邀习近平访俄 中国官媒只字未提\n")
    # navigation: home, the article's category (never an empty link), the hot list; twice (top and bottom)
    assert page.count("[首页](../../README.md)") == 2
    assert page.count("[国际](../../indexes/intl.md)") == 2
    assert page.count("[热点推荐](../../indexes/hot.md)") == 2
    assert "[](" not in page
    # the same ten body paragraphs as the seed, in order
    ours = body_paragraphs(page)
    seed = seed_paragraphs()
    assert len(seed) == 10
    assert ours == seed
    # lead image (mirrored into the tree, not hotlinked as the seed does) and caption
    lead = re.search(r"!\[普京邀习近平访俄 中国官媒只字未提\]\((\.\./\.\./assets/[^)]+\.jpg)\)", page)
    assert lead and ((out / SEED_PAGE).parent / lead.group(1)).is_file()
    assert "2022年12月30日，俄罗斯总统普京在莫斯科克里姆林宫通过视频连线与中国国家主席习近平举行会议。" in page
    # share link + QR code at a relative path beside the page, original URL with the note
    share = "https://github.com/example/news/blob/main/" + SEED_PAGE
    assert share in page
    qr = re.search(r"\[!\[[^\]]*\]\(([^)]+)\)\]\(" + re.escape(share) + r"\)", page)
    assert qr, "no QR image linked to the share URL"
    qr_file = (out / SEED_PAGE).parent / qr.group(1)
    assert "://" not in qr.group(1) and qr_file.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"原文地址（需翻墙访问）：{ntd_server.base}{SEED_PATH}" in page
    # provenance the seed lacks
    assert "sha256:" in page and "发布 2023-01-01 02:18" in page
    # every relative link leads to a file of the tree
    for link in relative_links(page):
        target = ((out / SEED_PAGE).parent / link.split("?")[0]).resolve()
        assert target.exists(), f"dead relative link {link}"
    # no active content, no counter pixel unless configured
    assert "<script" not in page and "<img src=" not in page
    # indexes
    home = (out / "README.md").read_text(encoding="utf-8")
    assert "# 新闻镜像" in home and "(pages/intl/a103612902.md)" in home
    assert "2023-01-01 [普京邀习近平访俄" in (out / "indexes/intl.md").read_text(encoding="utf-8")
    hot = (out / "indexes/hot.md").read_text(encoding="utf-8")
    assert "ranked by recency" in hot and "a103612902.md" in hot
    assert (out / "indexes/archive/2023-01.md").exists()
    assert git_count(out) == 1


def test_neutralize_leaves_no_live_link_to_tag_pages(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra_site='link_policy = "neutralize"', extra=FAST_FETCH)
    assert cli_run(cfg.path, "run").exit_code == 0
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    assert ".htm)" not in page and "/gb/%E4%BF%84" not in page
    assert "【新唐人北京时间2023年01月01日讯】俄罗斯总统普京30日与中国国家主席习近平视讯会晤时表示" in page


def test_keep_policy_keeps_the_tag_links(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra_site='link_policy = "keep"', extra=FAST_FETCH)
    assert cli_run(cfg.path, "run").exit_code == 0
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    assert f"[俄罗斯]({ntd_server.base}/gb/%E4%BF%84%E7%BD%97%E6%96%AF.htm)" in page


def test_tag_links_and_counter_pixel(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH, extra_site="""
        tag_links = true
        counter_url = "https://counter.example/{path}"
        """)
    assert cli_run(cfg.path, "run").exit_code == 0
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    assert "[首页](../../README.md?a103612902)" in page
    assert '<img src="https://counter.example/pages/intl/a103612902.md" width="0" height="0"' in page


# -- the demo site: listing source, mirror link policy, incremental runs ----------------------------

DEMO = """\
[site]
title = "演示"
output = "out"
{site_extra}

[categories.intl]
title = "国际"

[categories.culture]
title = "文化"

[[sources]]
name = "intl"
kind = "rss"
url = "{base}/gb/prog204/feed.xml"
category = "intl"

[[sources]]
name = "culture"
kind = "listing"
url = "{base}/news/culture/index.html"
link_selector = "ul.article-list a"
max_pages = 3
category = "culture"
""" + FAST_FETCH


def demo_config(tmp_path: Path, base: str, site_extra: str = "") -> Path:
    return write_config(tmp_path, DEMO, base=base, site_extra=site_extra)


def article_requests(server: SiteServer) -> list[str]:
    return [p for p in server.requests if re.search(r"/(n\d+|a\d+)\.html$", p)]


def test_listing_source_and_mirror_links_across_categories(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    culture = sorted(p.name for p in (out / "pages/culture").glob("*.md"))
    assert culture == ["n3001.md", "n3002.md", "n3003.md"]
    assert sorted(p.name for p in (out / "pages/intl").glob("*.md")) == ["a103612902.md", "n2001.md", "n2002.md"]
    # in-body links to articles we have point at our copies, relative
    assert "](n2001.md)" in (out / "pages/intl/n2002.md").read_text(encoding="utf-8")
    assert "](../intl/a103612902.md)" in (out / "pages/culture/n3001.md").read_text(encoding="utf-8")
    # active content gone, text kept
    n3002 = (out / "pages/culture/n3002.md").read_text(encoding="utf-8")
    n3003 = (out / "pages/culture/n3003.md").read_text(encoding="utf-8")
    for page in (n3002, n3003):
        assert "javascript:" not in page and "onclick" not in page and "<script" not in page
        assert "<iframe" not in page


def test_a_late_article_turns_old_links_into_mirror_links(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    page = tmp_path / "out/pages/culture/n3001.md"
    assert f"]({demo_server.base}{SEED_PATH})" in page.read_text(encoding="utf-8")
    assert cli_run(cfg, "run", "--source", "intl").exit_code == 0
    assert "](../intl/a103612902.md)" in page.read_text(encoding="utf-8")


def test_second_run_fetches_no_article_and_makes_no_commit(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run").exit_code == 0
    first = article_requests(demo_server)
    assert len(first) == 6
    commits = git_count(tmp_path / "out")
    demo_server.requests.clear()
    res = cli_run(cfg, "run")
    assert res.exit_code == 0
    assert article_requests(demo_server) == []
    assert any(p.endswith("feed.xml") for p in demo_server.requests)  # it did look for new ones
    assert git_count(tmp_path / "out") == commits
    assert "nothing to commit" in res.output


def test_a_run_with_nothing_new_does_not_read_the_articles_but_new_view_counts_do(demo_server, tmp_path,
                                                                                   monkeypatch):
    cfg = demo_config(tmp_path, demo_server.base)
    text = cfg.read_text(encoding="utf-8").replace('output = "out"', 'output = "out"\ncounts = "views.json"')
    cfg.write_text(text, encoding="utf-8")
    assert cli_run(cfg, "run").exit_code == 0
    hot = tmp_path / "out" / HOT
    before = hot.read_text(encoding="utf-8")
    read: list[int] = []
    monkeypatch.setattr(SEAMS, "on_listing", lambda: read.append(1))
    assert cli_run(cfg, "run").exit_code == 0
    assert read == []  # the cron run that finds nothing new stops before listing the articles
    # new view counts change the hot list: that run does list them, and re-ranks
    page = sorted((tmp_path / "out/pages").rglob("*.md"))[-1].relative_to(tmp_path / "out").as_posix()
    (tmp_path / "views.json").write_text(json.dumps({page: 99}), encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0 and read == [1]
    after = hot.read_text(encoding="utf-8")
    assert after != before and "99" in after


def test_build_after_a_nav_change_rewrites_every_page(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run").exit_code == 0
    text = cfg.read_text(encoding="utf-8").replace(
        "{site_extra}", "").replace('output = "out"', 'output = "out"\n\n[[site.nav]]\ntitle = "使用指南"\n'
                                                      'url = "https://guide.example/readme.md"')
    cfg.write_text(text, encoding="utf-8")
    demo_server.requests.clear()
    res = cli_run(cfg, "build")
    assert res.exit_code == 0, res.output
    assert demo_server.requests == []  # no network
    pages = list((tmp_path / "out/pages").rglob("*.md"))
    assert len(pages) == 6
    for p in pages:
        assert p.read_text(encoding="utf-8").count("[使用指南](https://guide.example/readme.md)") == 2
    assert "[使用指南]" in (tmp_path / "out/README.md").read_text(encoding="utf-8")
    assert git_count(tmp_path / "out") == 2


def test_retention_keeps_the_newest_pages_per_category(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run").exit_code == 0
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('output = "out"', 'output = "out"\nretention = 1'),
                   encoding="utf-8")
    res = cli_run(cfg, "build")
    assert res.exit_code == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "pages").rglob("*.md")) == ["n2002.md", "n3003.md"]
    home = (out / "README.md").read_text(encoding="utf-8")
    assert "n3001.md" not in home and "n3003.md" in home
    for link in relative_links((out / "pages/intl/n2002.md").read_text(encoding="utf-8")):
        assert ((out / "pages/intl") / link.split("?")[0]).exists(), link


def test_a_page_pushed_out_by_retention_is_no_longer_linked_to(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(DEMO_SITE, site)
    feed = site / "gb/prog204/feed.xml"
    full_feed = feed.read_text(encoding="utf-8")
    n2002 = site / "news/intl/2024/05/04/n2002.html"
    # a newer article that also links to n2001, announced only from the second run on
    n2003 = (n2002.read_text(encoding="utf-8").replace("n2002", "n2003").replace("2024-05-04", "2024-05-09")
             .replace("卡伦山", "卡伦岭"))
    (site / "news/intl/2024/05/09").mkdir(parents=True)
    (site / "news/intl/2024/05/09/n2003.html").write_text(n2003, encoding="utf-8")
    with SiteServer(site) as s:
        cfg = demo_config(tmp_path, s.base, site_extra="retention = 2")
        assert cli_run(cfg, "run", "--source", "intl").exit_code == 0
        linker = tmp_path / "out/pages/intl/n2002.md"
        assert "](n2001.md)" in linker.read_text(encoding="utf-8")
        feed.write_text(full_feed.replace("<item>", "<item><title>n</title><link>https://demo-news.example/news/"
                                          "intl/2024/05/09/n2003.html</link></item>\n <item>", 1), encoding="utf-8")
        assert cli_run(cfg, "run", "--source", "intl").exit_code == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "pages/intl").glob("*.md")) == ["n2002.md", "n2003.md"]
    for page in ("n2002.md", "n2003.md"):
        text = (out / "pages/intl" / page).read_text(encoding="utf-8")
        assert "n2001.md" not in text, page
        assert f"]({s.base}/news/intl/2024/05/02/n2001.html)" in text, page
        for link in relative_links(text):
            assert ((out / "pages/intl") / link.split("?")[0]).exists(), link


def test_turning_image_downloads_off_rewrites_every_page_before_the_pictures_go(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    out = tmp_path / "out"
    assert list((out / "assets").rglob("*.jpg"))
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[images]\ndownload = false\n", encoding="utf-8")
    assert cli_run(cfg, "run", "--source", "intl").exit_code == 0  # saves new articles: a build that prunes
    assert not [p for p in (out / "assets").rglob("*") if p.is_file()]
    pages = list((out / "pages").rglob("*.md"))
    assert len(pages) == 6
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not [link for link in relative_links(text) if "assets/" in link], page.name
        for link in relative_links(text):
            assert (page.parent / link.split("?")[0]).exists(), (page.name, link)
    assert f"({demo_server.base}/images/n3001-lead.jpg)" in (out / "pages/culture/n3001.md").read_text(encoding="utf-8")
    # on again: the pictures the tree lost are fetched again, and every page shows them from the tree
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("download = false", "download = true"), encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    for page in pages:
        links = relative_links(page.read_text(encoding="utf-8"))
        assert all((page.parent / link.split("?")[0]).exists() for link in links), page.name
    assert [link for link in relative_links((out / "pages/culture/n3001.md").read_text(encoding="utf-8"))
            if "assets/" in link]


@pytest.fixture
def other_fs_dir(tmp_path):
    """A folder on another file system than tmp_path (/dev/shm is a tmpfs on Linux)."""
    import tempfile

    d = Path(tempfile.mkdtemp(dir="/dev/shm"))
    assert os.stat(d).st_dev != os.stat(tmp_path).st_dev, "needs /dev/shm on a file system of its own"
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_store_on_another_file_system_than_the_output(demo_server, tmp_path, other_fs_dir):
    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["markdown", "html"]')
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        'output = "out"', f'output = "out"\nstore = "{other_fs_dir}/newsmirror.db"'), encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    assert len(list((out / "pages").rglob("*.md"))) == 6
    assert (out / "site/pagefind/pagefind.js").is_file()  # the search index was swapped in
    assert (other_fs_dir / "newsmirror.db").is_file()
    assert not [p for p in out.rglob("*.tmp")]  # no temp file left beside a page (the cross-device fallback)
    status = subprocess.run(["git", "-C", str(out), "status", "--porcelain"], capture_output=True, text=True)
    assert status.stdout == ""


def test_an_output_that_is_a_git_worktree_with_the_store_elsewhere(demo_server, tmp_path, other_fs_dir):
    main = tmp_path / "main"
    subprocess.run(["git", "init", "-q", "-b", "main", str(main)], check=True)
    subprocess.run(["git", "-C", str(main), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q",
                    "--allow-empty", "-m", "start"], check=True)
    subprocess.run(["git", "-C", str(main), "worktree", "add", "-q", "-b", "mirror", str(tmp_path / "out")],
                   check=True)
    assert (tmp_path / "out/.git").is_file()  # it points at main/.git/worktrees/out
    cfg = demo_config(tmp_path, demo_server.base)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        'output = "out"', f'output = "out"\nstore = "{other_fs_dir}/newsmirror.db"'), encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "out/pages").rglob("*.md"))) == 6
    log = subprocess.run(["git", "-C", str(main), "log", "--oneline", "mirror"], capture_output=True, text=True)
    assert len(log.stdout.splitlines()) == 2  # the mirror's commit, on the worktree's branch
    res = cli_run(cfg, "run")
    assert res.exit_code == 0 and "nothing to commit" in res.output
    fsck = subprocess.run(["git", "-C", str(tmp_path / "out"), "fsck", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr


def test_an_output_that_cannot_be_written_stops_with_one_line(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    cfg.output_dir.write_text("not a folder", encoding="utf-8")
    res = CliRunner().invoke(cli, ["--config", str(cfg.path), "run"])
    assert res.exit_code == 1
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    lines = [ln for ln in res.output.splitlines() if ln.startswith("newsmirror:")]
    assert len(lines) == 1 and str(cfg.output_dir) in lines[0] and "run again" in lines[0]
    # nor a store that cannot be made
    cfg.output_dir.unlink()
    (tmp_path / "blocker").write_text("not a folder", encoding="utf-8")
    text = cfg.path.read_text(encoding="utf-8")
    cfg.path.write_text(text.replace("[site]\n", '[site]\nstore = "blocker/newsmirror.db"\n', 1), encoding="utf-8")
    res = CliRunner().invoke(cli, ["--config", str(cfg.path), "run"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "cannot open the store" in res.output and "blocker" in res.output


def test_a_page_whose_rendering_crashes_fails_alone_and_is_made_once_it_works(demo_server, tmp_path, monkeypatch):
    from newsmirror.render import Renderer

    real = Renderer.compose

    def compose(self, a, *args, **kw):
        if a.id == "n2001":
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, a, *args, **kw)

    monkeypatch.setattr(Renderer, "compose", compose)  # the worker processes are forked: they have it too
    cfg = demo_config(tmp_path, demo_server.base)
    res = cli_run(cfg, "run")
    assert res.exit_code == 1
    assert "n2001.html: rendering its page crashed (RecursionError: maximum recursion depth exceeded)" in res.output
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "pages").rglob("*.md")) == [
        "a103612902.md", "n2002.md", "n3001.md", "n3002.md", "n3003.md"]
    for page in [out / "README.md", *(out / "indexes").rglob("*.md"), *(out / "pages").rglob("*.md")]:
        assert "n2001.md" not in page.read_text(encoding="utf-8"), page.name  # no link to a missing page
    assert f"]({demo_server.base}/news/intl/2024/05/02/n2001.html)" in (out / "pages/intl/n2002.md").read_text(
        encoding="utf-8")  # the page that links to it links to the original instead
    assert git_count(out) == 1 and "committed" in res.output  # the rest is published
    res = cli_run(cfg, "build")
    assert res.exit_code == 1 and "1 failed to render" in res.output

    monkeypatch.setattr(Renderer, "compose", real)  # fixed: the next run makes the page and lists it
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    assert (out / "pages/intl/n2001.md").is_file()
    assert "n2001.md" in (out / "indexes/intl.md").read_text(encoding="utf-8")
    assert "n2001.md" in (out / "README.md").read_text(encoding="utf-8")
    assert "](n2001.md)" in (out / "pages/intl/n2002.md").read_text(encoding="utf-8")  # and is linked to again
    res = cli_run(cfg, "run")
    assert res.exit_code == 0 and "nothing to commit" in res.output


def test_a_page_brought_back_by_retention_whose_rendering_crashes_is_tried_again(demo_server, tmp_path, monkeypatch):
    from newsmirror.render import Renderer

    cfg = demo_config(tmp_path, demo_server.base, site_extra="retention = 2")
    assert cli_run(cfg, "run", "--source", "intl").exit_code == 0
    out = tmp_path / "out"
    assert not (out / "pages/intl/a103612902.md").exists()  # the oldest of three
    store = Store(tmp_path / "newsmirror.db")  # n2002 is found to be older than it said: a103612902 is back in
    store.db.execute("UPDATE articles SET published='2020-01-01T00:00:00+00:00', dirty=1 WHERE id='n2002'")
    store.db.execute("UPDATE meta SET value=CAST(value AS INTEGER)+1 WHERE key='articles_version'")
    store.close()
    real = Renderer.compose

    def compose(self, a, *args, **kw):
        if a.id == "a103612902":
            raise RecursionError("boom")
        return real(self, a, *args, **kw)

    monkeypatch.setattr(Renderer, "compose", compose)
    assert cli_run(cfg, "run", "--source", "intl").exit_code == 1
    assert not (out / "pages/intl/a103612902.md").exists()
    monkeypatch.setattr(Renderer, "compose", real)
    assert cli_run(cfg, "run", "--source", "intl").exit_code == 0
    assert (out / "pages/intl/a103612902.md").exists()
    assert "a103612902.md" in (out / "indexes/intl.md").read_text(encoding="utf-8")


# -- other source kinds and encodings --------------------------------------------------------------


def test_urls_source_with_a_gbk_page_and_editor_picks(tmp_path):
    with SiteServer(FIXTURES, []) as s:
        (tmp_path / "picks.txt").write_text(f"# picks\n{s.base}/gbk/article.html\n\n{s.base}/big5/article.html\n",
                                            encoding="utf-8")
        cfg = write_config(tmp_path, """
            [site]
            title = "镜像"

            [categories.picks]
            title = "精选"

            [[sources]]
            name = "picks"
            kind = "urls"
            path = "picks.txt"
            category = "picks"
            """ + FAST_FETCH)
        res = cli_run(cfg, "run")
        assert res.exit_code == 0, res.output
    out = tmp_path / "mirror"
    pages = sorted((out / "pages/picks").glob("*.md"))
    assert len(pages) == 2
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    for enc in ("gbk", "big5"):
        expected = (FIXTURES / enc / "expected.txt").read_text(encoding="utf-8")
        assert squash(expected) in squash(text), enc
    home = (out / "README.md").read_text(encoding="utf-8")
    assert "## 编辑推荐" in home  # a urls source is a pick list
    assert list((out / "pages/picks").glob("*.png")) == []  # no base_url: no QR code to point anywhere


def test_add_mirrors_given_urls_as_picks(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    res = cli_run(cfg.path, "add", f"{ntd_server.base}{SEED_PATH}", "--category", "intl")
    assert res.exit_code == 0, res.output
    home = (cfg.output_dir / "README.md").read_text(encoding="utf-8")
    picks = home.split("## 编辑推荐")[1].split("## 最新文章")[0]
    assert "pages/intl/a103612902.md" in picks
    assert cli_run(cfg.path, "add", "not-a-url").exit_code == 2
    assert cli_run(cfg.path, "add", f"{ntd_server.base}/x", "--category", "nope").exit_code == 2


def test_adding_an_article_already_mirrored_makes_it_a_pick(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    assert cli_run(cfg.path, "run").exit_code == 0
    home = (cfg.output_dir / "README.md").read_text(encoding="utf-8")
    assert "## 编辑推荐" not in home or "a103612902.md" not in home.split("## 编辑推荐")[1].split("## 最新文章")[0]
    res = cli_run(cfg.path, "add", f"{ntd_server.base}{SEED_PATH}")
    assert res.exit_code == 0, res.output
    home = (cfg.output_dir / "README.md").read_text(encoding="utf-8")
    assert "pages/intl/a103612902.md" in home.split("## 编辑推荐")[1].split("## 最新文章")[0]


# -- rules, fallbacks and failures ---------------------------------------------------------------

RULES_SOURCE = """
[sources.rules]
body = "{body}"
title = "div.article_title h1"
remove = [".single_ad"]
"""


def test_rules_source_uses_its_selectors(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=RULES_SOURCE.replace("{body}", "div.post_content")
                         + FAST_FETCH)
    assert cli_run(cfg.path, "run").exit_code == 0
    store = Store(cfg.store_path)
    assert store.article("a103612902").extracted_by == "rules"
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    assert body_paragraphs(page) == seed_paragraphs()


def test_rules_that_stop_matching_fall_back_to_generic_and_say_so(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=RULES_SOURCE.replace("{body}", "div.redesigned-body")
                         + FAST_FETCH)
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 0
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    assert body_paragraphs(page) == seed_paragraphs()
    assert Store(cfg.store_path).article("a103612902").extracted_by == "generic (rules failed)"
    status = cli_run(cfg.path, "status")
    assert "rules stopped matching" in status.output and "div.redesigned-body" in status.output


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_source_whose_server_is_down_does_not_stop_the_others(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=f"""
        [[sources]]
        name = "down"
        kind = "rss"
        url = "http://127.0.0.1:{closed_port()}/feed"
        category = "intl"
        """ + FAST_FETCH)
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 1
    assert (cfg.output_dir / SEED_PAGE).exists()
    status = cli_run(cfg.path, "status")
    assert status.exit_code == 0
    line = [ln for ln in status.output.splitlines() if ln.strip().startswith("down")][0]
    assert "cannot connect" in line


def make_site(root: Path, base_placeholder: str, items: list[str]) -> None:
    (root / "a").mkdir(parents=True)
    entries = "".join(f"<item><title>t{i}</title><link>{base_placeholder}{p}</link></item>" for i, p in
                      enumerate(items))
    (root / "feed.xml").write_text(f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                                   f"<title>f</title>{entries}</channel></rss>", encoding="utf-8")


def test_broken_articles_are_recorded_and_never_written(tmp_path):
    site = tmp_path / "site"
    make_site(site, "https://site.example", ["/a/a103612902.html", "/a/missing1.html", "/a/empty2.html",
                                             "/a/shell3.html"])
    shutil.copy(NTD / "a103612902.html", site / "a/a103612902.html")
    (site / "a/empty2.html").write_text("", encoding="utf-8")
    (site / "a/shell3.html").write_text('<html><head><script src="app.js"></script></head><body><div id="app">'
                                        "</div><script>render()</script></body></html>", encoding="utf-8")
    with SiteServer(site, ["https://site.example", "https://www.ntdtv.com"]) as s:
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH, feed="/feed.xml")
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 1
        status = cli_run(cfg.path, "status").output
    pages = sorted(p.name for p in (cfg.output_dir / "pages").rglob("*.md"))
    assert pages == ["a103612902.md"]
    assert "HTTP 404" in status
    assert "empty page" in status
    assert "JavaScript shell" in status


def test_bad_config_exits_2_naming_the_key(tmp_path):
    bad = write_config(tmp_path, """
        [site]
        title = "x"
        colour = "red"

        [categories.intl]
        title = "国际"

        [[sources]]
        name = "a"
        kind = "rss"
        url = "http://127.0.0.1:1/feed"
        category = "world"
        """)
    res = cli_run(bad, "run")
    assert res.exit_code == 2
    assert "site.colour" in res.output
    proc = subprocess.run([sys.executable, "-m", "newsmirror", "--config", str(bad), "run"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "colour" in proc.stderr
    bad.write_text(bad.read_text().replace('colour = "red"\n', ""))
    res = cli_run(bad, "run")
    assert res.exit_code == 2
    assert "'world' is not a category" in res.output and "[categories.world]" in res.output
    assert cli_run(tmp_path / "nope.toml", "run").exit_code == 2


def test_a_second_run_at_once_is_refused(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    holder = Mirror(cfg)
    holder.lock()
    try:
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 2
        assert "in progress" in res.output
    finally:
        holder.close()
    assert cli_run(cfg.path, "run").exit_code == 0


def test_init_writes_a_starter_config_that_loads(tmp_path):
    res = CliRunner().invoke(cli, ["init", str(tmp_path / "site")])
    assert res.exit_code == 0, res.output
    from newsmirror.config import load_config

    cfg = load_config(tmp_path / "site/newsmirror.toml")
    assert cfg.sources[0].kind == "rss"
    assert (tmp_path / "site/templates/article.md.j2").exists()
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "site")]).exit_code == 2


def test_overridden_template_is_used(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/category.md.j2").write_text("# MY {{ title }}\n{% for a in articles %}* {{ a.title }}\n"
                                                      "{% endfor %}", encoding="utf-8")
    assert cli_run(cfg.path, "run").exit_code == 0
    assert (cfg.output_dir / "indexes/intl.md").read_text(encoding="utf-8").startswith("# MY 国际")


def test_demo_command_builds_the_demo_mirror(tmp_path):
    res = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "d"), "--port", "0"])
    assert res.exit_code == 0, res.output
    pages = list((tmp_path / "d/mirror/pages").rglob("*.md"))
    assert len(pages) >= 5
    assert {p.parent.name for p in pages} == {"intl", "culture"}
    assert (tmp_path / "d/mirror/pages/intl/a103612902.md").exists()


def test_duplicates_by_canonical_url_and_by_content_are_mirrored_once(tmp_path):
    site = tmp_path / "site"
    make_site(site, "https://site.example", ["/a/a103612902.html", "/a/copy1.html", "/a/copy2.html"])
    seed = (NTD / "a103612902.html").read_text(encoding="utf-8")
    (site / "a/a103612902.html").write_text(seed, encoding="utf-8")
    (site / "a/copy1.html").write_text(seed, encoding="utf-8")  # same canonical link
    no_canon = re.sub(r'<link rel="canonical"[^>]*>|<meta property="og:url"[^>]*>', "", seed)
    (site / "a/copy2.html").write_text(no_canon, encoding="utf-8")  # other URL, same text
    with SiteServer(site, ["https://site.example", "https://www.ntdtv.com"]) as s:
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH, feed="/feed.xml")
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 0, res.output
        assert "1 new" in res.output
        s.requests.clear()
        assert cli_run(cfg.path, "run").exit_code == 0
        assert [p for p in s.requests if p.startswith("/a/")] == []
    assert [p.name for p in (cfg.output_dir / "pages").rglob("*.md")] == ["a103612902.md"]


def test_near_duplicates_are_mirrored_once_and_the_other_url_kept_as_an_alias(tmp_path):
    # the same article at two addresses of two sites, one character apart (a comment count written "（0）" on
    # one and "(0)" on the other): its content hash differs, its fingerprint barely
    site = tmp_path / "site"
    make_site(site, "https://site.example", ["/a/a103612902.html", "/a/variant.html"])
    seed = (NTD / "a103612902.html").read_text(encoding="utf-8")
    (site / "a/a103612902.html").write_text(seed, encoding="utf-8")
    first = seed_paragraphs()[0]
    variant = re.sub(r'<link rel="canonical"[^>]*>|<meta property="og:url"[^>]*>', "", seed)
    assert first[:20] in variant
    variant = variant.replace(first[:20], first[:20] + "（0）", 1)
    (site / "a/variant.html").write_text(variant, encoding="utf-8")
    with SiteServer(site, ["https://site.example", "https://www.ntdtv.com"]) as s:
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH, feed="/feed.xml")
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 0, res.output
        assert "1 new" in res.output and "1 duplicate" in res.output
        rows = [Store(cfg.store_path).url_row(f"{s.base}/a/{name}") for name in ("a103612902.html", "variant.html")]
    pages = [p.stem for p in (cfg.output_dir / "pages").rglob("*.md")]
    assert len(pages) == 1  # whichever came first is kept; the other address points at it
    kept, alias = sorted(rows, key=lambda r: r["status"] == "duplicate")
    assert kept["status"] == "ok" and kept["article_id"] == pages[0]
    assert alias["status"] == "duplicate" and alias["article_id"] == pages[0]
    assert alias["reason"].startswith("nearly the same content as ")


def test_what_a_source_limit_counts(tmp_path):
    """A source's `limit` counts the URLs that need a fetch: never seen, pending, failed with attempts left, or
    dated after we read them. Mirrored ones (by any URL that led to them), duplicates and given-up ones do not;
    one that failed fetch.max_attempts times is given up. Nothing is marked due by the count itself."""
    from datetime import UTC, datetime

    from newsmirror.models import Article, Candidate

    cfg = minimal_config(tmp_path, "http://127.0.0.1:9", extra="[fetch]\nmax_attempts = 2\n")
    mirror = Mirror(cfg)
    x = "https://x.example/"
    store = mirror.store
    with store.tx():
        for i in ("1", "2"):
            store.save_article(Article(url=f"{x}a{i}", canonical_url=f"{x}c{i}", title="t", body_html="<p>b</p>",
                                       id=f"a{i}", category="intl", source="s"), f"h{i}", pick=False)
        store.mark_url(f"{x}a1?from=feed", "s", "ok", article_id="a1")
        store.mark_url(f"{x}copy-of-2", "s", "duplicate", article_id="a2")
        store.mark_url(f"{x}gone", "s", "gave_up", reason="HTTP 404")
        store.mark_url(f"{x}pending", "s", "pending")
        for url, times in ((f"{x}failed-once", 1), (f"{x}failed-twice", 2)):
            for _ in range(times):
                store.mark_url(url, "s", "failed", reason="HTTP 500", failed=True)
    later = datetime(2099, 1, 1, tzinfo=UTC)
    urls = ["new", "a1", "c1", "a1?from=feed", "copy-of-2", "gone", "pending", "failed-once", "failed-twice"]
    cands = [Candidate(url=x + u, source="s", category="intl") for u in urls]
    cands.append(Candidate(url=f"{x}c2", source="s", category="intl", updated=later))
    try:
        assert [c.url.removeprefix(x) for c in mirror.needing_work(cands)] == \
            ["new", "pending", "failed-once", "c2"]
        assert store.url_row(f"{x}failed-twice")["status"] == "gave_up"
        assert store.url_row(f"{x}c2") is None  # due only once the limit takes it (_select marks it)
    finally:
        mirror.close()


def test_a_page_that_breaks_sanitising_fails_alone():
    """A bug past extraction (here: sanitising raises) makes that page fail with the reason; it does not
    escape the worker and stop the run."""
    from newsmirror.errors import PageRejected
    from newsmirror.models import Response
    from newsmirror.pipeline.analyse import analyse_page

    page = ("<html><head><title>标题</title></head><body><article><h1>标题</h1>"
            + "<p>这是一段足够长的正文，用来确认提取成功，然后在清理时出错。</p>" * 5 + "</article></body></html>")
    resp = Response(url="http://127.0.0.1/a", final_url="http://127.0.0.1/a", status=200,
                    headers={"content-type": "text/html; charset=utf-8"}, body=page.encode(), text=page,
                    encoding="utf-8", raw_body=page.encode())
    assert analyse_page(resp, None, True, 10**7).records is not None

    def broken(body_html: str, base_url: str | None = None) -> str:
        raise KeyError("never")

    with pytest.raises(PageRejected) as rejected:
        analyse_page(resp, None, True, 10**7, clean=broken)
    assert rejected.value.reason == "sanitising crashed (KeyError: 'never')"


def die_in_worker(*args: object) -> None:
    """What a worker process killed by the kernel (out of memory) looks like to the run: it is gone."""
    os._exit(9)


def test_a_worker_that_dies_ends_the_run_with_one_line_and_the_next_run_completes(ntd_server, tmp_path,
                                                                                    monkeypatch):
    from newsmirror import workers

    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)  # the one article goes to a real worker process
    monkeypatch.setattr(SEAMS, "analyse_page", die_in_worker)
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 1
    assert "a worker process died" in res.output and "run again" in res.output
    assert "Traceback" not in res.output
    status = cli_run(cfg.path, "status").output
    assert "a worker process died while working on it" in status  # a failed attempt: given up if it goes on
    monkeypatch.undo()
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 0, res.output
    assert (cfg.output_dir / SEED_PAGE).is_file()


def test_a_page_that_kills_its_worker_every_time_is_given_up(ntd_server, tmp_path, monkeypatch):
    from newsmirror import workers

    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH + "max_attempts = 2\n")
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)
    monkeypatch.setattr(SEAMS, "analyse_page", die_in_worker)
    assert [cli_run(cfg.path, "run").exit_code for _ in range(2)] == [1, 1]
    res = cli_run(cfg.path, "run")  # the third run does not die on it again
    assert "a worker process died" not in res.output and res.exit_code in (0, 1), res.output
    store = Store(cfg.store_path)
    row = store.url_row(f"{ntd_server.base}{SEED_PATH}")
    store.close()
    assert row is not None and row["status"] in ("failed", "gave_up") and row["attempts"] == 2  # not tried again


def test_a_source_whose_reading_crashes_fails_alone(ntd_server, tmp_path, monkeypatch):
    """A bug in reading one source (simulated: it raises) is that source's failure; the others are mirrored."""

    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH + """
        [[sources]]
        name = "broken"
        kind = "rss"
        url = "{base}/other/feed"
        category = "intl"
        """.replace("{base}", ntd_server.base))
    real = SEAMS.discover

    async def discover(source, *args):
        if source.name == "broken":
            raise RuntimeError("a bug in the reader")
        return await real(source, *args)

    monkeypatch.setattr(SEAMS, "discover", discover)
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 1
    assert "broken: reading it crashed (RuntimeError: a bug in the reader)" in res.output
    assert "Traceback" not in res.output and (cfg.output_dir / SEED_PAGE).is_file()


class KilledBeforeBuild(BaseException):
    """Stands for a SIGKILL between the fetch and the build (the crash test kills real runs; this one must land
    at that moment exactly)."""


def test_a_late_article_turns_old_links_into_mirror_links_even_after_a_run_killed_before_its_build(
        demo_server, tmp_path, monkeypatch):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    page = tmp_path / "out/pages/culture/n3001.md"
    assert f"]({demo_server.base}{SEED_PATH})" in page.read_text(encoding="utf-8")

    def killed():
        raise KilledBeforeBuild

    monkeypatch.setattr(SEAMS, "before_build", killed)
    with pytest.raises(KilledBeforeBuild):
        cli_run(cfg, "run", "--source", "intl")
    monkeypatch.undo()
    assert cli_run(cfg, "run").exit_code == 0  # the intl article is in the store: nothing new is fetched
    assert "](../intl/a103612902.md)" in page.read_text(encoding="utf-8")


def test_a_late_article_turns_old_links_into_mirror_links_even_after_a_run_killed_while_fetching(
        demo_server, tmp_path, monkeypatch):
    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    page = tmp_path / "out/pages/culture/n3001.md"

    def killed(ids):  # the articles are saved; the run dies before it gets to the pages linking to them
        raise KilledBeforeBuild

    monkeypatch.setattr(SEAMS, "after_fetch", killed)
    with pytest.raises(KilledBeforeBuild):
        cli_run(cfg, "run", "--source", "intl")
    monkeypatch.undo()
    assert cli_run(cfg, "run").exit_code == 0
    assert "](../intl/a103612902.md)" in page.read_text(encoding="utf-8")


def test_the_fetch_phase_collects_its_garbage_less_often_and_the_run_as_before_after_it(ntd_server, tmp_path,
                                                                                        monkeypatch):
    import gc

    from newsmirror.workers import YOUNG_OBJECTS

    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    seen: list[int] = []
    real = SEAMS.analyse_page

    def analyse_page(*args: object) -> object:  # (a page or two: analysed here, in the run's process)
        seen.append(gc.get_threshold()[0])
        return real(*args)

    monkeypatch.setattr(SEAMS, "analyse_page", analyse_page)
    before = gc.get_threshold()
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 0, res.output
    assert seen and set(seen) == {max(before[0], YOUNG_OBJECTS)}
    assert gc.get_threshold() == before
