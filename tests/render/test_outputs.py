"""A whole mirror read by the tools its readers use: every Markdown page rendered by GitHub's cmark-gfm and by
markdown-it shows the article's text and nothing else (no stray `**`, `|`, `\\`, `###`), and every page of the HTML
site parses as HTML5 without one error (html5lib, strict). The mirror is the demo site plus pages of the shapes
that broke real mirrors (`tests/fixtures/shapes/`: bold next to full-width punctuation, bold runs side by side, a
"|" in a title, tables that lay a page out, a linked picture that cannot be mirrored, an empty link), in both
scripts."""

from __future__ import annotations

import re
from pathlib import Path

import html5lib
import lxml.html
import pytest

from newsmirror.demo.server import DEMO_SITE, SiteServer
from tests.conftest import FIXTURES, write_config
from tests.renderers import RENDERERS, visible_text
from tests.test_pipeline import DEMO, cli_run

SHAPES = FIXTURES / "shapes"
SITE_EXTRA = ('formats = ["markdown", "html"]\nbase_url = "https://github.com/example/news/blob/main"\n'
              'variants = ["zh-Hans", "zh-Hant"]')


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    """The demo mirror with the shaped pages as editor's picks (a `urls` source), built once for this module."""
    tmp = tmp_path_factory.mktemp("outputs")
    with SiteServer(DEMO_SITE) as demo, SiteServer(SHAPES, []) as shapes:
        (tmp / "picks.txt").write_text(f"{shapes.base}/bold.html\n{shapes.base}/layout.html\n", encoding="utf-8")
        text = DEMO + '\n[categories.picks]\ntitle = "精选"\n\n[[sources]]\nname = "picks"\nkind = "urls"\n' \
                      'path = "picks.txt"\ncategory = "picks"\n'
        cfg = write_config(tmp, text, base=demo.base, site_extra=SITE_EXTRA)
        res = cli_run(cfg, "run")
    assert res.exit_code in (0, 1), res.output  # 1: the picture that cannot be mirrored (a 404) is a failure
    out = tmp / "out"
    assert len(list((out / "pages/picks").glob("*.md"))) == 2, res.output
    return out


def markdown_body(page: str) -> str:
    """The article body of one of our Markdown pages: between the last two `<hr/>` lines before the share line."""
    return page.split("\n<hr/>\n")[-2]


def html_body(page: Path) -> str:
    doc = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
    return lxml.html.tostring(doc.cssselect("div.body")[0], encoding="unicode")


def markdown_pages(out: Path) -> list[Path]:
    return sorted([*(out / "pages").rglob("*.md"), *(out / "zh-Hant/pages").rglob("*.md")])


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_every_markdown_page_shows_the_articles_text_in_every_renderer(mirror, renderer):
    render = RENDERERS[renderer]
    pages = markdown_pages(mirror)
    assert len(pages) == 16  # 8 articles, in both scripts
    for page in pages:
        md = page.read_text(encoding="utf-8")
        html = render(md)
        title = md.split("\n", 1)[0].removeprefix("### ")
        doc = lxml.html.fragment_fromstring(html, create_parent="div")
        assert doc[0].tag == "h3" and visible_text(lxml.html.tostring(doc[0], encoding="unicode")) == \
            visible_text(render(title)), f"{page}: the title is no heading"  # not a table (a "|" in it)
        shown = visible_text(html)
        for junk in ("**", "###", "\\", "|\n", "||"):
            assert junk not in shown, f"{page}: {junk!r} shown"
        # the body shows the text of the HTML site's body of the same article (the extracted text, sanitised)
        site_page = mirror / "site" / page.relative_to(mirror).with_suffix(".html")
        expected = visible_text(html_body(site_page))
        assert visible_text(render(markdown_body(md))) == expected, page
    bold = (mirror / "pages/picks").glob("*.md")
    shown = "".join(visible_text(render(p.read_text(encoding="utf-8"))) for p in bold)
    assert "算法方面，阿里巴巴" in shown and "科技|观察：推荐算法的边界" in shown


def test_emphasis_and_layout_tables_of_the_shaped_pages_come_through(mirror):
    for page in (mirror / "pages/picks").glob("*.md"):
        for renderer in RENDERERS.values():
            html = renderer(page.read_text(encoding="utf-8"))
            assert "<table" not in html  # the layout tables are unwrapped into their paragraphs
            if "算法" in html:
                strong = [visible_text(lxml.html.tostring(s, encoding="unicode", with_tail=False))
                          for s in lxml.html.fragment_fromstring(html, create_parent="div").iter("strong")]
                assert {"算法方面", "第一，数据", "信息茧房", "记者手记：算法不是"} <= set(strong), strong


def test_every_page_of_the_html_site_is_valid_html5(mirror):
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    pages = sorted((mirror / "site").rglob("*.html"))
    assert len(pages) > 30
    for page in pages:
        text = page.read_text(encoding="utf-8")
        try:
            doc = parser.parse(text)
        except html5lib.html5parser.ParseError as exc:
            line = text.splitlines()[parser.errors[-1][0][0] - 1] if parser.errors else ""
            pytest.fail(f"{page.relative_to(mirror)}: {exc}: {line[:200]}")
        for a in doc.iter("a"):
            assert a.find(".//a") is None, f"{page}: a link in a link"
            assert "".join(a.itertext()).strip() or a.find(".//img[@alt]") is not None, f"{page}: an empty link"
        assert not re.search(r"<a\b[^>]*>\s*</a>", text), page
