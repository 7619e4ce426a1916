"""The static HTML site (site.formats = ["markdown", "html"]): self-contained, relative, with feeds."""

from __future__ import annotations

import json
import posixpath
import re
import subprocess
from pathlib import Path

import lxml.etree
import lxml.html

from tests.test_pipeline import cli_run, demo_config, seed_paragraphs, squash

SITE_EXTRA = ('formats = ["markdown", "html"]\nbase_url = "https://github.com/example/news/blob/main"\n'
              'variants = ["zh-Hans", "zh-Hant"]')


def built_site(demo_server, tmp_path: Path) -> Path:
    cfg = demo_config(tmp_path, demo_server.base, site_extra=SITE_EXTRA)
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    return tmp_path / "out"


def references(doc: lxml.html.HtmlElement) -> list[tuple[str, str]]:
    """(tag, URL) of everything a browser would load or follow from a page."""
    out = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = f"link:{el.get('rel')}" if el.tag == "link" else el.tag
        for attr in ("src", "href", "poster", "data", "srcset"):
            if el.get(attr):
                out.append((f"{tag}[{attr}]", el.get(attr)))
    return out


def test_the_site_has_every_page_and_loads_nothing_from_any_other_host(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    site = out / "site"
    md_pages = sorted(p.relative_to(out / "pages").with_suffix("").as_posix() for p in (out / "pages").rglob("*.md"))
    html_pages = sorted(p.relative_to(site / "pages").with_suffix("").as_posix()
                        for p in (site / "pages").rglob("*.html"))
    assert html_pages == md_pages and len(html_pages) == 6
    for name in ("index.html", "indexes/intl.html", "indexes/culture.html", "indexes/hot.html",
                 "indexes/archive/index.html", "style.css", "feed.xml", "feed.json", "search.html",
                 "pagefind/pagefind.js", "pagefind/pagefind-ui.js"):
        assert (site / name).is_file(), name
    checked = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if page.name != "search.html":  # the one page that needs JavaScript (Pagefind's search box)
            assert "<script" not in text.lower() and "@import" not in text and "url(" not in text
        doc = lxml.html.document_fromstring(text)
        for what, url in references(doc):
            if what.startswith(("a[", "link:canonical[")) and url.startswith(("http://", "https://", "mailto:")):
                continue  # a link the reader may follow (the original article); nothing is loaded from it
            if what == "link:icon[href]" and url == "data:,":
                continue  # "no icon": keeps the browser from asking the server root for /favicon.ico
            assert "://" not in url and not url.startswith(("/", "//", "data:")), f"{page}: {what} = {url}"
            target = posixpath.normpath(posixpath.join(page.parent.relative_to(out).as_posix(),
                                                       url.split("?")[0].split("#")[0]))
            assert target.startswith("site/"), f"{page}: {url} leaves site/"
            assert (out / target).exists(), f"{page}: {what} = {url} is a broken link"
            checked += 1
    assert checked > 100
    css = (site / "style.css").read_text(encoding="utf-8")
    assert "url(" not in css and "@import" not in css and "@font-face" not in css


def test_the_seed_page_in_html_has_every_part(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    page = out / "site/pages/intl/a103612902.html"
    doc = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
    assert doc.findtext(".//h1") == "普京邀习近平访俄 中国官媒只字未提"
    navs = [[a.text for a in nav.iter("a")] for nav in doc.iter("nav")]
    assert navs[0] == navs[-1] == ["首页", "国际", "热点推荐", "繁體"]  # the last: this page in Traditional
    lead = doc.cssselect("figure.lead img")[0]
    assert lead.get("src").startswith("../../assets/") and (page.parent / lead.get("src")).is_file()
    caption = doc.cssselect("figure.lead figcaption")[0].text_content().strip()
    md = (out / "pages/intl/a103612902.md").read_text(encoding="utf-8")
    assert len(caption) > 10 and f"_{caption}_" in md  # the same caption as the Markdown page
    body = [squash(p.text_content()) for p in doc.cssselect("div.body p") if squash(p.text_content())]
    assert body == seed_paragraphs()
    share = doc.cssselect("section.share")[0]
    assert "https://github.com/example/news/blob/main/pages/intl/a103612902.md" in share.text_content()
    qr = share.cssselect("img.qr")[0].get("src")
    assert (page.parent / qr).read_bytes().startswith(b"\x89PNG")
    assert "原文地址（需翻墙访问）" in share.text_content()
    assert re.search(r"<!-- newsmirror \{.*\"content_sha256\"", page.read_text(encoding="utf-8"))


def test_the_site_feeds_list_the_latest_articles(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    atom = lxml.etree.parse(str(out / "site/feed.xml"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = atom.findall("a:entry", ns)
    assert len(entries) == 6
    hrefs = [e.find("a:link", ns).get("href") for e in entries]  # base_url only: the Markdown pages on the host
    base = "https://github.com/example/news/blob/main/"
    assert all(h.startswith(base) and (out / h.removeprefix(base)).is_file() for h in hrefs)
    feed = json.loads((out / "site/feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and len(feed["items"]) == 6
    assert {i["title"] for i in feed["items"]} >= {"普京邀习近平访俄 中国官媒只字未提"}
    assert all(i["external_url"].startswith("http") for i in feed["items"])


def test_formats_must_keep_markdown(tmp_path, demo_server):
    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["html"]')
    res = cli_run(cfg, "run")
    assert res.exit_code == 2 and 'formats must include "markdown"' in res.output


def test_dropping_html_from_formats_removes_the_whole_site_with_its_search_index(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    assert (out / "site/pagefind/pagefind.js").is_file()
    cfg = tmp_path / "newsmirror.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('formats = ["markdown", "html"]', ""), encoding="utf-8")
    res = cli_run(cfg, "build")
    assert res.exit_code == 0, res.output
    assert not (out / "site").exists() or not [p for p in (out / "site").rglob("*") if p.is_file()]
    tracked = subprocess.run(["git", "-C", str(out), "ls-files", "site"], capture_output=True, text=True, check=True)
    assert tracked.stdout == ""
    assert (out / "pages/intl/a103612902.md").is_file()


def test_without_image_downloads_or_base_url_the_site_still_loads_nothing_from_elsewhere(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["markdown", "html"]')
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n[images]\ndownload = false\n", encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    site = tmp_path / "out/site"
    pages = list((site / "pages").rglob("*.html"))
    assert len(pages) == 6
    for page in pages:
        doc = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
        for img in doc.iter("img"):
            assert "://" not in img.get("src", ""), f"{page.name}: {img.get('src')}"
        share = doc.cssselect("section.share a")[0].get("href")  # no base_url: the share link is the page itself
        assert (page.parent / share).resolve() == page.resolve()
    seed = (site / "pages/intl/a103612902.html").read_text(encoding="utf-8")
    assert "image not mirrored" in seed  # the lead image, not loaded from its host


def test_a_traditional_page_shares_the_traditional_markdown_page(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    page = out / "site/zh-Hant/pages/intl/a103612902.html"
    doc = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
    share = doc.cssselect("section.share a")[0].get("href")
    assert share == "https://github.com/example/news/blob/main/zh-Hant/pages/intl/a103612902.md"
    assert (out / "zh-Hant/pages/intl/a103612902.md").is_file()


def test_a_half_made_search_index_a_killed_run_left_is_cleared(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    left = tmp_path / ".newsmirror-tmp" / "pagefind-99999"
    (left / "fragment").mkdir(parents=True)
    (left / "fragment" / "x.pf_fragment").write_bytes(b"half")
    assert cli_run(tmp_path / "newsmirror.toml", "run").exit_code == 0
    assert not left.exists() and (out / "site/pagefind/pagefind.js").is_file()
