"""Shapes of real Chinese news pages that went wrong when mirrored: each page here is small and written
for the test, with the markup of the site it stands for (comment sections, spacer-separated paragraphs,
an account's reply menu, promos after the editor's line, a QR code image)."""

from __future__ import annotations

from newsmirror.extract import extract
from newsmirror.extract.text import html_to_text
from newsmirror.render.markdown import html_to_markdown

URL = "https://news.example.cn/newsDetail_forward_4150096"
TITLE = "城南老旧小区改造完成 三千多户居民告别漏水难题"
PARAS = [
    "记者从市住房和城乡建设局获悉，城南片区十二个老旧小区的综合改造工程已于本月初全部完工，涉及居民三千二百余户。",
    "这些小区大多建于上世纪九十年代，屋面渗漏、管网老化、道路破损等问题长期困扰居民，每逢雨季，不少楼栋的顶层住户都要用盆接水。",
    "改造工程从去年三月启动，按照“先地下、后地上”的顺序推进，共更换供水管道八点六公里，新建雨污分流管网五公里。",
    "市住建局有关负责人表示，下一步将建立长效管理机制，引入专业物业服务，确保改造成果能够长期保持。",
]


def page(article: str, after: str = "") -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{TITLE}_城南日报</title></head><body>
<div class="head"><a href="/">首页</a> <a href="/news/">新闻</a> <a href="/local/">本地</a></div>
<div class="main"><h1>{TITLE}</h1><div class="date">2024-05-12 10:30</div>{article}{after}</div>
<div class="foot">Copyright © 2024 城南日报</div></body></html>"""


def body(html: str) -> str:
    return extract(html, URL).body_html


def test_a_comment_section_with_its_count_is_not_kept():
    comments = """<div class="news_tit3"><h2 id="comm_span">评论<span>（0）</span></h2></div>
<div id="aq_commt"><div class="aq_write"><div class="aqwleft"><img src="https://img.example.cn/def_head.jpg"></div>
<div class="aqwright"><div class="aqw_tip"><img src="https://img.example.cn/iask_tip.png"><span>我要跟帖</span></div>
<div class="wordTip">已输入<span>0</span>字</div></div></div></div>"""
    html = page("".join(f"<p>{p}</p>" for p in PARAS), comments)
    out = body(html)
    text = html_to_text(out)
    assert all(p in text for p in PARAS)
    assert "评论" not in text and "我要跟帖" not in text and "已输入" not in text
    assert "def_head.jpg" not in out and "iask_tip.png" not in out


def test_paragraphs_separated_by_spacer_blocks_stay_paragraphs():
    spaced = '<br><div class="contheight"></div>'.join(PARAS)
    md = html_to_markdown(body(page(f'<div class="news_txt">{spaced}</div>')))
    assert md.strip().split("\n\n") == PARAS  # not one wall of hard line breaks
    assert "\\\n" not in md


def test_an_accounts_reply_menu_after_the_credits_is_cut():
    ending = ("编辑|张三<br>责编|李四<br>来源|城南发布<br>扫描下方二维码解锁更多技能<br>"
              "1、回复【公租房】查看最新消息<br>2、回复【社保】查询社保缴纳记录<br>点击菜单栏【便民服务】解锁更多服务！")
    text = html_to_text(body(page("".join(f"<p>{p}</p>" for p in PARAS) + f"<p>{ending}</p>")))
    assert PARAS[-1] in text and "责编|李四" in text
    assert "二维码" not in text and "回复【" not in text and "便民服务" not in text


def test_promos_after_the_editors_line_are_not_kept():
    promo = ('<div class="box_pic"><a href="/n1/2024/0512/c1001-1.html"><img src="https://img.example.cn/p1.jpg"></a>'
             '<a href="/n1/2024/0512/c1001-2.html"><img src="https://img.example.cn/p2.jpg"></a></div>'
             '<div class="rm_txt_tj"><a href="/n1/2024/0512/c1001-3.html">推荐：全市老旧小区改造进度一览</a></div>')
    out = body(page("".join(f"<p>{p}</p>" for p in PARAS) + '<div class="edit">(责编：王五、赵六)</div>', promo))
    text = html_to_text(out)
    assert PARAS[-1] in text and "(责编：王五、赵六)" in text
    assert "p1.jpg" not in out and "p2.jpg" not in out and "推荐" not in text


def test_a_follow_our_account_qr_code_image_at_the_end_is_not_kept():
    qr = '<p><img src="https://n.example.cn/qrcode/weixin.jpg" alt=""></p>'
    out = body(page("".join(f"<p>{p}</p>" for p in PARAS) + '<p class="show_author">责任编辑：王五</p>' + qr))
    assert "责任编辑：王五" in html_to_text(out)
    assert "weixin.jpg" not in out


def test_a_decision_of_one_short_paragraph_is_an_article_not_a_javascript_shell():
    # a government page: scripts, a menu, the title and one sentence of 16 characters that is the whole decision
    html = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>关于张三同志任职的决定</title>
<script src="/js/jquery.js"></script><script>var page = 1;</script></head><body>
<div class="top"><a href="/">首页</a> <a href="/zwgk/">政务公开</a></div>
<div class="con"><h1>关于张三同志任职的决定</h1>
<div class="TRS_Editor"><p>决定任命张三同志为市教育局局长。</p></div></div>
<script>stat();</script></body></html>"""
    assert html_to_text(extract(html, "https://www.example.gov.cn/zwgk/2024/0305/1.html").body_html) == \
        "决定任命张三同志为市教育局局长。"
