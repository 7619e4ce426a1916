"""What counts as evidence of deletion, and how versions are compared, on their own."""

from __future__ import annotations

from newsmirror.config import REMOVAL_NOTICES
from newsmirror.fetch import FetchError
from newsmirror.models import Article, Response
from newsmirror.revisit.diff import changes
from newsmirror.revisit.evidence import from_error, from_page, is_front

URL = "https://news.example/a/2026/12/01/n1.html"


def test_only_404_and_410_are_evidence_among_failed_fetches():
    assert from_error(FetchError(URL, "HTTP 404", status=404)).kind == "gone"
    assert from_error(FetchError(URL, "HTTP 410", status=410)).kind == "gone"
    for status in (500, 502, 503, 429, 403, None):
        assert from_error(FetchError(URL, "no", status=status)).kind == "unknown"


def test_a_redirect_is_evidence_only_when_it_leads_to_a_front_page():
    fronts = {"https://news.example/news/culture/index.html"}
    assert is_front(URL, "https://news.example/", fronts)
    assert is_front(URL, "https://news.example/index.html", fronts)
    assert is_front(URL, "https://news.example/news/", fronts)
    assert is_front(URL, "https://news.example/news/culture/index.html", fronts)
    assert not is_front(URL, "https://news.example/a/2026/12/01/n1-moved.html", fronts)  # a moved article
    assert not is_front(URL, "https://other.example/", fronts)  # another site


def test_an_article_that_quotes_a_removal_notice_is_not_a_removal_notice():
    long_body = "<p>" + "记者调查发现，许多帖子显示“该内容已被删除”，网民对此表示不满。" * 20 + "</p>"
    page = Response(url=URL, final_url=URL, status=200, headers={}, body=b"", text="", encoding="utf-8")
    art = Article(url=URL, canonical_url=URL, title="网络审查调查", body_html=long_body)
    assert from_page(URL, page, (art, "h", set(), []), set(), REMOVAL_NOTICES).kind == "page"
    short = Article(url=URL, canonical_url=URL, title="提示", body_html="<p>该内容已被删除</p>")
    assert from_page(URL, page, (short, "h", set(), []), set(), REMOVAL_NOTICES).kind == "gone"


def test_changes_are_by_character_in_chinese_and_by_word_otherwise():
    zh = changes("标题", "<p>警方逮捕了三人。</p>", "标题", "<p>警方逮捕了五人。</p>")
    assert zh.title is None and zh.blocks == [("changed", [("=", "警方逮捕了"), ("-", "三"), ("+", "五"),
                                                           ("=", "人。")])]
    en = changes("Minister resigns", "<p>Same.</p>", "Minister steps down", "<p>Same.</p>")
    assert en.title == [("=", "Minister "), ("-", "resigns"), ("+", "steps down")] and en.blocks == []
