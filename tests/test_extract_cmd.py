"""`newsmirror extract`: files, .gz files and URLs in, one result per input, in order."""

from __future__ import annotations

import gzip
import json
import shutil

from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.demo.server import SiteServer

from .conftest import FIXTURES, NTD

PAGES = FIXTURES / "pages"
FIELDS = {"path", "url", "title", "published", "author", "image", "caption", "text", "markdown", "is_article",
          "error"}


def run(*args: str):
    return CliRunner().invoke(cli, ["extract", *args], catch_exceptions=False)


def jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_jsonl_one_object_per_input_in_order_and_a_bad_file_does_not_stop_the_batch(tmp_path):
    gz = tmp_path / "seed.html.gz"
    gz.write_bytes(gzip.compress((NTD / "a103612902.html").read_bytes()))
    inputs = [str(PAGES / "rich.html"), str(tmp_path / "missing.html"), str(gz), str(PAGES / "listing.html"),
              str(PAGES / "error404.html"), str(PAGES / "jsshell.html"), str(NTD / "feed.xml")]
    res = run(*inputs, "--format", "jsonl")
    assert res.exit_code == 1  # the missing file
    rows = jsonl(res.stdout)
    assert [r["path"] for r in rows] == inputs
    assert all(FIELDS <= set(r) for r in rows)
    rich, missing, seed, listing, err404, shell, feed = rows
    assert rich["is_article"] and rich["title"] == "湖畔图书馆完成改建 新增古籍修复室"
    assert rich["published"] == "2024-03-12T09:30:00+08:00"
    assert rich["caption"] == "改建后的湖畔图书馆阅览大厅。（示例日报 林青 摄）"
    assert missing["error"] == "no such file" and not missing["is_article"]
    assert seed["is_article"] and seed["url"] == "https://www.ntdtv.com/gb/2023/01/01/a103612902.html"
    assert seed["text"].count("\n\n") == 9  # ten paragraphs, blank lines between
    for r in (listing, err404, shell, feed):
        assert r["is_article"] is False and r["error"] is None and r["reason"] and r["text"] == ""
    assert "list" in listing["reason"] and "error page" in err404["reason"]
    assert "JavaScript" in shell["reason"] and "feed" in feed["reason"]


def test_text_leaves_boilerplate_out_and_keeps_the_article():
    rich = jsonl(run(str(PAGES / "rich.html"), "--format", "jsonl").stdout)[0]
    text = rich["text"]
    for kept in ("经过一年半的改建", "阅览区：座位由原来的二百个", "“以前只在纪录片里看过古籍修复",
                 "到馆后凭预约码入场", "（责任编辑：王芳）"):
        assert kept in text
    for gone in ("首页", "相关阅读", "老城区三座旧厂房", "免责声明", "热门新闻", "网友评论", "版权所有",
                 "微博", "记者 林青 · 2024年03月12日"):
        assert gone not in text, gone
    assert text.index("经过一年半") < text.index("据统计") < text.index("线上预约")


def test_markdown_keeps_headings_lists_quotes_images_captions_links_and_tables():
    md = jsonl(run(str(PAGES / "rich.html"), "--url", "https://daily.example/culture/2024/03/12/c5501.html",
                   "--format", "jsonl").stdout)[0]["markdown"]
    assert md.startswith("# 湖畔图书馆完成改建 新增古籍修复室\n")
    assert "## 三大功能区" in md
    assert "- 阅览区：座位由原来的二百个增加到三百五十个，全部配有阅读灯。" in md
    assert "1. 关注图书馆官方网站的通知；" in md and "3. 到馆后凭预约码入场。" in md
    assert "> “以前只在纪录片里看过古籍修复" in md
    assert "![古籍修复室](https://daily.example/images/restore-room.jpg)" in md
    assert "_修复师正在处理一册清代县志。_" in md
    assert "[周明远](https://daily.example/people/zhou.html)" in md
    assert "| 阅览区 | 9:00–21:00 |" in md
    assert "![湖畔图书馆完成改建 新增古籍修复室](https://daily.example/images/library-lead.jpg)" in md
    assert md.count("library-lead.jpg") == 1  # the lead image is not repeated in the body
    assert "<script" not in md and "tracker" not in md


def test_urls_are_fetched_and_a_dead_url_is_an_error(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(PAGES / "rich.html", site / "rich.html")
    with SiteServer(site, []) as s:
        res = run(f"{s.base}/rich.html", f"{s.base}/gone.html", "--format", "json")
    rows = json.loads(res.stdout)
    assert res.exit_code == 1
    assert rows[0]["is_article"] and rows[0]["image"] == f"{s.base}/images/library-lead.jpg"
    assert "404" in rows[1]["error"]


def test_text_and_markdown_formats():
    res = run(str(PAGES / "rich.html"), str(PAGES / "listing.html"))
    assert res.exit_code == 0
    assert f"==> {PAGES / 'rich.html'} <==" in res.output
    assert "[not an article:" in res.output
    md = run(str(PAGES / "rich.html"), "--format", "markdown").output
    assert md.startswith("# 湖畔图书馆完成改建")


def test_python_api_is_a_function_of_a_plain_package():
    import types

    import newsmirror.extract
    from newsmirror.extract import extract

    assert type(newsmirror.extract) is types.ModuleType  # a package like any other, no callable module
    html = (PAGES / "rich.html").read_text(encoding="utf-8")
    a = extract(html, url="https://daily.example/culture/2024/03/12/c5501.html")
    assert a.title == "湖畔图书馆完成改建 新增古籍修复室"
    assert extract(html).canonical_url == "https://daily.example/culture/2024/03/12/c5501.html"


def test_a_gzip_bomb_or_an_endless_file_is_refused_past_max_bytes(tmp_path):
    bomb = tmp_path / "bomb.html.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        for _ in range(20):
            f.write(b"\0" * 1_000_000)  # 20 MB of text in about 20 KB
    assert bomb.stat().st_size < 100_000
    res = run(str(bomb), "/dev/zero", str(PAGES / "rich.html"), "--format", "jsonl")
    assert res.exit_code == 1
    bomb_row, zero_row, rich = jsonl(res.stdout)
    assert "larger than 10,000,000 bytes" in bomb_row["error"] and "larger than" in zero_row["error"]
    assert rich["is_article"]  # the others still run


def test_a_damaged_gzip_file_is_one_error_and_the_batch_goes_on(tmp_path):
    bad = tmp_path / "bad.html.gz"
    data = bytearray(gzip.compress((PAGES / "rich.html").read_bytes()))
    data[20:40] = b"\xff" * 20
    bad.write_bytes(bytes(data))
    res = run(str(bad), str(PAGES / "rich.html"), "--format", "jsonl")
    assert res.exit_code == 1
    broken, rich = jsonl(res.stdout)
    assert "cannot read it" in broken["error"] and rich["is_article"]
