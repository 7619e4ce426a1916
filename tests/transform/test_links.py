"""The in-body link policy: link_targets and apply_link_policy (mirror | keep | neutralize | drop)."""

from __future__ import annotations

import lxml.html
import pytest

from newsmirror.transform import apply_link_policy, link_targets

OURS = {"https://news.example/gb/2023/01/01/a1.html": "../intl/a1.md"}
BODY = ('<p>见<a href="https://News.Example/gb/2023/01/01/a1.html?utm_source=x#top">上一篇</a>，'
        '另见<a href="https://other.example/story">外站报道</a>。</p>')


def mirrored(url: str) -> str | None:
    return OURS.get(url)


def anchors(html: str) -> list[tuple[str | None, str]]:
    d = lxml.html.fragment_fromstring(html, create_parent="div")
    return [(a.get("href"), a.text_content()) for a in d.iter("a")]


def text(html: str) -> str:
    return lxml.html.fragment_fromstring(html, create_parent="div").text_content()


# -- link_targets -------------------------------------------------------------------------------------


def test_link_targets_are_normalised():
    got = link_targets('<p><a href="https://News.Example:443/a?utm_source=t&id=3#frag">一</a>'
                       '<a href="http://news.example:80/b?fbclid=1">二</a>'
                       '<a href="https://news.example/a?id=3">重复</a></p>')
    assert got == {"https://news.example/a?id=3", "http://news.example/b"}


def test_link_targets_skip_non_http():
    got = link_targets('<p><a href="mailto:a@b.example">信</a><a href="/rel">相对</a><a href="#x">锚</a>'
                       '<a>无</a><a href="ftp://f.example/x">ftp</a><a href="https://ok.example">好</a></p>')
    assert got == {"https://ok.example/"}


def test_link_targets_without_links():
    assert link_targets("<p>没有链接</p>") == set()
    assert link_targets("") == set()


# -- apply_link_policy ----------------------------------------------------------------------------------


def test_mirror_points_at_our_copy_when_we_have_one():
    out = apply_link_policy(BODY, "mirror", mirrored)
    assert anchors(out) == [("../intl/a1.md", "上一篇"), ("https://other.example/story", "外站报道")]


def test_mirror_passes_the_normalised_url_to_the_lookup():
    asked: list[str] = []

    def spy(url: str) -> str | None:
        asked.append(url)
        return None

    out = apply_link_policy(BODY, "mirror", spy)
    assert asked == ["https://news.example/gb/2023/01/01/a1.html", "https://other.example/story"]
    # nothing mirrored: the original URLs stay, as written
    assert [h for h, _ in anchors(out)] == ["https://News.Example/gb/2023/01/01/a1.html?utm_source=x#top",
                                            "https://other.example/story"]


def test_keep_keeps_every_link():
    out = apply_link_policy(BODY, "keep", mirrored)
    assert [h for h, _ in anchors(out)] == ["https://News.Example/gb/2023/01/01/a1.html?utm_source=x#top",
                                            "https://other.example/story"]


def test_neutralize_keeps_the_text_without_links():
    out = apply_link_policy(BODY, "neutralize", mirrored)
    assert "<a" not in out
    assert text(out) == "见上一篇，另见外站报道。"


def test_drop_removes_link_and_text():
    out = apply_link_policy(BODY, "drop", mirrored)
    assert "<a" not in out
    assert text(out) == "见，另见。"


@pytest.mark.parametrize("policy", ["mirror", "keep", "neutralize", "drop"])
def test_fragments_and_javascript_anchors_are_unwrapped_under_every_policy(policy):
    body = ('<p>回到<a href="#top">顶部</a>，<a href="javascript:void(0)">展开</a>，'
            '<a name="x">无链接</a>，<a href=" ">空</a></p>')
    out = apply_link_policy(body, policy, mirrored)
    assert "<a" not in out
    assert text(out) == "回到顶部，展开，无链接，空"


def test_a_fragment_stays_unwrapped_with_a_base_url():
    out = apply_link_policy('<p><a href="#top">顶部</a> <a href="/gb/b.html">相对</a></p>', "keep", mirrored,
                            base_url="https://news.example/gb/a.html")
    assert anchors(out) == [("https://news.example/gb/b.html", "相对")]
    assert text(out) == "顶部 相对"


def test_relative_links_without_a_base_are_unwrapped():
    out = apply_link_policy('<p><a href="/gb/b.html">相对</a></p>', "keep", mirrored)
    assert "<a" not in out and text(out) == "相对"


def test_relative_link_with_a_base_is_mirrored():
    out = apply_link_policy('<p><a href="/gb/2023/01/01/a1.html">相对</a></p>', "mirror", mirrored,
                            base_url="https://news.example/gb/x.html")
    assert anchors(out) == [("../intl/a1.md", "相对")]


def test_mailto_is_kept_under_mirror_and_keep():
    body = '<p><a href="mailto:tips@news.example">来信</a></p>'
    for policy in ("mirror", "keep"):
        assert anchors(apply_link_policy(body, policy, mirrored)) == [("mailto:tips@news.example", "来信")]
    assert "<a" not in apply_link_policy(body, "neutralize", mirrored)


def test_drop_keeps_the_text_after_a_link():
    out = apply_link_policy('<p>前<a href="https://x.example">链</a>后</p>', "drop", mirrored)
    assert out == "<p>前后</p>"


def test_body_without_links_is_returned_unchanged():
    body = "<p>没有链接的正文</p>"
    assert apply_link_policy(body, "drop", mirrored) is body


def test_leading_text_and_nested_markup_survive():
    out = apply_link_policy('开头<p><a href="https://x.example"><strong>粗链</strong></a></p>', "neutralize",
                            mirrored)
    assert out == "开头<p><strong>粗链</strong></p>"


def test_leading_text_that_looks_like_markup_stays_text():
    from newsmirror.transform import apply_link_policy, sanitize

    body = sanitize("1 &lt; 2 &amp; &lt;b&gt;not bold&lt;/b&gt; <p>then a <a href='https://x.example/a'>link</a></p>")
    out = apply_link_policy(body, "keep", lambda _u: None)
    assert out.startswith("1 &lt; 2 &amp; &lt;b&gt;not bold&lt;/b&gt;")
    assert "<b>" not in out
