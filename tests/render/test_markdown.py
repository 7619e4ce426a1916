"""html_to_markdown, md_text and md_url: a sanitised body → clean Markdown."""

from __future__ import annotations

import re

import lxml.html
import pytest
from markdown_it import MarkdownIt

from newsmirror.render.markdown import html_to_markdown, md_bare_url, md_text, md_url
from tests.renderers import RENDERERS, visible_text


def md(html: str) -> str:
    return html_to_markdown(html)


def test_paragraphs_are_separated_by_a_blank_line_and_end_with_one_newline():
    assert md("<p>第一段</p><p>第二段</p>") == "第一段\n\n第二段\n"


def test_no_runs_of_blank_lines_or_trailing_spaces():
    out = md("<p>一</p><div><p></p><p> </p></div><p>二  </p><br><br><br><p>三</p>")
    assert "\n\n\n" not in out
    assert not any(line != line.rstrip() for line in out.splitlines())


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5, 6])
def test_headings_are_atx(level):
    assert md(f"<h{level}>小标题</h{level}><p>正文</p>") == "#" * level + " 小标题\n\n正文\n"


def test_unordered_list():
    out = md("<ul><li>一</li><li>二</li></ul>")
    assert out == "- 一\n- 二\n"


def test_ordered_list():
    out = md("<ol><li>第一</li><li>第二</li><li>第三</li></ol>")
    assert out == "1. 第一\n2. 第二\n3. 第三\n"


def test_nested_list_is_indented():
    out = md("<ul><li>外<ul><li>内</li></ul></li></ul>")
    lines = out.splitlines()
    assert lines[0] == "- 外"
    assert lines[1].startswith((" ", "\t")) and lines[1].strip() == "- 内"


def test_blockquote():
    out = md("<p>前</p><blockquote><p>引文一</p><p>引文二</p></blockquote><p>后</p>")
    assert "> 引文一\n>\n> 引文二" in out
    assert out.startswith("前\n\n") and out.endswith("\n\n后\n")


def test_image():
    assert md('<p><img src="https://i.example/a.jpg" alt="示意图"></p>') == "![示意图](https://i.example/a.jpg)\n"


def test_image_alt_and_src_are_made_safe():
    out = md('<p><img src="https://i.example/a b(1).jpg" alt="图[1]*"></p>')
    assert out == "![图\\[1\\]\\*](https://i.example/a%20b%281%29.jpg)\n"


def test_image_without_src_is_dropped():
    assert md('<p>文字<img alt="无图"></p>') == "文字\n"


def test_figure_with_caption_on_its_own_line():
    out = md('<p>前文</p><figure><img src="https://i.example/a.jpg" alt="图"><figcaption>图：  某地 '
             "现场</figcaption></figure><p>后文</p>")
    assert "![图](https://i.example/a.jpg)\n\n_图： 某地 现场_\n\n后文" in out
    lines = out.splitlines()
    assert "_图： 某地 现场_" in lines


def test_figure_with_empty_caption_has_no_stray_underscores():
    out = md('<figure><img src="https://i.example/a.jpg" alt=""><figcaption> </figcaption></figure>')
    assert out == "![](https://i.example/a.jpg)\n"


def test_links():
    out = md('<p>详见<a href="https://x.example/a">这篇报道</a>。</p>')
    assert out == "详见[这篇报道](https://x.example/a)。\n"


def test_link_url_is_made_safe_and_empty_links_are_dropped():
    out = md('<p><a href="https://x.example/wiki/A_(B) c">维基</a><a href="https://x.example/empty"> </a>'
             "<a>无链接</a></p>")
    assert "[维基](https://x.example/wiki/A_%28B%29%20c)" in out
    assert "x.example/empty" not in out
    assert "无链接" in out and "[无链接]" not in out


def test_link_around_an_image():
    out = md('<p><a href="https://x.example/big.jpg"><img src="https://x.example/small.jpg" alt="小"></a></p>')
    assert out == "[![小](https://x.example/small.jpg)](https://x.example/big.jpg)\n"


def test_table():
    out = md("<table><thead><tr><th>地区</th><th>人数</th></tr></thead>"
             "<tbody><tr><td>北京</td><td>10</td></tr><tr><td>上海</td><td>20</td></tr></tbody></table>")
    lines = [ln.strip() for ln in out.strip().splitlines()]
    assert lines[0] == "| 地区 | 人数 |"
    assert set(lines[1].replace("|", "").split()) == {"---"}
    assert lines[2:] == ["| 北京 | 10 |", "| 上海 | 20 |"]


def test_br_is_a_hard_line_break():
    out = md("<p>第一行<br>第二行</p>")
    assert out == "第一行\\\n第二行\n"


def test_emphasis():
    assert md("<p><strong>粗</strong>和<em>斜</em></p>") == "**粗**和*斜*\n"


def test_sub_and_sup_stay_html():
    assert md("<p>H<sub>2</sub>O 和 m<sup>2</sup></p>") == "H<sub>2</sub>O 和 m<sup>2</sup>\n"


def test_stripped_inline_tags_keep_their_text():
    out = md("<p><span>跨度</span><time>时间</time><small>小字</small><ins>插入</ins><abbr>缩写</abbr></p>")
    assert out == "跨度时间小字插入缩写\n"


def test_code_is_not_escaped():
    out = md("<pre><code>a_b * c &lt;x&gt;</code></pre>")
    assert "a_b * c <x>" in out


def test_markdown_specials_in_text_are_escaped():
    out = md("<p>价格 *涨* 了 snake_case_name</p>")
    assert out == "价格 \\*涨\\* 了 snake\\_case\\_name\n"


def test_html_looking_text_does_not_become_html():
    out = md("<p>文中写着 &lt;script&gt;alert(1)&lt;/script&gt; 和 &lt;b&gt;粗&lt;/b&gt;</p>")
    assert re.search(r"(?<!\\)<", out) is None  # every "<" is escaped
    assert "\\<script>alert(1)\\</script>" in out and "\\<b>粗\\</b>" in out


def rendered(markdown: str) -> str:
    """The HTML a CommonMark renderer with GitHub's tables and strikethrough makes of it."""
    return MarkdownIt("gfm-like", {"linkify": False}).render(markdown)


def test_text_that_reads_as_a_link_stays_text():
    out = md("<p>见 [点此](https://evil.example/) 或 ![图](https://evil.example/x.png)</p>")
    html = rendered(out)
    assert "<a" not in html and "<img" not in html
    assert "见 [点此](https://evil.example/) 或 ![图](https://evil.example/x.png)" in html


def test_text_with_bars_and_backslashes_stays_as_written():
    html = rendered(md("<p>甲 | 乙<br>|---|---|</p><p>C:\\dir\\*x* 和 `y`</p>"))
    assert "<table" not in html and "<em>" not in html and "<code>" not in html
    assert "甲 | 乙<br />\n|---|---|" in html and "C:\\dir\\*x* 和 `y`" in html


@pytest.mark.parametrize("line", ["# 不是标题", "1. 不是列表", "2) 也不是", "- 不是列表", "+ 不是列表", "> 不是引用",
                                  "===", "---", "~~~"])
def test_text_at_the_start_of_a_line_makes_no_block(line):
    for html in (f"<p>{line}</p>", f"<p>首行<br>{line}</p>", f"<p>首行\n{line}</p>", f"<div>{line}</div>",
                 f"<ul><li>{line}</li></ul>", f"<p><span>{line}</span></p>", f"<p>首行<br> {line}</p>",
                 f"<p>首行<br>  <span>{line}</span></p>", f"<div><span>{line}</span></div>",
                 f"<ul><li><span>{line}</span></li></ul>", f"<blockquote><span>{line}</span></blockquote>",
                 f"<p>前</p><span>{line}</span>", f"<p>首行\n<b></b><span>{line}</span></p>"):
        out = rendered(md(html))
        for tag in ("<h", "<ol", "<ul", "<li", "<blockquote", "<pre", "<hr"):  # no block the page did not have
            assert out.count(tag) == html.count(tag), (tag, html, out)
        assert line.replace(">", "&gt;") in out, (html, out)


@pytest.mark.parametrize("html", [
    '<pre>x\n```\n&lt;img src="https://evil.example/p.gif"&gt;\n&lt;iframe src="https://evil.example/f"&gt;</pre>',
    '<pre>````\n&lt;script&gt;alert(1)&lt;/script&gt;</pre>',
    "<p>见 <code>foo\n&lt;img src=https://evil.example/q.gif&gt;\n&lt;script&gt;alert(1)&lt;/script&gt;</code></p>",
    "<p>见 <code>foo\n\n&lt;div onclick=x&gt;</code></p>",
])
def test_code_cannot_end_early_and_let_its_text_become_html(html):
    out = MarkdownIt("gfm-like", {"linkify": False, "html": True}).render(md(html))  # raw HTML on, as on GitHub
    assert not re.search(r"<(img|iframe|script|div)\b", out), out
    assert "evil.example" in out or "alert" in out or "onclick" in out  # the text is still shown, as code


def test_a_paragraph_indented_with_ideographic_spaces_keeps_them_and_is_no_list():
    out = md("<p>\u3000\u30001. 第一</p><p>二</p>")
    assert out.startswith("\u3000\u3000") and "<ol" not in rendered(out)


def test_tildes_and_entities_written_out_stay_as_written():
    html = rendered(md("<p>价格5~10元，温度3~8度，&amp;copy; 与 &amp;#169;</p>"))
    assert "<del>" not in html and "价格5~10元，温度3~8度，&amp;copy; 与 &amp;#169;" in html


def test_a_web_address_in_the_text_is_left_as_github_will_link_it():
    url = "https://e.example/s_1/a*b?q=a|b&x=1~2"
    assert f"见 {url} 和 www.e.example/a_b_ 。" in md(f"<p>见 {url} 和 www.e.example/a_b_ 。</p>")
    assert md(f'<p><a href="{url}">{url}</a></p>') == f"[https://e.example/s\\_1/a\\*b?q=a\\|b&x=1\\~2]({url})\n"
    # its brackets are still escaped: what is not a link on GitHub (no host name, a letter before the scheme,
    # "www." after a word) cannot become one
    for text in ("详情见http://[点击这里](https://evil.example/phish)", "见www.example.com/![x](https://t.example/p.gif)",
                 "xhttps://e.example/[a](https://evil.example/)", "https://e.example/[a](https://evil.example/)"):
        html = rendered(md(f"<p>{text}</p>"))
        assert "evil.example/phish\"" not in html and "<img" not in html and 'href="https://evil' not in html, html
    # a line break after an address does not become part of it
    assert md(f"<p>原文链接：{url}<br>责任编辑：张三</p>") == f"原文链接：{url} \\\n责任编辑：张三\n"


def test_an_empty_inline_element_leaves_the_line_start_where_it_was():
    for html in ("<ul><li><span></span>- 第一</li></ul>", "<div><span></span>1. 开头</div>",
                 "<blockquote><span></span>&gt; 引</blockquote>", "<p>首行<br><!-- x --><span>1. 次行</span></p>"):
        out = rendered(md(html))
        for tag in ("<ol", "<ul", "<li", "<blockquote"):
            assert out.count(tag) == html.count(tag), (html, out)


def test_a_line_break_inside_bold_and_a_heading_ending_in_a_hash():
    html = rendered(md("<p><strong>记者 张三<br></strong>北京报道</p>"))
    assert html == "<p><strong>记者 张三</strong><br />\n北京报道</p>\n"
    assert "<h2>热搜话题 #</h2>" in rendered(md("<h2>热搜话题 #</h2>"))


def test_a_bar_in_a_table_cell_stays_in_its_cell_even_in_code():
    out = md("<table><tr><th>h</th><th>g</th></tr><tr><td><code>p|q</code> a|b</td><td>z</td></tr></table>")
    html = rendered(out)
    assert html.count("<td>") == 2 and "<code>p|q</code> a|b" in html


def test_numbers_and_marks_inside_a_line_are_left_alone():
    assert md("<p>2024.5 亿元，增长 1.5%，A-B 与 #标签</p>") == "2024.5 亿元，增长 1.5%，A-B 与 #标签\n"


# -- md_text / md_url ---------------------------------------------------------------------------------


def test_md_text_escapes_every_special():
    assert md_text("a*b_c [d] <e> #f |g `h \\ i") == "a\\*b\\_c \\[d\\] \\<e\\> \\#f \\|g \\`h \\\\ i"


def test_md_text_collapses_whitespace_and_handles_empty():
    assert md_text("  多行\n  标题\t文字 ") == "多行 标题 文字"
    assert md_text(None) == ""
    assert md_text("") == ""
    assert md_text("普通中文标题") == "普通中文标题"


def test_md_url():
    assert md_url("https://x.example/a b(c)<d>") == "https://x.example/a%20b%28c%29%3Cd%3E"
    assert md_url("../../README.md?a1") == "../../README.md?a1"


def test_md_bare_url_encodes_only_what_markdown_or_html_would_read():
    assert md_bare_url("https://x.example/新闻/a_b-c?d=1&e=(2)#f") == "https://x.example/新闻/a_b-c?d=1&e=(2)#f"
    assert md_bare_url("https://x.example/a b<c>\"d`e|f*g[h]") == "https://x.example/a%20b%3Cc%3E%22d%60e%7Cf%2Ag%5Bh%5D"


def test_pre_keeps_its_lines_and_ordered_list_its_start():
    out = md("<pre>\n第一行\n\n  缩进行\n</pre><ol start=\"3\"><li>三</li><li>四</li></ol>")
    assert out == "```\n第一行\n\n  缩进行\n```\n\n3. 三\n4. 四\n"


def test_whitespace_between_blocks_is_not_content_but_inside_lines_it_is():
    out = md("<div>\n  <p>  一  段\n文字 </p>\n  <p><b> 粗 </b>体</p>\n</div>")
    assert out == "一 段\n文字\n\n**粗** 体\n"


# -- what every CommonMark renderer shows (GitHub's cmark-gfm and markdown-it, run for real) ---------------------


@pytest.mark.parametrize("html", [
    "<p><strong>算法方面，</strong>阿里巴巴的推荐系统</p>",  # bold ending in full-width punctuation, then a letter
    "<p>他说<strong>「这是引用」</strong>然后走了</p>",  # starting and ending in it
    "<p><b>A，</b><b>B。</b>其后</p>",  # two bold runs side by side
    "<p><b>甲</b><b>乙</b>丙</p>",  # side by side with no punctuation between
    "<p>前文<em>（注释）</em>后文</p>",
    "<p>前<strong><a href=\"https://x.example/a\">链接</a></strong>后</p>",  # a run that ends in markup
    "<p>价格<strong>*5</strong>元</p>",  # a run that starts with an escape
    "<p><b><i>粗斜，</i></b>之后</p>",
    "<p><b>：</b>只有标点</p>",
])
@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_emphasis_next_to_punctuation_is_emphasis_in_every_renderer(html, renderer):
    out = RENDERERS[renderer](md(html))
    assert "*" not in visible_text(out).replace("价格*5", ""), out  # no literal "**" left over
    assert visible_text(out) == visible_text(html)
    source = lxml.html.fragment_fromstring(html, create_parent="div")
    shown = lxml.html.fragment_fromstring(out, create_parent="div")
    for tag, same in (("strong", ("strong", "b")), ("em", ("em", "i"))):  # the emphasised words are emphasised
        want = "".join(e.text_content() for e in source.iter(*same))
        got = "".join(e.text_content() for e in shown.iter(tag))
        assert re.sub(r"\W", "", want) == re.sub(r"\W", "", got), (tag, out)


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_a_table_of_paragraphs_is_unwrapped_and_a_table_of_data_stays(renderer):
    layout = ("<table><tr></tr></table><br><table><tr><td> </td></tr><tr><td></td></tr>"
              "<tr><td><p>第一段正文。</p><p>第二段正文。</p></td></tr><tr><td>&nbsp;</td></tr></table>"
              "<table><tr><td><div>左栏文字</div></td><td><p>右栏文字</p></td></tr></table>")
    out = md(layout)
    html = RENDERERS[renderer](out)
    assert "<table" not in html and "|" not in out
    assert html.count("<p>") >= 4 and visible_text(html) == "第一段正文。第二段正文。左栏文字右栏文字"
    data = md("<table><tr><td>北京</td><td>10</td></tr><tr><td>上海</td><td>20</td></tr></table>")
    assert RENDERERS[renderer](data).count("<td>") == 4


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_a_line_break_that_ends_a_block_or_sits_in_code_shows_no_backslash(renderer):
    html = ("<p>段末换行。<br></p><div><br></div><p>图后<br><br></p>"
            "<pre><code>import json<br>import os</code></pre><div>尾<br><p>新段</p></div><br>")
    out = RENDERERS[renderer](md(html))
    assert "\\" not in visible_text(out), out
    assert "import json\nimport os" in out
