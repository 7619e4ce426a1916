"""Renderer: article pages (order, QR, promos, tags, counter) and the indexes (home, categories, hot, archive)."""

from __future__ import annotations

import io
import json
import posixpath
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import lxml.etree
import pytest
import zxingcpp
from markdown_it import MarkdownIt
from PIL import Image

from newsmirror.config import Config, parse_config
from newsmirror.models import StoredArticle
from newsmirror.render import ARCHIVE, HOME, HOT, Renderer, category_path, page_path, qr_path, rel
from newsmirror.render.qr import qr_png

PNG = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2024, 1, 1, tzinfo=UTC)

BASE_TOML = """\
[site]
title = "测试镜像"
{site}

[categories.intl]
title = "国际"

[categories.culture]
title = "文化"
{extra}
"""

PROMOS = """
[site.promos]
random = 2

[[site.promos.fixed]]
title = "固定推广"
url = "https://fixed.example/"
icon = "★"

[[site.promos.fixed]]
title = "站内指南"
url = "docs/guide.md"
""" + "".join(f"""
[[site.promos.pool]]
title = "池{i}"
url = "https://pool{i}.example/"
""" for i in range(8))


def make_config(tmp_path: Path, site: str = "", extra: str = "") -> Config:
    text = BASE_TOML.replace("{site}", site).replace("{extra}", extra)
    return parse_config(text, tmp_path / "newsmirror.toml")


def make_article(id: str = "n1", category: str = "intl", day: float = 0, pick: bool = False, **kw) -> StoredArticle:
    when = T0 + timedelta(days=day)
    fields = dict(
        id=id, url=f"https://src.example/{id}.html", canonical_url=f"https://src.example/{id}.html", source="src-rss",
        category=category, title=f"标题{id}", body_html=f"<p>正文{id}第一段</p><p>正文{id}第二段</p>",
        published=when, updated=None, author=None, image=None, caption=None, language="zh-Hans",
        content_hash="ab" * 32, extracted_by="generic", first_seen=when, last_seen=when, fetched_at=when, pick=pick,
    )
    fields.update(kw)
    return StoredArticle(**fields)


def no_mirror(url: str) -> tuple[str, str] | None:
    return None


def page_text(r: Renderer, a: StoredArticle, mirrored=no_mirror) -> str:
    return r.article(a, mirrored)[page_path(a.category, a.id)].decode("utf-8")


def promo_lines(page: str) -> list[str]:
    return [ln for ln in page.splitlines() if ln.startswith("#### [") and "&nbsp;" not in ln]


# -- the article page ---------------------------------------------------------------------------------


def test_article_page_parts_in_order(tmp_path):
    cfg = make_config(tmp_path, site='base_url = "https://mirror.example/m/"', extra=PROMOS)
    a = make_article(image="https://src.example/lead.jpg", caption="头图说明", published=datetime(
        2024, 4, 30, 20, 0, tzinfo=UTC), fetched_at=datetime(2024, 5, 1, 1, 2, tzinfo=UTC))
    page = page_text(Renderer(cfg), a)
    marks = [
        "### 标题n1\n",  # title
        "[首页](../../README.md)",  # nav
        "![标题n1](https://src.example/lead.jpg)",  # lead image
        "_头图说明_",  # caption
        "#### [★ 固定推广](https://fixed.example/)",  # promos
        "正文n1第一段",  # body
        "正文n1第二段",
        "手机上长按并复制下列链接或二维码分享本文章：",  # share line
        "https://mirror.example/m/pages/intl/n1.md <br/>",  # the share URL
        "[![二维码 QR code](n1.png)](https://mirror.example/m/pages/intl/n1.md)",  # QR link
        "原文地址（需翻墙访问）：https://src.example/n1.html",  # original URL
        "<sub>发布 2024-05-01 04:00 · 镜像 2024-05-01 01:02 UTC · 来源 src-rss · 内容 sha256:abababababababab</sub>",
        "<!-- newsmirror {",  # machine-readable provenance
    ]
    positions = [page.find(m) for m in marks]
    assert -1 not in positions, [m for m, p in zip(marks, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert page.startswith("### 标题n1\n")
    # the nav again after the provenance line
    nav_at = [m.start() for m in re.finditer(re.escape("[首页](../../README.md)"), page)]
    assert len(nav_at) == 2 and nav_at[1] > positions[-2]
    assert page.count("[国际](../../indexes/intl.md)") == 2
    assert page.count("[热点推荐](../../indexes/hot.md)") == 2
    assert "[文化]" not in page  # an article's nav names only its own category
    assert "[](" not in page


def test_article_without_image_promos_or_base_url(tmp_path):
    r = Renderer(make_config(tmp_path))
    a = make_article()
    files = r.article(a, no_mirror)
    assert list(files) == ["pages/intl/n1.md"]  # no QR code without a base URL
    page = files["pages/intl/n1.md"].decode()
    assert "![" not in page and "QR code" not in page
    assert "<hr/>" in page and promo_lines(page) == []
    # the share line then shows the page's own path
    assert "手机上长按并复制下列链接或二维码分享本文章：<br/>\npages/intl/n1.md <br/>" in page
    assert "<img" not in page  # no counter pixel


def test_qr_code_png_with_a_base_url(tmp_path):
    r = Renderer(make_config(tmp_path, site='base_url = "https://mirror.example/m"'))
    files = r.article(make_article(id="a9", category="culture"), no_mirror)
    assert set(files) == {"pages/culture/a9.md", "pages/culture/a9.png"}
    png = files[qr_path("culture", "a9")]
    assert png.startswith(PNG)
    assert png == qr_png("https://mirror.example/m/pages/culture/a9.md")
    assert qr_says(png) == "https://mirror.example/m/pages/culture/a9.md"  # what a phone reads
    assert png != qr_png("https://mirror.example/m/pages/culture/a8.md")


def qr_says(png: bytes) -> str | None:
    """Decode a QR PNG the way a phone's scanner does (zxing-cpp's reader)."""
    found = zxingcpp.read_barcode(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text if found and found.valid else None


@pytest.mark.parametrize("text", ["https://m.example/p/a1.md", "https://mirror.example/新闻/pages/intl/a103612902.md",
                                  "https://codeberg.page/x/" + "long-" * 80 + ".md"])
def test_qr_code_decodes_to_the_share_url(text):
    png = qr_png(text)
    assert png.startswith(PNG)
    img = Image.open(io.BytesIO(png))
    assert img.mode == "1" and img.width == img.height and img.width >= 21 * 4
    assert qr_says(png) == text


def test_share_url(tmp_path):
    assert Renderer(make_config(tmp_path)).share_url("pages/intl/n1.md") is None
    r = Renderer(make_config(tmp_path, site='base_url = "https://mirror.example/m/"'))
    assert r.share_url("pages/intl/n1.md") == "https://mirror.example/m/pages/intl/n1.md"


def test_body_links_follow_the_mirror_policy_relative_to_the_page(tmp_path):
    r = Renderer(make_config(tmp_path))
    body = ('<p>见<a href="https://src.example/n2.html">同类</a>、<a href="https://src.example/n3.html">文化</a>、'
            '<a href="https://src.example/n1.html">本文</a>和<a href="https://else.example/x">外站</a></p>')
    ours = {"https://src.example/n2.html": ("intl", "n2"), "https://src.example/n3.html": ("culture", "n3"),
            "https://src.example/n1.html": ("intl", "n1")}
    page = page_text(r, make_article(body_html=body), ours.get)
    assert "[同类](n2.md)" in page
    assert "[文化](../culture/n3.md)" in page
    assert "[本文](https://src.example/n1.html)" in page  # never a link to itself
    assert "[外站](https://else.example/x)" in page


@pytest.mark.parametrize("policy, expected", [
    ("keep", "[同类](https://src.example/n2.html)"),
    ("neutralize", "见同类。"),
    ("drop", "见。"),
])
def test_body_links_follow_other_policies(tmp_path, policy, expected):
    r = Renderer(make_config(tmp_path, site=f'link_policy = "{policy}"'))
    page = page_text(r, make_article(body_html='<p>见<a href="https://src.example/n2.html">同类</a>。</p>'),
                     {"https://src.example/n2.html": "pages/intl/n2.md"}.get)
    assert expected in page
    assert "n2.md" not in page


def test_title_and_caption_are_escaped(tmp_path):
    r = Renderer(make_config(tmp_path))
    page = page_text(r, make_article(title="标题 *星* [注]", image="https://src.example/a b.jpg", caption="图_说"))
    assert page.startswith("### 标题 \\*星\\* \\[注\\]\n")
    assert "![标题 \\*星\\* \\[注\\]](https://src.example/a%20b.jpg)" in page
    assert "_图\\_说_" in page


def test_provenance_comment_is_json_and_cannot_close_the_comment(tmp_path):
    r = Renderer(make_config(tmp_path))
    a = make_article(url="https://src.example/a--b-->.html", extracted_by="rules")
    page = page_text(r, a)
    m = re.search(r"<!-- newsmirror (\{.*\}) -->\n$", page)
    assert m
    assert page.count("-->") == 1
    data = json.loads(m.group(1))
    assert data["url"] == "https://src.example/a--b-->.html"  # kept exactly
    assert data["id"] == "n1" and data["source"] == "src-rss" and data["extracted_by"] == "rules"
    assert data["published"] == "2024-01-01T00:00:00+00:00"
    assert data["content_sha256"] == "ab" * 32
    assert data["generator"].startswith("newsmirror ")


def test_a_hostile_original_address_cannot_hide_the_footer_or_make_markup(tmp_path):
    r = Renderer(make_config(tmp_path))
    url = "https://src.example/x<!--y*z*[a]`b` c"
    page = page_text(r, make_article(canonical_url=url))
    html = MarkdownIt("gfm-like", {"linkify": False}).render(page)
    assert "https://src.example/x%3C!%2Dy" not in page  # nothing more than needed is changed
    assert "https://src.example/x%3C!--y%2Az%2A%5Ba%5D%60b%60%20c" in page
    assert "<!--y" not in html and "<em>" not in html and "<code>" not in html
    assert html.count("热点推荐") == 2  # the navigation under it is still shown


def test_unsafe_ids_and_categories_are_refused(tmp_path):
    r = Renderer(make_config(tmp_path))
    for bad in ("../evil", "a/b", "..", "", ".hidden", "a b"):
        with pytest.raises(ValueError):
            r.article(make_article(id=bad), no_mirror)
        with pytest.raises(ValueError):
            page_path("intl", bad)
        with pytest.raises(ValueError):
            qr_path("intl", bad)
        with pytest.raises(ValueError):
            category_path(bad)
        with pytest.raises(ValueError):
            rel(HOME, page_path("intl", bad))
    with pytest.raises(ValueError):
        page_path("../intl", "n1")


def test_paths_and_rel():
    assert page_path("intl", "a103612902") == "pages/intl/a103612902.md"
    assert qr_path("intl", "a103612902") == "pages/intl/a103612902.png"
    assert category_path("culture") == "indexes/culture.md"
    assert rel(HOME, page_path("intl", "n1")) == "pages/intl/n1.md"
    assert rel(page_path("intl", "n1"), HOME) == "../../README.md"
    assert rel(page_path("intl", "n1"), page_path("culture", "n2")) == "../culture/n2.md"
    assert rel(page_path("intl", "n1"), page_path("intl", "n2")) == "n2.md"
    assert rel(HOT, category_path("intl")) == "intl.md"
    assert rel(ARCHIVE, HOME) == "../../README.md"


# -- promos ---------------------------------------------------------------------------------------------


def test_promos_are_the_fixed_ones_then_random_picks(tmp_path):
    cfg = make_config(tmp_path, extra=PROMOS)
    page = page_text(Renderer(cfg), make_article(id="n7"))
    lines = promo_lines(page)
    assert len(lines) == 4
    assert lines[0] == "#### [★ 固定推广](https://fixed.example/)"
    assert lines[1] == "#### [站内指南](../../docs/guide.md)"
    picks = [re.match(r"#### \[(池\d)\]\((https://pool\d\.example/)\)$", ln) for ln in lines[2:]]
    assert all(picks)
    names = [m.group(1) for m in picks]
    assert len(set(names)) == 2
    assert all(m.group(2) == f"https://pool{m.group(1)[1:]}.example/" for m in picks)


def test_random_promos_are_stable_per_article(tmp_path):
    cfg = make_config(tmp_path, extra=PROMOS)
    first = promo_lines(page_text(Renderer(cfg), make_article(id="n7")))
    again = promo_lines(page_text(Renderer(make_config(tmp_path, extra=PROMOS)), make_article(id="n7", day=3)))
    assert first == again


def test_random_promos_vary_between_articles(tmp_path):
    r = Renderer(make_config(tmp_path, extra=PROMOS))
    seen = {tuple(p["title"] for p in r.promos(page_path("intl", f"n{i}"), f"n{i}")[2:]) for i in range(30)}
    assert len(seen) > 1
    assert all(len(s) == 2 for s in seen)


def test_random_count_larger_than_the_pool(tmp_path):
    extra = PROMOS.replace("random = 2", "random = 20")
    r = Renderer(make_config(tmp_path, extra=extra))
    titles = [p["title"] for p in r.promos("pages/intl/n1.md", "n1")]
    assert len(titles) == 2 + 8
    assert sorted(titles[2:]) == sorted(f"池{i}" for i in range(8))


# -- tag links and the counter pixel ---------------------------------------------------------------


NAV = """
[[site.nav]]
title = "使用指南"
url = "https://guide.example/readme.md"

[[site.nav]]
title = "关于"
url = "about.md"
"""


def test_tag_links_tag_only_internal_links(tmp_path):
    cfg = make_config(tmp_path, site="tag_links = true" + NAV, extra=PROMOS)
    page = page_text(Renderer(cfg), make_article(id="n5"))
    assert page.count("[首页](../../README.md?n5)") == 2
    assert page.count("[国际](../../indexes/intl.md?n5)") == 2
    assert page.count("[热点推荐](../../indexes/hot.md?n5)") == 2
    assert page.count("[关于](../../about.md?n5)") == 2
    assert page.count("[使用指南](https://guide.example/readme.md)") == 2
    assert "#### [站内指南](../../docs/guide.md?n5)" in page
    assert "#### [★ 固定推广](https://fixed.example/)" in page
    assert not re.search(r"https://[^)\s]*\?n5", page)  # no external link carries the tag


def test_without_tag_links_no_link_is_tagged(tmp_path):
    cfg = make_config(tmp_path, site=NAV, extra=PROMOS)
    page = page_text(Renderer(cfg), make_article(id="n5"))
    assert "?n5" not in page
    assert page.count("[关于](../../about.md)") == 2


def test_counter_pixel_only_when_configured(tmp_path):
    page = page_text(Renderer(make_config(tmp_path)), make_article(id="n5"))
    assert "<img" not in page and "counter" not in page
    cfg = make_config(tmp_path, site='counter_url = "https://counter.example/{path}?i={id}"')
    page = page_text(Renderer(cfg), make_article(id="n5"))
    pixel = '<img src="https://counter.example/pages/intl/n5.md?i=n5" width="0" height="0" alt=""/>'
    assert page.count(pixel) == 1
    assert page.index(pixel) > page.rindex("[首页](../../README.md)")


def test_overridden_article_template_is_used(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/article.md.j2").write_text("自定义 {{ a.title | md }}\n{{ body }}", encoding="utf-8")
    r = Renderer(make_config(tmp_path))
    page = page_text(r, make_article())
    assert page.startswith("自定义 标题n1\n")
    assert "正文n1第一段" in page


def test_fingerprint_changes_with_site_and_templates(tmp_path):
    base = Renderer(make_config(tmp_path)).fingerprint()
    assert Renderer(make_config(tmp_path)).fingerprint() == base
    assert Renderer(make_config(tmp_path, site='share_text = "分享："')).fingerprint() != base
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/hot.md.j2").write_text("# hot\n", encoding="utf-8")
    assert Renderer(make_config(tmp_path)).fingerprint() != base


# -- indexes ---------------------------------------------------------------------------------------------


def kept_articles() -> list[StoredArticle]:
    """Newest first, as the pipeline hands them over."""
    arts = [
        make_article("n6", "intl", day=45.1),
        make_article("n5", "culture", day=40, pick=True),
        make_article("n4", "intl", day=35, pick=True),
        make_article("n3", "intl", day=10),
        make_article("n2", "culture", day=5, published=None, first_seen=T0 + timedelta(days=5)),
        make_article("n1", "intl", day=2),
    ]
    return sorted(arts, key=lambda a: a.sort_date, reverse=True)


def indexes(tmp_path: Path, counts: dict[str, int] | None = None, site: str = "") -> dict[str, str]:
    r = Renderer(make_config(tmp_path, site=site))
    return {k: v.decode("utf-8") for k, v in r.indexes(kept_articles(), counts, "counts.json").items()}


def entry_ids(text: str) -> list[str]:
    return re.findall(r"\]\((?:\.\./)*pages/\w+/(\w+)\.md\)", text)


def test_index_files(tmp_path):
    files = indexes(tmp_path)
    assert set(files) == {HOME, "indexes/intl.md", "indexes/culture.md", HOT, ARCHIVE,
                          "indexes/archive/2024-02.md", "indexes/archive/2024-01.md"}


def test_home_lists_picks_and_latest(tmp_path):
    home = indexes(tmp_path)[HOME]
    assert home.startswith("# 测试镜像\n")
    picks, latest = home.split("## 编辑推荐")[1].split("## 最新文章")
    assert entry_ids(picks) == ["n5", "n4"]
    assert entry_ids(latest) == ["n6", "n5", "n4", "n3", "n2", "n1"]
    assert "- 2024-02-15 [标题n6](pages/intl/n6.md) <sub>国际</sub>" in latest
    assert "- 2024-02-10 [标题n5](pages/culture/n5.md) <sub>文化</sub>" in latest
    assert "[文章存档](indexes/archive/README.md)" in home and "[文化](indexes/culture.md)" in home
    assert "6 篇文章" in home


def test_home_latest_limit_and_no_picks(tmp_path):
    r = Renderer(make_config(tmp_path, site="home_latest = 2"))
    arts = [a for a in kept_articles() if not a.pick]
    home = r.indexes(arts, None)[HOME].decode()
    assert "## 编辑推荐" not in home
    assert entry_ids(home) == ["n6", "n3"]


def test_empty_indexes(tmp_path):
    r = Renderer(make_config(tmp_path))
    files = {k: v.decode() for k, v in r.indexes([], None).items()}
    assert "暂无文章" in files[HOME] and "暂无文章" in files["indexes/intl.md"] and "暂无文章" in files[HOT]
    assert not any(k.startswith("indexes/archive/2") for k in files)


def test_category_pages_newest_first_with_dates(tmp_path):
    files = indexes(tmp_path)
    intl = files["indexes/intl.md"]
    assert intl.startswith("# 国际\n")
    assert entry_ids(intl) == ["n6", "n4", "n3", "n1"]
    entries = [ln for ln in intl.splitlines() if ln.startswith("- ")]
    assert entries == ["- 2024-02-15 [标题n6](../pages/intl/n6.md)", "- 2024-02-05 [标题n4](../pages/intl/n4.md)",
                       "- 2024-01-11 [标题n3](../pages/intl/n3.md)", "- 2024-01-03 [标题n1](../pages/intl/n1.md)"]
    culture = files["indexes/culture.md"]
    assert entry_ids(culture) == ["n5", "n2"]
    assert "- 2024-01-06 [标题n2](../pages/culture/n2.md)" in culture  # no published date: first seen
    assert "[首页](../README.md)" in intl and "[热点推荐](hot.md)" in intl


def test_dates_are_shown_in_beijing_time(tmp_path):
    r = Renderer(make_config(tmp_path))
    late = make_article("n9", "intl", published=datetime(2024, 1, 31, 20, 0, tzinfo=UTC))
    files = {k: v.decode() for k, v in r.indexes([late], None).items()}
    assert "- 2024-02-01 [标题n9]" in files["indexes/intl.md"]
    assert "indexes/archive/2024-02.md" in files and "indexes/archive/2024-01.md" not in files


def test_hot_page_without_counts_is_by_recency(tmp_path):
    hot = indexes(tmp_path)[HOT]
    assert "ranked by recency" in hot
    assert "次阅读" not in hot
    assert entry_ids(hot) == ["n6", "n5", "n4", "n3", "n2", "n1"]
    assert "1. 2024-02-15 [标题n6](../pages/intl/n6.md)" in hot


def test_hot_page_orders_by_counts_then_date(tmp_path):
    counts = {"pages/intl/n1.md": 7, "pages/intl/n3.md": 7, "pages/culture/n2.md": 30, "pages/intl/n6.md": 1}
    hot = indexes(tmp_path, counts)[HOT]
    assert "ranked by views" in hot and "counts.json" in hot
    assert "recency" not in hot
    assert entry_ids(hot) == ["n2", "n3", "n1", "n6", "n5", "n4"]  # 30, 7 (newer), 7, 1, then 0s newest first
    assert "1. 2024-01-06 [标题n2](../pages/culture/n2.md) <sub>30 次阅读</sub>" in hot
    assert "[标题n3](../pages/intl/n3.md) <sub>7 次阅读</sub>" in hot
    assert "[标题n4](../pages/intl/n4.md) <sub>0 次阅读</sub>" in hot


def test_hot_limit(tmp_path):
    hot = indexes(tmp_path, {"pages/intl/n1.md": 3}, site="hot_limit = 2")[HOT]
    assert entry_ids(hot) == ["n1", "n6"]


def test_archive_pages_by_month(tmp_path):
    files = indexes(tmp_path)
    archive = files[ARCHIVE]
    assert archive.startswith("# 文章存档\n")
    assert "- [2024-02](2024-02.md) <sub>3</sub>" in archive
    assert "- [2024-01](2024-01.md) <sub>3</sub>" in archive
    assert archive.index("2024-02.md") < archive.index("2024-01.md")
    feb = files["indexes/archive/2024-02.md"]
    assert feb.startswith("# 文章存档 2024-02\n")
    assert entry_ids(feb) == ["n6", "n5", "n4"]
    assert "- 2024-02-10 [标题n5](../../pages/culture/n5.md) <sub>文化</sub>" in feb
    assert entry_ids(files["indexes/archive/2024-01.md"]) == ["n3", "n2", "n1"]
    assert "[首页](../../README.md)" in feb


def test_every_relative_index_link_resolves_inside_the_tree(tmp_path):
    files = indexes(tmp_path)
    arts = kept_articles()
    tree = set(files) | {page_path(a.category, a.id) for a in arts}
    for path, text in files.items():
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if "://" in link:
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(path), link.split("?")[0]))
            assert target in tree, (path, link, target)


def test_the_feeds_stay_valid_xml_and_json_whatever_a_title_holds(tmp_path):
    from newsmirror.render import renderers_for

    cfg = make_config(tmp_path, site='formats = ["markdown", "html"]\nhtml_url = "https://news.example/m"')
    cfg.site.title = "新闻 镜像"
    html = [r for r in renderers_for(cfg) if r.layout.format == "html"][0]
    arts = [make_article("n1", title="控制\x01\x1b字符\uffff与\ufffe ]]> <b>&amp;"), make_article("n2", day=1)]
    files = html.indexes(arts, None)
    atom = lxml.etree.fromstring(files["site/feed.xml"])  # raises on a character XML does not allow
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in atom.iter("{http://www.w3.org/2005/Atom}entry")]
    assert "控制字符与 ]]> <b>&amp;" in titles
    assert " " not in atom.findtext("{http://www.w3.org/2005/Atom}id")  # an IRI: no spaces in it
    feed = json.loads(files["site/feed.json"])
    assert len(feed["items"]) == 2


def test_nav_links_to_pages_of_the_tree_lead_to_this_formats_pages(tmp_path):
    from newsmirror.render import renderers_for

    nav = "".join(f'\n[[site.nav]]\ntitle = "{t}"\nurl = "{u}"\n' for t, u in [
        ("首页", "README.md"), ("归档", "indexes/archive/README.md"), ("指南", "docs/guide.md"),
        ("一篇", "pages/intl/n1.md")])
    cfg = make_config(tmp_path, site='formats = ["markdown", "html"]\nbase_url = "https://github.com/o/r/blob/main"',
                      extra=nav)
    md, html = renderers_for(cfg)[:2]
    here = html.layout.page("intl", "n2")
    hrefs = {item.label: item.href for item in html.nav(here) if item.label in ("首页", "归档", "指南", "一篇")}
    resolved = {t: posixpath.normpath(posixpath.join(posixpath.dirname(here), h)) for t, h in hrefs.items()
                if "://" not in h}
    assert resolved == {"首页": "site/index.html", "归档": "site/indexes/archive/index.html",
                        "一篇": "site/pages/intl/n1.html"}
    assert hrefs["指南"] == "https://github.com/o/r/blob/main/docs/guide.md"  # not copied into the site
    md_here = md.layout.page("intl", "n2")
    md_hrefs = {item.label: item.href for item in md.nav(md_here)}
    assert md_hrefs["指南"] == "../../docs/guide.md" and md_hrefs["首页"] == "../../README.md"
