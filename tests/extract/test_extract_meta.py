"""Page metadata: parse_date, page_meta (JSON-LD, Open Graph, <time>), clean_title, caption_near."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import lxml.html
import pytest

from newsmirror.dates import CN_TZ, parse_date
from newsmirror.extract.meta import caption_near, clean_title, find_image_element, page_meta

URL = "https://news.example/gb/2023/01/05/a1.html"
SEED_TITLE = "普京邀习近平访俄 中国官媒只字未提"


def doc(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def meta_of(head: str, body: str = "<p>x</p>", url: str | None = URL, lang: str = ""):
    return page_meta(doc(f"<html{lang}><head>{head}</head><body>{body}</body></html>"), url)


def ld(obj: str) -> str:
    return f'<script type="application/ld+json">{obj}</script>'


# -- parse_date -------------------------------------------------------------------------------------


def test_parse_date_iso_with_zone_keeps_the_zone():
    got = parse_date("2023-01-01T02:18:36+08:00")
    assert got == datetime(2023, 1, 1, 2, 18, 36, tzinfo=CN_TZ)
    assert got.utcoffset() == timedelta(hours=8)


def test_parse_date_iso_utc_z():
    got = parse_date("2023-01-01T00:00:00Z")
    assert got == datetime(2023, 1, 1, tzinfo=UTC)
    assert got.utcoffset() == timedelta(0)


def test_parse_date_iso_without_zone_is_beijing_time():
    got = parse_date("2023-01-01T02:18:36")
    assert got is not None
    assert got.utcoffset() == timedelta(hours=8)
    assert (got.year, got.month, got.day, got.hour, got.minute, got.second) == (2023, 1, 1, 2, 18, 36)


def test_parse_date_chinese_date_and_time():
    assert parse_date("2019年12月10日 16:04") == datetime(2019, 12, 10, 16, 4, tzinfo=CN_TZ)


def test_parse_date_chinese_date_with_fullwidth_colon():
    assert parse_date("2019年12月10日 16：04") == datetime(2019, 12, 10, 16, 4, tzinfo=CN_TZ)


def test_parse_date_with_a_label_before_it():
    assert parse_date("发布时间：2023-01-05 08:30") == datetime(2023, 1, 5, 8, 30, tzinfo=CN_TZ)


def test_parse_date_slashes_without_padding_or_time():
    assert parse_date("2023/1/5") == datetime(2023, 1, 5, 0, 0, tzinfo=CN_TZ)


def test_parse_date_dotted():
    assert parse_date("更新 2023.01.05") == datetime(2023, 1, 5, tzinfo=CN_TZ)


@pytest.mark.parametrize("value", ["garbage", "", "   ", None, "昨天下午", "2023-13-45", "2023年13月45日"])
def test_parse_date_garbage_is_none(value):
    assert parse_date(value) is None


# -- page_meta: JSON-LD -----------------------------------------------------------------------------


def test_page_meta_from_jsonld_article():
    m = meta_of(ld('{"@context":"https://schema.org","@type":"NewsArticle","headline":" 标题 一 ",'
                   '"datePublished":"2023-02-03T04:05:06+08:00","dateModified":"2023-02-03T05:00:00+08:00",'
                   '"author":{"@type":"Person","name":"王五"},"image":["/img/a.jpg"],'
                   '"articleSection":"国际","articleBody":"全文"}')
                + '<meta property="og:title" content="OG 标题">')
    assert m.title == "标题 一"  # JSON-LD wins over og:title, whitespace collapsed
    assert m.published == datetime(2023, 2, 3, 4, 5, 6, tzinfo=CN_TZ)
    assert m.updated == datetime(2023, 2, 3, 5, 0, tzinfo=CN_TZ)
    assert m.author == "王五"
    assert m.image == "https://news.example/img/a.jpg"  # resolved against the page URL
    assert m.section == "国际"
    assert m.body_text == "全文"


def test_page_meta_jsonld_graph():
    m = meta_of(ld('{"@context":"https://schema.org","@graph":['
                   '{"@type":"WebSite","name":"站点"},'
                   '{"@type":"BreadcrumbList","itemListElement":[]},'
                   '{"@type":"NewsArticle","headline":"图谱里的标题","datePublished":"2023-02-03T04:05:06Z",'
                   '"author":[{"@type":"Person","name":"张三"}],'
                   '"image":{"@type":"ImageObject","url":"https://img.example/g.jpg"}}]}'))
    assert m.title == "图谱里的标题"
    assert m.published == datetime(2023, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert m.author == "张三"
    assert m.image == "https://img.example/g.jpg"


def test_page_meta_jsonld_top_level_list():
    m = meta_of(ld('[{"@type":"BreadcrumbList","name":"不是文章"},'
                   '{"@type":["Article"],"headline":"列表里的标题","datePublished":"2023-02-03 04:05",'
                   '"author":"李四"}]'))
    assert m.title == "列表里的标题"
    assert m.published == datetime(2023, 2, 3, 4, 5, tzinfo=CN_TZ)
    assert m.author == "李四"


def test_page_meta_ignores_organisation_author_and_non_article_types():
    m = meta_of(ld('{"@type":"WebPage","headline":"网页不是文章"}')
                + ld('{"@type":"NewsArticle","headline":"文章","author":{"@type":"Organization","name":"某台"}}'))
    assert m.title == "文章"
    assert m.author is None


def test_page_meta_survives_broken_jsonld():
    m = meta_of(ld('{"@type":"NewsArticle", broken') + '<meta property="og:title" content="备用标题">')
    assert m.title == "备用标题"


# -- page_meta: Open Graph / article:* / <time> -----------------------------------------------------


def test_page_meta_from_open_graph_without_jsonld():
    m = meta_of('<title>别的 | 站点</title><meta property="og:title" content="OG标题">'
                '<meta property="article:published_time" content="2023-03-04T05:06:07+09:00">'
                '<meta property="article:modified_time" content="2023-03-05T00:00:00+09:00">'
                '<meta property="og:image" content="/i/og.jpg"><meta property="og:site_name" content="某站">'
                '<meta name="description" content="摘要">', lang=' lang="zh-CN"')
    assert m.title == "OG标题"
    assert m.published == datetime(2023, 3, 4, 5, 6, 7, tzinfo=timezone(timedelta(hours=9)))
    assert m.updated == datetime(2023, 3, 5, tzinfo=timezone(timedelta(hours=9)))
    assert m.image == "https://news.example/i/og.jpg"
    assert m.site_name == "某站"
    assert m.description == "摘要"
    assert m.language == "zh-CN"


def test_page_meta_time_element_when_no_meta_date():
    m = meta_of("<title>标题很长的新闻 | 新唐人电视台</title>",
                '<time>没有日期</time><time datetime="2023-05-06T07:08:09+08:00">五月六日</time>')
    assert m.published == datetime(2023, 5, 6, 7, 8, 9, tzinfo=CN_TZ)


def test_page_meta_time_element_text():
    m = meta_of("<title>x</title>", "<time>2023年5月6日 07:08</time>")
    assert m.published == datetime(2023, 5, 6, 7, 8, tzinfo=CN_TZ)


def test_page_meta_title_from_title_tag_drops_site_tail():
    m = meta_of("<title>标题很长的新闻 | 新唐人电视台</title>")
    assert m.title == "标题很长的新闻"


def test_page_meta_title_from_h1_when_no_title_tag():
    m = meta_of("", "<h1>  只有 H1  标题 </h1>")
    assert m.title == "只有 H1 标题"


def test_page_meta_canonical_resolved_against_the_url():
    m = meta_of('<link rel="canonical" href="../06/a2.html">')
    assert m.canonical == "https://news.example/gb/2023/01/06/a2.html"
    m = meta_of('<link rel="canonical" href="/gb/a3.html">')
    assert m.canonical == "https://news.example/gb/a3.html"


def test_page_meta_canonical_falls_back_to_og_url():
    m = meta_of('<meta property="og:url" content="https://news.example/x.html">')
    assert m.canonical == "https://news.example/x.html"


def test_page_meta_url_author_is_dropped():
    m = meta_of('<meta property="article:author" content="https://facebook.com/someone">')
    assert m.author is None
    m = meta_of('<meta name="author" content="记者 赵六">')
    assert m.author == "记者 赵六"


def test_page_meta_empty_page_has_nothing():
    m = meta_of("", "")
    assert (m.title, m.published, m.image, m.canonical, m.author) == (None, None, None, None, None)


# -- clean_title ------------------------------------------------------------------------------------


def test_clean_title_drops_site_tail():
    assert clean_title(f"{SEED_TITLE} | 俄罗斯 | 普京 | 新唐人电视台", []) == SEED_TITLE


@pytest.mark.parametrize("sep", [" - ", " _ ", " – ", " — ", "｜", "|"])
def test_clean_title_separators(sep):
    assert clean_title(f"新闻标题示例{sep}网站名称", []) == "新闻标题示例"


def test_clean_title_prefers_the_h1_it_contains():
    assert clean_title(f"{SEED_TITLE} | 新唐人电视台", ["无关", SEED_TITLE]) == SEED_TITLE


def test_clean_title_a_logo_h1_with_the_site_name_is_not_the_title():
    assert clean_title(f"{SEED_TITLE} | 新唐人电视台", ["新唐人电视台"]) == SEED_TITLE


def test_clean_title_keeps_hyphenated_words_and_short_heads():
    assert clean_title("COVID-19 疫情最新消息", []) == "COVID-19 疫情最新消息"
    assert clean_title("AB | 网站名称", []) == "AB | 网站名称"  # a head too short to be a title


def test_clean_title_collapses_whitespace():
    assert clean_title("  新闻\n  标题   示例 ", []) == "新闻 标题 示例"


# -- caption_near / find_image_element --------------------------------------------------------------


def test_caption_near_figcaption():
    d = doc('<html><body><figure><img src="a.jpg"><figcaption> 图：  说明文字 </figcaption></figure>'
            "<figure><img src='b.jpg'><figcaption>别的图</figcaption></figure></body></html>")
    img = d.find(".//img")
    assert caption_near(img) == "图： 说明文字"


def test_caption_near_caption_class_sibling_like_the_seed():
    d = doc('<html><body><div class="featured_image"><figure><img src="lead.jpg"></figure>'
            '<span class="caption">2022年12月30日，说明。(Getty Images)</span></div></body></html>')
    assert caption_near(d.find(".//img")) == "2022年12月30日，说明。(Getty Images)"


def test_caption_near_other_caption_classes():
    d = doc('<html><body><div><img src="x.jpg"><p class="pic_desc">图片说明</p></div></body></html>')
    assert caption_near(d.find(".//img")) == "图片说明"


def test_caption_near_none_when_nothing_looks_like_a_caption():
    d = doc('<html><body><div><img src="x.jpg"><p>普通段落</p></div></body></html>')
    assert caption_near(d.find(".//img")) is None


def test_caption_near_skips_empty_captions():
    d = doc('<html><body><div><figure><img src="x.jpg"><figcaption> </figcaption></figure>'
            '<span class="credit">摄影：某人</span></div></body></html>')
    assert caption_near(d.find(".//img")) == "摄影：某人"


def test_find_image_element_matches_lazy_and_resized_variants():
    d = doc('<html><body><img src="/logo.png"><img data-src="/up/2023/lead.jpg?w=800" id="lead"></body></html>')
    el = find_image_element(d, "https://news.example/up/2023/lead.jpg", URL)
    assert el is not None and el.get("id") == "lead"
    assert find_image_element(d, "https://news.example/other.jpg", URL) is None
