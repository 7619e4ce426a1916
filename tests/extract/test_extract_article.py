"""extract(): the seed page, per-source rules, the generic fallback, and pages that are no article."""

from __future__ import annotations

from datetime import datetime

import lxml.html
import pytest

from newsmirror.config import Rules
from newsmirror.dates import CN_TZ
from newsmirror.extract import ExtractError, extract
from newsmirror.models import Article
from tests.conftest import NTD

SEED_URL = "https://www.ntdtv.com/gb/2023/01/01/a103612902.html"
SEED_TITLE = "普京邀习近平访俄 中国官媒只字未提"
SEED_IMAGE = "https://i.ntdtv.com/assets/uploads/2023/01/GettyImages-1245879927-800x450.jpg"
URL = "https://s.example/news/2023/01/05/n1.html"
PARA = "这是一段足够长的正文内容，用来测试提取器能否正确地找出文章的主体部分。"


def seed_html() -> str:
    return (NTD / "a103612902.html").read_text(encoding="utf-8")


def paragraphs(body_html: str) -> list[str]:
    frag = lxml.html.fragment_fromstring(body_html, create_parent="div")
    return [" ".join(p.text_content().split()) for p in frag.iter("p")]


def text_of(body_html: str) -> str:
    return lxml.html.fragment_fromstring(body_html, create_parent="div").text_content()


# -- the seed page ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Article:
    return extract(seed_html(), SEED_URL)


def test_seed_title_date_image_caption(seed):
    assert seed.title == SEED_TITLE
    assert seed.published == datetime(2023, 1, 1, 2, 18, 36, tzinfo=CN_TZ)
    assert seed.published.isoformat() == "2023-01-01T02:18:36+08:00"
    assert seed.updated == datetime(2023, 1, 1, 2, 25, 10, tzinfo=CN_TZ)
    assert seed.image == SEED_IMAGE
    assert seed.caption is not None and seed.caption.startswith("2022年12月30日")
    assert seed.caption.endswith("(MIKHAIL KLIMENTYEV/SPUTNIK/AFP via Getty Images)")
    assert seed.canonical_url == SEED_URL
    assert seed.url == SEED_URL
    assert seed.language == "zh-Hans"
    assert seed.author is None  # the JSON-LD author is an Organization
    assert seed.extracted_by == "generic"
    assert seed.notes == []


def test_seed_body_is_the_ten_paragraphs_and_nothing_else(seed):
    paras = paragraphs(seed.body_html)
    assert len(paras) == 10
    assert paras[0].startswith("【新唐人北京时间2023年01月01日讯】俄罗斯总统普京30日")
    assert paras[-1] == "（责任编辑：卢勇信）"
    text = text_of(seed.body_html)
    for junk in ("标签", "相关文章", "热门新闻", "关于我们", "版权所有", "点击订阅", "广告", "评论", "打印",
                 "全国多地医院告急"):
        assert junk not in text, junk
    assert "<script" not in seed.body_html
    assert "GettyImages-1245879927" not in seed.body_html  # the lead image is shown above the body, not in it


def test_seed_body_does_not_repeat_the_title_or_the_caption(seed):
    text = text_of(seed.body_html)
    assert "MIKHAIL KLIMENTYEV" not in text  # the caption is shown with the lead image, above the body
    assert SEED_TITLE not in text
    assert text.strip().startswith("【新唐人北京时间2023年01月01日讯】")


def test_seed_body_keeps_the_in_text_links(seed):
    frag = lxml.html.fragment_fromstring(seed.body_html, create_parent="div")
    hrefs = frag.xpath("//a/@href")
    assert hrefs and all(h.startswith("https://www.ntdtv.com/gb/") for h in hrefs)
    assert [a.text for a in frag.iter("a")][:4] == ["俄罗斯", "普京", "中国国家主席", "习近平"]


def test_seed_with_tracking_url_gets_a_clean_canonical():
    a = extract(seed_html(), SEED_URL + "?utm_source=feed#top")
    assert a.canonical_url == SEED_URL
    assert a.url == SEED_URL


@pytest.mark.parametrize("bad", ["javascript:alert(document.domain)", "data:text/html,<script>x</script>",
                                 "vbscript:msgbox", "//"])
def test_a_canonical_link_or_lead_image_that_is_not_http_is_not_taken(bad):
    html = seed_html().replace('<head>', f'<head><link rel="canonical" href="{bad}">'
                                         f'<meta property="og:image" content="{bad}">', 1)
    art = extract(html, SEED_URL)
    assert art.canonical_url == SEED_URL
    assert art.image is None or art.image.startswith("https://")


def test_package_api_extract():
    a = extract(seed_html(), SEED_URL)
    assert isinstance(a, Article)
    assert a.title == SEED_TITLE
    assert len(paragraphs(a.body_html)) == 10
    with pytest.raises(ExtractError):
        extract("", SEED_URL)


# -- rules -------------------------------------------------------------------------------------------

RULES_PAGE = f"""<html><head><title>页面标题 | 某网站</title>
<meta property="og:image" content="https://s.example/img/og.jpg"></head><body>
<header><h1 class="logo">某网站</h1></header>
<div class="headline"><h2 class="t">规则 标题</h2><span class="d">发布时间：2023-01-05 08:30</span></div>
<div class="lead"><img data-src="/img/lead.jpg"><p class="c">规则图说</p></div>
<div class="content">
 <figure><img src="https://s.example/img/lead.jpg?w=800"><figcaption>正文里重复的头图</figcaption></figure>
 <p>{PARA}</p>
 <div class="junk">这个区块是规则要删掉的推广内容，不应出现在正文里</div>
 <p>{PARA}第二段。</p>
 <p><img src="/img/other.jpg" alt="另一张图"></p>
</div>
</body></html>"""


def test_rules_are_used_when_they_match():
    rules = Rules(body="div.content", title="h2.t", date="span.d", image="div.lead img", caption="p.c",
                  remove=[".junk"])
    a = extract(RULES_PAGE, URL, rules)
    assert a.extracted_by == "rules"
    assert a.notes == []
    assert a.title == "规则 标题"
    assert a.published == datetime(2023, 1, 5, 8, 30, tzinfo=CN_TZ)
    assert a.image == "https://s.example/img/lead.jpg"  # the rule's image (lazy, made absolute), not og:image
    assert a.caption == "规则图说"
    paras = paragraphs(a.body_html)
    assert paras[0] == PARA and paras[1] == PARA + "第二段。"
    assert "推广内容" not in a.body_html  # rules.remove
    assert "正文里重复的头图" not in a.body_html and "lead.jpg" not in a.body_html  # the repeated lead image
    assert "/img/other.jpg" in a.body_html  # other images stay


def test_rules_date_from_a_datetime_attribute():
    page = RULES_PAGE.replace('<span class="d">发布时间：2023-01-05 08:30</span>',
                              '<time class="d" datetime="2023-01-06T09:10:11+08:00">昨天</time>')
    a = extract(page, URL, Rules(body="div.content", date="time.d"))
    assert a.published == datetime(2023, 1, 6, 9, 10, 11, tzinfo=CN_TZ)
    assert a.extracted_by == "rules"


def test_rules_image_selector_on_a_container():
    page = RULES_PAGE.replace('<p class="c">', '<p class="img-desc">')
    a = extract(page, URL, Rules(body="div.content", image="div.lead"))
    assert a.image == "https://s.example/img/lead.jpg"
    assert a.caption == "规则图说"  # found near the rule's image


def test_rules_that_miss_some_fields_fall_back_to_page_meta_and_say_so():
    rules = Rules(body="div.content", title="h1.nope", date="span.nope", caption="p.nope")
    a = extract(RULES_PAGE, URL, rules)
    assert a.extracted_by == "rules"  # the body still matched
    assert a.title == "页面标题"  # from <title>, without the site tail (the logo h1 is not the title)
    assert len(a.notes) == 1
    note = a.notes[0]
    assert note.startswith("rules stopped matching")
    assert "'h1.nope'" in note and "'span.nope'" in note and "'p.nope'" in note


def test_a_body_rule_that_matches_nothing_falls_back_to_generic():
    a = extract(RULES_PAGE, URL, Rules(body="div.redesigned-body", title="h2.t"))
    assert a.extracted_by == "generic (rules failed)"
    assert any("div.redesigned-body" in n and "matched nothing" in n for n in a.notes)
    assert PARA in text_of(a.body_html)
    assert a.title == "规则 标题"


def test_a_body_rule_that_matches_only_a_stub_falls_back_to_generic():
    page = RULES_PAGE.replace('<div class="content">', '<div class="stub">短</div><div class="content">')
    a = extract(page, URL, Rules(body="div.stub"))
    assert a.extracted_by == "generic (rules failed)"
    assert any("div.stub" in n and "no text" in n for n in a.notes)
    assert PARA in text_of(a.body_html)


def test_a_body_rule_matching_several_nodes_keeps_them_all():
    page = f"""<html><head><title>多段文章的标题</title></head><body>
    <div class="part">第一部分：{PARA}</div><aside>侧栏</aside><div class="part">第二部分：{PARA}</div></body></html>"""
    a = extract(page, URL, Rules(body="div.part"))
    assert a.extracted_by == "rules"
    text = text_of(a.body_html)
    assert "第一部分" in text and "第二部分" in text and "侧栏" not in text
    assert text.index("第一部分") < text.index("第二部分")


# -- the lead image in the generic body -------------------------------------------------------------


def test_the_lead_image_repeated_in_the_body_is_removed():
    page = f"""<html><head><title>一篇带图的新闻报道</title>
    <meta property="og:image" content="https://cdn.example/up/lead-photo.jpg"></head><body><article>
    <h1>一篇带图的新闻报道</h1>
    <figure><img src="https://cdn.example/up/lead-photo.jpg"><figcaption>头图说明</figcaption></figure>
    <p>{PARA}</p><p>{PARA}这是第二段。</p>
    <p><img src="https://cdn.example/up/second-photo.jpg" alt="第二张"></p><p>{PARA}这是第三段。</p>
    </article></body></html>"""
    a = extract(page, URL)
    assert a.image == "https://cdn.example/up/lead-photo.jpg"
    assert a.caption == "头图说明"
    assert "lead-photo.jpg" not in a.body_html
    assert PARA in text_of(a.body_html)


# -- pages that are no article ------------------------------------------------------------------------


@pytest.mark.parametrize("html", ["", "   \n\t "])
def test_an_empty_page(html):
    with pytest.raises(ExtractError) as exc:
        extract(html, URL)
    assert exc.value.reason == "empty page"


def test_a_javascript_shell():
    html = ('<html><head><title>应用</title><script src="app.js"></script></head><body><div id="app"></div>'
            "<noscript>请启用 JavaScript</noscript><script>render()</script></body></html>")
    with pytest.raises(ExtractError) as exc:
        extract(html, URL)
    assert "JavaScript shell" in exc.value.reason


def test_a_page_with_only_a_nav_list():
    items = "".join(f'<li><a href="/c{i}">栏目{i}</a></li>' for i in range(8))
    html = f"<html><head><title>首页</title></head><body><nav><ul>{items}</ul></nav></body></html>"
    with pytest.raises(ExtractError) as exc:
        extract(html, URL)
    assert exc.value.reason.startswith("no article body found")
    assert "JavaScript" not in exc.value.reason


def test_the_three_failures_have_distinct_reasons():
    reasons = set()
    for html in ("", '<html><body><div id="app"></div><script>x()</script></body></html>',
                 '<html><body><nav><ul><li><a href="/a">新闻</a></li></ul></nav></body></html>'):
        with pytest.raises(ExtractError) as exc:
            extract(html, URL)
        assert str(exc.value) == exc.value.reason
        reasons.add(exc.value.reason)
    assert len(reasons) == 3


def test_a_body_without_any_title_is_an_error():
    html = f"<html><body><article><p>{PARA}</p><p>{PARA}第二段。</p><p>{PARA}第三段。</p></article></body></html>"
    with pytest.raises(ExtractError) as exc:
        extract(html, URL)
    assert exc.value.reason == "no title found"


def test_remove_rules_clean_the_page_for_the_generic_extractor_when_the_body_rule_fails():
    a = extract(RULES_PAGE, URL, Rules(body="div.redesigned-body", remove=[".junk"]))
    assert a.extracted_by == "generic (rules failed)"
    assert PARA in text_of(a.body_html) and "推广内容" not in a.body_html


def test_remove_rules_apply_inside_every_body_match_and_can_drop_a_match():
    junk_match = '<div class="content junk">推广正文区块</div>'
    page = RULES_PAGE.replace('<div class="content">', junk_match + '<div class="content">')
    second = f'<div class="content"><p>{PARA}第三段。</p><div class="junk">又一个推广内容</div></div>'
    page = page.replace("</body>", second + "</body>")
    a = extract(page, URL, Rules(body="div.content", remove=[".junk"]))
    assert a.extracted_by == "rules"
    assert "推广" not in a.body_html  # the ad block in both matches, and the match that is itself junk
    assert PARA + "第二段。" in text_of(a.body_html) and PARA + "第三段。" in text_of(a.body_html)


def test_remove_rules_may_name_what_is_around_the_body():
    page = RULES_PAGE.replace('<div class="content">', '<div id="main"><div class="content">', 1)
    page = page.replace("</body>", "</div></body>")
    page = page.replace(f"<p>{PARA}第二段。</p>", f'<p>{PARA}第二段。</p><div class="share">分享到微博</div>', 1)
    assert page.count("分享到微博") == 1 and '<div id="main">' in page
    a = extract(page, URL, Rules(body="div.content", remove=["#main .share", "body .junk"]))
    assert a.extracted_by == "rules"
    assert "分享到微博" not in a.body_html and "推广内容" not in a.body_html
    assert PARA + "第二段。" in text_of(a.body_html)
