"""Script variants: OpenCC on rendered pages, leaving URLs, comments and marked spans alone."""

from __future__ import annotations

import pytest

from newsmirror.transform.script import ScriptConverter, keep
from tests.test_config import BASE, errors


def test_a_markdown_page_is_converted_but_not_its_urls():
    page = ("### 中国官媒只字未提\n\n[习近平](https://zh.wikipedia.org/wiki/习近平) 发表讲话，"
            "见 https://news.example/中国/发展.html 与 <https://news.example/头发>\n\n"
            "[![二维码](a1.png)](pages/国际/a1.md)\n<!-- newsmirror {\"title\": \"中国\"} -->\n")
    out = ScriptConverter("zh-Hant").page(page)
    assert out.startswith("### 中國官媒隻字未提")
    assert "[習近平](https://zh.wikipedia.org/wiki/习近平) 發表講話" in out
    assert "https://news.example/中国/发展.html" in out and "<https://news.example/头发>" in out
    assert "[![二維碼](a1.png)](pages/国际/a1.md)" in out
    assert '<!-- newsmirror {"title": "中国"} -->' in out  # the provenance record stays as extracted


def test_an_html_page_converts_text_alt_and_title_not_addresses():
    page = ('<html lang="zh-Hans"><a href="/新闻/中国.html" title="中国新闻">中国新闻</a>'
            '<img src="../图片/发展.jpg" alt="发展中的中国"><p>软件 里面 作为</p></html>')
    out = ScriptConverter("zh-Hant").page(page)
    assert '<a href="/新闻/中国.html" title="中國新聞">中國新聞</a>' in out
    assert '<img src="../图片/发展.jpg" alt="發展中的中國">' in out
    assert "<p>軟件 裡面 作為</p>" in out  # Taiwan's characters (為, 裡), not OpenCC's own (爲, 裏)
    assert "<p>軟體 裡面 作為</p>" in ScriptConverter("zh-Hant-TW").page(page)  # with Taiwan's words too


def test_a_url_with_parentheses_stays_whole_and_the_text_after_a_url_is_converted():
    page = ("原文：https://example.com/专题(2024)/发展报告.html\n\n"
            "详见https://x.example/a，这个国家的发展报告。\n")
    out = ScriptConverter("zh-Hant").page(page)
    assert "原文：https://example.com/专题(2024)/发展报告.html" in out
    assert "詳見https://x.example/a，這個國家的發展報告。" in out
    assert ScriptConverter("zh-Hant").page("见 www.example.com/国际/发展 与\n") == "見 www.example.com/国际/发展 與\n"


def test_escaped_angle_brackets_in_markdown_text_are_not_taken_for_tags():
    page = "甲 x\\<y 发展\n\n这个国家 z> 发展\n"
    out = ScriptConverter("zh-Hant").page(page)
    assert out == "甲 x\\<y 發展\n\n這個國家 z> 發展\n"


def test_marked_spans_keep_their_script_and_lose_their_markers():
    out = ScriptConverter("zh-Hant").page(f"[首页](README.md) | [{keep('简体')}](../README.md)")
    assert out == "[首頁](README.md) | [简体](../README.md)"
    back = ScriptConverter("zh-Hans").page(f"[首頁](README.md) | [{keep('繁體')}](zh-Hant/README.md)")
    assert back == "[首页](README.md) | [繁體](zh-Hant/README.md)"


def test_phrases_are_converted_whole_and_never_across_a_tag():
    conv = ScriptConverter("zh-Hant")
    assert conv.page("头发很长") == "頭髮很長"
    assert conv.page("<p>头</p><p>发展</p>") == "<p>頭</p><p>發展</p>"


@pytest.mark.parametrize("value, expected", [
    ('["zh-Hans", "zh-CN"]', "'zh-CN' is not a script variant; use one of: zh-Hans, zh-Hant"),
    ('["zh-Hant", "zh-Hant"]', "listed twice"),
])
def test_variants_are_checked(value, expected):
    text = BASE.replace("[site]\n", f"[site]\nvariants = {value}\n", 1)
    assert text != BASE
    assert "site.variants" in errors(text)
    assert expected in errors(text)
