"""The generic (density) extractor: what a page's body keeps and what it drops, one behaviour per test.

Every test builds its own short page (header + nav, the article, the feature under test, a footer)
and runs it through `extract()`; assertions are on the plain text of the body.
"""

from __future__ import annotations

import json
import time

import lxml.html
import pytest

from newsmirror.extract import ExtractError, extract
from newsmirror.extract.density import find_content
from newsmirror.extract.text import html_to_text

URL = "https://news.example.com/2024/05/12/a1001.html"
EN_URL = "https://www.example-times.com/2024/05/12/harbour-bridge-reopens.html"

CN_TITLE = "城南老旧小区改造完成 三千多户居民告别漏水难题"
CN_PARAS = [
    "记者从市住房和城乡建设局获悉，城南片区十二个老旧小区的综合改造工程已于本月初全部完工，涉及居民三千二百余户。",
    "这些小区大多建于上世纪九十年代，屋面渗漏、管网老化、道路破损等问题长期困扰居民，每逢雨季，不少楼栋的顶层住户都要用盆接水。",
    "改造工程从去年三月启动，按照“先地下、后地上”的顺序推进，共更换供水管道八点六公里，新建雨污分流管网五公里，并对全部屋面重新做了防水。",
    "在改造方案确定之前，街道先后召开了四十多场居民议事会，逐楼征求意见，加装电梯、增设停车位和充电桩等需求都被纳入了设计。",
    "今年七十二岁的居民王桂兰说，以前下雨天最怕的就是家里漏水，现在屋顶修好了，楼下还新修了小花园，老人们傍晚都愿意出来走走。",
    "市住建局有关负责人表示，下一步将建立长效管理机制，引入专业物业服务，确保改造成果能够长期保持，今年还计划启动另外二十个小区的改造。",
]
EN_TITLE = "Harbour Bridge reopens after two years of repairs"
EN_PARAS = [
    "The Harbour Bridge reopened to traffic on Sunday morning, ending two years of closures that forced commuters "
    "onto ferries and a lengthy detour through the industrial district.",
    "City engineers replaced more than four hundred corroded steel cables and resurfaced the entire deck, work that "
    "officials said would extend the life of the 1962 structure by at least half a century.",
    "The project came in roughly eight percent over its original budget, largely because of supply delays for the "
    "specialised cable, which had to be manufactured overseas and shipped in several batches.",
    "Local business owners on both ends of the bridge welcomed the news. Several cafes near the northern ramp said "
    "their takings had fallen by a third while the crossing was closed.",
    "Cyclists will also benefit from a new protected lane on the eastern side, separated from car traffic by a "
    "concrete barrier and lit at night by low-glare lamps.",
    "The transport department said it would monitor traffic volumes over the coming months and adjust signal "
    "timings at the approaches if congestion builds during the morning peak.",
]

CN_HEADER = """
<div class="header">
  <div class="logo"><a href="/">城南日报</a></div>
  <ul class="menu">
    <li><a href="/">首页</a></li><li><a href="/news/">新闻</a></li><li><a href="/local/">本地</a></li>
    <li><a href="/finance/">财经</a></li><li><a href="/sports/">体育</a></li><li><a href="/video/">视频</a></li>
  </ul>
</div>
"""
EN_HEADER = """
<header class="site-header">
  <a class="brand" href="/">The Example Times</a>
  <nav><ul>
    <li><a href="/world/">World</a></li><li><a href="/business/">Business</a></li>
    <li><a href="/culture/">Culture</a></li><li><a href="/sport/">Sport</a></li>
  </ul></nav>
</header>
"""
CN_FOOTER = '<div class="foot"><p>Copyright © 2024 城南日报 版权所有</p><p><a href="/about/">关于我们</a></p></div>'
EN_FOOTER = '<footer><p>© 2024 The Example Times. All rights reserved.</p><a href="/privacy/">Privacy</a></footer>'


def ps(paras: list[str]) -> str:
    return "\n".join(f"<p>{p}</p>" for p in paras)


def cn_page(article: str, *, after: str = "", head: str = "", title: str = CN_TITLE) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_城南日报</title>{head}</head>
<body>
{CN_HEADER}
<div class="wrap">
  <div class="article">
    <h1>{CN_TITLE}</h1>
    <div class="info">2024-05-12 09:30:00 来源：城南日报</div>
    {article}
  </div>
  {after}
</div>
{CN_FOOTER}
</body></html>"""


def en_page(article: str, *, after: str = "", head: str = "") -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{EN_TITLE} | The Example Times</title>{head}</head>
<body>
{EN_HEADER}
<main>
  <article>
    <h1>{EN_TITLE}</h1>
    <p class="byline">By Jane Porter, May 12, 2024</p>
    {article}
  </article>
  {after}
</main>
{EN_FOOTER}
</body></html>"""


def body_text(html: str, url: str = URL) -> str:
    return html_to_text(extract(html, url).body_html)


def assert_in_order(text: str, paras: list[str]) -> None:
    pos = -1
    for p in paras:
        i = text.find(p)
        assert i > pos, f"paragraph missing or out of order: {p[:30]!r}"
        pos = i


# -- what is and is not the article -----------------------------------------------------------------


def test_chrome_is_dropped_and_paragraphs_kept_in_order():
    sidebar = """
    <div class="side">
      <h3>热门新闻</h3>
      <ul>
        <li><a href="/n/1.html">暴雨预警升级 多条公交线路临时调整</a></li>
        <li><a href="/n/2.html">地铁五号线南延段进入试运行阶段</a></li>
        <li><a href="/n/3.html">全市中小学暑假放假时间公布</a></li>
        <li><a href="/n/4.html">城南体育公园下月起免费开放</a></li>
      </ul>
    </div>
    <div class="comment-box">
      <h3>网友评论</h3>
      <textarea>说两句吧</textarea>
      <p>网友“老街坊”：改得真好，希望我们小区也能早点排上。</p>
    </div>
    """
    text = body_text(cn_page(ps(CN_PARAS), after=sidebar))
    assert_in_order(text, CN_PARAS)
    assert CN_TITLE not in text and "来源：城南日报" not in text  # headline and date line are shown above
    for junk in ("首页", "财经", "热门新闻", "暴雨预警升级", "地铁五号线", "版权所有", "Copyright", "网友评论",
                 "老街坊", "关于我们"):
        assert junk not in text


def test_short_lines_ending_in_comma_are_kept_whole():
    lines = [
        "每天清晨六点刚刚过去，",
        "江边的早市已经热闹起来，",
        "卖菜的老人推着三轮车，",
        "把刚摘下的青菜摆上摊位，",
        "鱼贩子忙着给顾客称鱼，",
        "豆浆铺子前排起了长队，",
        "这是这座小城最寻常的一天，",
        "也是许多人记忆里最温暖的味道。",
    ]
    text = body_text(cn_page(ps(lines)))
    assert_in_order(text, lines)
    assert "首页" not in text and "版权所有" not in text


def test_teaser_list_after_the_article_is_removed():
    teasers = """
    <div class="list-wrap">
      <div class="item"><a href="/n/11.html">城东新建三所幼儿园秋季招生</a>
        <p>三所幼儿园均为公办性质，可提供学位九百余个。</p></div>
      <div class="item"><a href="/n/12.html">老城区供暖管网改造将于九月完工</a>
        <p>改造完成后，约两万户居民的供暖质量将得到提升。</p></div>
      <div class="item"><a href="/n/13.html">市图书馆延长夜间开放时间</a>
        <p>自下周一起，市图书馆每天开放至晚上九点。</p></div>
      <div class="item"><a href="/n/14.html">社区食堂覆盖全部街道</a>
        <p>全市已建成社区食堂六十八家，日均服务老人一万余人次。</p></div>
    </div>
    """
    article = ps(CN_PARAS) + teasers
    text = body_text(cn_page(article))
    assert_in_order(text, CN_PARAS)
    for t in ("幼儿园", "供暖管网", "市图书馆", "社区食堂"):
        assert t not in text


def test_related_heading_and_links_removed_but_following_paragraph_kept():
    tail = "（完）本报记者将继续关注城南片区后续二十个小区的改造进展，欢迎读者通过热线提供线索和建议。"
    article = ps(CN_PARAS[:4]) + """
    <h3>相关阅读</h3>
    <ul>
      <li><a href="/n/21.html">我市启动新一轮老旧小区改造</a></li>
      <li><a href="/n/22.html">加装电梯补贴标准出台</a></li>
      <li><a href="/n/23.html">城南片区规划方案公示</a></li>
    </ul>
    """ + ps(CN_PARAS[4:]) + f"<p>{tail}</p>"
    text = body_text(cn_page(article))
    assert_in_order(text, CN_PARAS + [tail])
    for t in ("相关阅读", "新一轮老旧小区改造", "加装电梯补贴", "规划方案公示"):
        assert t not in text


def test_related_heading_in_english_is_removed():
    article = ps(EN_PARAS[:5]) + """
    <h2>Related</h2>
    <ul>
      <li><a href="/2024/04/01/ferry.html">Ferry timetable extended during bridge works</a></li>
      <li><a href="/2024/03/02/cables.html">Why the bridge cables corroded so fast</a></li>
      <li><a href="/2024/02/11/budget.html">Council approves extra repair funding</a></li>
    </ul>
    """ + ps(EN_PARAS[5:])
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)
    for t in ("Related", "Ferry timetable", "cables corroded", "extra repair funding"):
        assert t not in text


def test_trailing_qr_prompt_is_removed():
    article = ps(CN_PARAS) + '<p>扫描二维码关注公众号，获取更多本地新闻。</p><p><img src="/img/qr.png" alt=""></p>'
    text = body_text(cn_page(article))
    assert_in_order(text, CN_PARAS)
    assert "二维码" not in text and "公众号" not in text


def test_trailing_newsletter_and_cookie_notice_are_removed():
    article = ps(EN_PARAS) + """
    <p><strong>Subscribe to our newsletter</strong> to get the day's top stories in your inbox every morning.</p>
    <p>This website uses cookies to improve your experience. See our cookie policy for details.</p>
    """
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "newsletter" not in text.lower()
    assert "cookie" not in text.lower()


def test_trailing_author_bio_box_is_removed():
    bio = """
    <div class="author-bio">
      <p>Jane Porter is the transport correspondent of The Example Times. She has covered city infrastructure,
      public transit and road safety for more than a decade, and previously worked at the Northern Herald.</p>
    </div>
    """
    text = body_text(en_page(ps(EN_PARAS) + bio), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "By Jane Porter" not in text
    assert "transport correspondent" not in text
    assert "Northern Herald" not in text


def test_leading_sharing_and_affiliate_notices_are_removed():
    lead = """
    <p>Sharing is caring!</p>
    <p><em>This post may contain affiliate links. We may earn a small commission at no extra cost to you.</em></p>
    """
    text = body_text(en_page(lead + ps(EN_PARAS)), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "Sharing is caring" not in text
    assert "affiliate" not in text


@pytest.mark.parametrize("wrapper", ["sidebar-layout", "share-area"])
def test_class_name_alone_does_not_remove_the_article(wrapper):
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{EN_TITLE} | The Example Times</title></head>
<body>
{EN_HEADER}
<div class="{wrapper}">
  <article>
    <h1>{EN_TITLE}</h1>
    {ps(EN_PARAS)}
  </article>
</div>
{EN_FOOTER}
</body></html>"""
    text = body_text(html, EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "All rights reserved" not in text


def test_paywall_div_with_second_half_is_kept():
    article = ps(EN_PARAS[:3]) + f'<div class="paywall">{ps(EN_PARAS[3:])}</div>'
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)


def test_embedded_tweet_inside_the_article_is_kept():
    tweet = """
    <div class="social-media-embed">
      <blockquote class="twitter-tweet"><p lang="en" dir="ltr">First cars rolling across the Harbour Bridge this
      morning after two long years. What a sight for the morning commute!</p>&mdash; City Transport (@citytransport)
      <a href="https://twitter.com/citytransport/status/1789">May 12, 2024</a></blockquote>
    </div>
    """
    article = ps(EN_PARAS[:3]) + tweet + ps(EN_PARAS[3:])
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "First cars rolling across the Harbour Bridge" in text


def test_list_of_facts_at_the_end_is_kept():
    facts = """
    <ul>
      <li>Length of the main span: 503 metres, unchanged since 1962.</li>
      <li>Cables replaced: 412, each made of 91 galvanised wires.</li>
      <li>Total cost of the works: 184 million dollars.</li>
    </ul>
    """
    text = body_text(en_page(ps(EN_PARAS) + facts), EN_URL)
    assert_in_order(text, EN_PARAS)
    for fact in ("Length of the main span", "Cables replaced: 412", "Total cost of the works"):
        assert fact in text


def test_list_of_links_at_the_end_is_dropped():
    links = """
    <ul>
      <li><a href="/2024/04/01/ferry.html">Ferry timetable extended during bridge works</a></li>
      <li><a href="/2024/03/02/cables.html">Why the bridge cables corroded so fast</a></li>
      <li><a href="/2024/02/11/budget.html">Council approves extra repair funding</a></li>
    </ul>
    """
    text = body_text(en_page(ps(EN_PARAS) + links), EN_URL)
    assert_in_order(text, EN_PARAS)
    for t in ("Ferry timetable", "cables corroded", "extra repair funding"):
        assert t not in text


def test_editor_credit_line_at_the_end_is_kept():
    text = body_text(cn_page(ps(CN_PARAS) + "<p>（责任编辑：张三）</p>"))
    assert_in_order(text, CN_PARAS)
    assert text.rstrip().endswith("（责任编辑：张三）")


def test_section_heading_before_first_paragraph_kept_and_headline_not_in_body():
    article = "<h2>十二个小区全部完工</h2>" + ps(CN_PARAS)
    text = body_text(cn_page(article))
    assert_in_order(text, ["十二个小区全部完工"] + CN_PARAS)
    assert CN_TITLE not in text


def test_jsonld_article_body_used_when_markup_holds_much_less():
    full = "\n".join(CN_PARAS)
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": CN_TITLE, "articleBody": full}
    head = f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
    # the markup shows only the first paragraph (the rest is loaded by scripts)
    html = cn_page(ps(CN_PARAS[:1]) + '<div id="rest"></div>', head=head)
    text = body_text(html)
    assert_in_order(text, CN_PARAS)


@pytest.mark.parametrize("sentence", [
    "投诉人李女士告诉记者，她去年购买的电动车在三个月内出现了四次故障，商家却一直拒绝退换。",
    "举报人表示，他曾多次向有关部门反映小区管网老化的情况，但迟迟没有得到答复。",
], ids=["complainant", "whistleblower"])
def test_paragraph_starting_with_a_boilerplate_word_is_kept(sentence):
    text = body_text(cn_page(ps(CN_PARAS[:3] + [sentence] + CN_PARAS[3:])))
    assert_in_order(text, CN_PARAS[:3] + [sentence] + CN_PARAS[3:])


# -- pages that are not articles --------------------------------------------------------------------

LISTING_ITEMS = [
    ("/2024/05/11/a1.html", "城东新建三所幼儿园秋季招生",
     "三所幼儿园均为公办性质，可提供学位九百余个，报名将于六月开始。"),
    ("/2024/05/10/a2.html", "老城区供暖管网改造将于九月完工", "改造完成后，约两万户居民的供暖质量将得到明显提升。"),
    ("/2024/05/09/a3.html", "市图书馆延长夜间开放时间", "自下周一起，市图书馆每天开放至晚上九点，周末照常开放。"),
    ("/2024/05/08/a4.html", "社区食堂覆盖全部街道", "全市已建成社区食堂六十八家，日均服务老人一万余人次。"),
]


def listing_page(n: int, head: str = "") -> str:
    items = "".join(f'<div class="news-item"><h2><a href="{href}">{title}</a></h2><p>{summary}</p></div>'
                    for href, title, summary in LISTING_ITEMS[:n])
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>本地新闻_城南日报</title>{head}</head>
<body>
{CN_HEADER}
<div class="wrap"><div class="news-list">{items}</div></div>
{CN_FOOTER}
</body></html>"""


@pytest.mark.parametrize("n", [2, 4])
def test_listing_page_raises(n):
    with pytest.raises(ExtractError, match="list"):
        extract(listing_page(n), "https://news.example.com/local/")


def test_listing_markup_typed_as_article_is_extracted():
    html = listing_page(2, '<meta property="og:type" content="article">')
    text = html_to_text(extract(html, "https://news.example.com/local/").body_html)
    assert "报名将于六月开始" in text  # the listing check is skipped; the best block is a summary


def test_listing_markup_typed_as_article_is_not_called_a_list():
    # with three or more teasers the teaser filter empties the page; whatever the outcome, it is not "a list"
    html = listing_page(4, '<meta property="og:type" content="article">')
    try:
        extract(html, "https://news.example.com/local/")
    except ExtractError as exc:
        assert "list" not in exc.reason


def test_404_page_raises_error_page():
    html = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>404 页面不存在</title></head>
<body>
{CN_HEADER}
<div class="error">
  <h1>404 页面不存在</h1>
  <p>抱歉，您访问的页面不存在或已被删除，请检查网址是否正确，或返回首页继续浏览。</p>
  <p>如有疑问，请联系本站客服，我们将尽快为您处理，感谢您的理解与支持。</p>
</div>
{CN_FOOTER}
</body></html>"""
    with pytest.raises(ExtractError, match="error page"):
        extract(html, "https://news.example.com/2024/05/12/missing.html")


def test_rss_feed_raises():
    feed = """<?xml version="1.0" encoding="utf-8"?>
<!-- generated by the site -->
<rss version="2.0"><channel><title>城南日报</title><link>https://news.example.com/</link>
<item><title>城南老旧小区改造完成</title><link>https://news.example.com/2024/05/12/a1001.html</link>
<description>记者从市住房和城乡建设局获悉，城南片区十二个老旧小区的综合改造工程已全部完工。</description></item>
</channel></rss>"""
    with pytest.raises(ExtractError, match="feed"):
        extract(feed, "https://news.example.com/rss.xml")


def test_xml_declared_xhtml_page_parses():
    html = f"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
<title>{EN_TITLE} | The Example Times</title></head>
<body>
{EN_HEADER}
<div id="content"><h1>{EN_TITLE}</h1>{ps(EN_PARAS)}</div>
{EN_FOOTER}
</body></html>"""
    article = extract(html, EN_URL)
    assert article.title == EN_TITLE
    assert_in_order(html_to_text(article.body_html), EN_PARAS)


def test_many_comment_openers_do_not_hang():
    html = "<html><head><title>测试页面</title></head><body>" + "<!--" * 300 + ps(CN_PARAS[:2]) + "</body></html>"
    start = time.monotonic()
    try:
        extract(html, URL)
    except ExtractError:
        pass
    assert time.monotonic() - start < 2.0


# -- find_content directly --------------------------------------------------------------------------


def test_find_content_returns_the_article_element():
    doc = lxml.html.document_fromstring(en_page(ps(EN_PARAS)))
    content = find_content(doc, EN_TITLE)
    assert content is not None
    text = " ".join(content.text_content().split())
    assert EN_PARAS[0][:40] in text and EN_PARAS[-1][-40:] in text
    assert "All rights reserved" not in text


def test_opening_paragraph_set_apart_by_a_picture_is_kept_and_byline_dropped():
    # the first paragraph stands alone above a picture, so it opens no run of paragraphs; it is still the article's
    lead = ("Commuters crossed the Harbour Bridge by car again this morning, for the first time since the spring "
            "of 2022.")
    article = (f"<p>{lead}</p><figure><img src='/img/bridge.jpg'><figcaption>The bridge at dawn</figcaption>"
               "</figure><p class='meta'>Updated 09:30</p>" + ps(EN_PARAS))
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [lead] + EN_PARAS)
    assert "By Jane Porter" not in text and "Updated 09:30" not in text


def test_list_before_the_paragraphs_is_kept_when_it_is_not_links():
    facts = ("<ul><li>Main span: 503 metres</li><li>Cables replaced: 412</li><li>Total cost: 184 million</li>"
             "</ul><div class='share'><a href='/s/fb'>Facebook</a> <a href='/s/x'>X</a></div>")
    text = body_text(en_page(facts + ps(EN_PARAS)), EN_URL)
    assert_in_order(text, ["Main span: 503 metres", "Cables replaced: 412", "Total cost: 184 million"] + EN_PARAS)
    assert "Facebook" not in text


def test_heading_left_at_the_end_with_nothing_after_it_is_dropped():
    # a "was this helpful?" prompt and a contact form: their buttons and fields go, their headings must too
    tail = ("<h3>Was this article helpful?</h3><button>Yes</button> <button>No</button>"
            "<h2>Write to the newsroom</h2><form action='/contact'><input name='email'><textarea></textarea></form>")
    text = body_text(en_page(ps(EN_PARAS) + tail), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert text.rstrip().endswith(EN_PARAS[-1])
    assert "helpful" not in text and "newsroom" not in text


def test_heading_before_a_closing_list_is_kept():
    facts = "<h3>Key figures</h3><ul><li>Main span: 503 metres</li><li>Cables replaced: 412</li></ul>"
    text = body_text(en_page(ps(EN_PARAS) + facts), EN_URL)
    assert_in_order(text, EN_PARAS + ["Key figures", "Main span: 503 metres", "Cables replaced: 412"])


FORUM_POSTS = [
    ("rivertown", "Has anyone else noticed that the number 12 bus now skips the stop by the old mill? I waited there "
     "for forty minutes on Tuesday morning before a driver told me the route had changed without any notice."),
    ("mara_k", "Yes, the operator moved the stop two streets further north while the road is being resurfaced. "
     "There is a small printed sign on the lamp post, but it is easy to miss, especially in the dark."),
    ("oldmillresident", "They told our residents' association the works should be finished by the end of the month. "
     "Until then the nearest accessible stop is the one outside the pharmacy, which has a proper shelter."),
    ("commuter88", "Thanks for explaining. I had assumed the service was cancelled altogether and started cycling, "
     "which honestly has been quicker on most days, although the hill on Station Road is hard work."),
]


def test_forum_thread_is_not_taken_for_a_list_of_headlines():
    posts = "".join(
        f'<div class="message"><span class="num">#{i}</span> <a href="/members/{name}">{name}</a>'
        f'<div class="message-body"><p>{text}</p></div>'
        f'<div class="tools"><a href="/quote/{i}">Quote this post</a> <a href="/report/{i}">Report abuse</a></div>'
        '</div>' for i, (name, text) in enumerate(FORUM_POSTS, 1))
    html = f"""<!DOCTYPE html><html lang="en"><head><title>Number 12 bus skips the mill stop | Town Forum</title></head>
<body>{EN_HEADER}<div class="thread"><h1>Number 12 bus skips the mill stop</h1>{posts}</div>{EN_FOOTER}</body></html>"""
    text = body_text(html, "https://forum.example.org/threads/number-12-bus.4411/")
    assert_in_order(text, [t for _, t in FORUM_POSTS])
    assert "Report abuse" not in text


THREAD_POSTS = [
    ("marta_k", "Our allotment association has the same problem with the water trough by the north gate. It overflows "
     "every night since the float valve was replaced, and by morning the path is a pond. Has anyone found a valve "
     "that stays shut when the pressure rises after midnight?"),
    ("gardener61", "We had exactly that last spring. The new valves are made for mains pressure and the old pipe "
     "from the reservoir runs at less than half of it, so the float never closes fully. A low-pressure valve from the "
     "irrigation shop fixed it for us within a week."),
    ("tomas", "Before you buy anything, check that the arm of the float is not bent. Ours had been knocked by a "
     "wheelbarrow and sat a few centimetres too low, which was enough to keep the valve open. Straightening it cost "
     "nothing and the trough has been dry ever since."),
]


def test_thread_posts_led_by_their_authors_names_are_kept():
    """Posts that each open with the author's name as a link are no list of teasers: each carries a text many
    times its links, and none is cut short as a teaser's summary is."""
    posts = "".join(
        f'<div class="post"><div class="author"><a href="/members/{name}">{name}</a></div>'
        f'<div class="post-text"><p>{text}</p></div></div>' for name, text in THREAD_POSTS)
    html = f"""<!DOCTYPE html><html lang="en"><head><title>Trough overflows at night | Allotment Forum</title></head>
<body>{EN_HEADER}<div class="thread"><h1>Trough overflows at night</h1>{posts}</div>{EN_FOOTER}</body></html>"""
    text = body_text(html, "https://forum.example.org/threads/trough-overflows.5120/")
    assert_in_order(text, [t for _, t in THREAD_POSTS])


def test_teasers_with_long_summaries_cut_short_are_still_removed():
    """Items led by a one-word link whose summaries end in an ellipsis are teasers, however long the summary."""
    teasers = "".join(
        f'<div class="teaser"><a href="/sport/{i}.html">Sport</a><p>{p[:-1]} and then much more was said about it '
        f'by the coach and the players in the dressing room after the match, as the season goes on…</p></div>'
        for i, p in enumerate(EN_PARAS[:3]))
    text = body_text(en_page(ps(EN_PARAS), after=f'<div class="more">{teasers}</div>'), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "dressing room" not in text


APPEAL = [
    "Independent local reporting costs money, and we would rather not put it behind a paywall for anyone.",
    "Readers like you keep this newsroom going: a small monthly contribution pays for the hours our reporters "
    "spend at council meetings, in courtrooms and on the phone with the people our stories are about.",
]


def test_a_box_after_the_articles_paragraphs_is_cut():
    """A box of sentences after the article's paragraphs, in a wrapper of its own (an appeal, an author's
    note), is no part of the article: candidate scoring finds where the article's run ends."""
    article = (f'<div class="entry-body">{ps(EN_PARAS)}</div>'
               f'<div class="box"><div class="inner">{ps(APPEAL)}</div></div>')
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "contribution" not in text and "paywall" not in text


def test_the_article_going_on_after_a_figure_in_another_wrapper_is_kept():
    """An article split by a full-width figure into two wrappers of one class goes on after the figure."""
    article = (f'<div class="section"><div class="body-text">{ps(EN_PARAS[:4])}</div></div>'
               '<div class="section"><figure><img src="/img/bridge.jpg" alt=""><figcaption>The bridge</figcaption>'
               f'</figure></div><div class="section"><div class="body-text">{ps(EN_PARAS[4:])}</div></div>')
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)


LEAD = ("Commuters get their crossing back after two years on ferries and detours, and the city says the repairs "
        "will keep the bridge standing for another fifty years.")


def test_lead_in_the_header_block_above_the_body_is_kept():
    """A standfirst set with the headline and the byline in a header block of its own, above the body's wrapper
    (whose common parent a list of links makes a poor answer), is the article's opening: it is kept, before the
    body, and the byline is not."""
    share = "".join(f'<a href="/topic/{n.lower()}">{n}</a> ' for n in (
        "Facebook", "Twitter", "LinkedIn", "WhatsApp", "Transport", "Harbour", "City council", "Cycling", "Ferries",
        "Infrastructure", "Budget", "Engineering"))
    html = f"""<!DOCTYPE html><html lang="en"><head><title>{EN_TITLE}</title></head><body>{EN_HEADER}
<div class="page"><div class="article-head"><h1>{EN_TITLE}</h1><div class="byline">By Jane Porter</div>
<div class="intro"><p>{LEAD}</p></div></div>
<div class="article-body"><div class="text">{ps(EN_PARAS)}</div></div>
<div class="actions"><div class="links">{share}</div></div></div>{EN_FOOTER}</body></html>"""
    text = body_text(html, EN_URL)
    assert_in_order(text, [LEAD, *EN_PARAS])
    assert "Jane Porter" not in text and "LinkedIn" not in text


@pytest.mark.parametrize("line", [
    "23.06.2016 um 16:14 Uhr - Jane Porter - 12 comments",
    "by Jane Porter on 12 May 2024",
    "Posted May 12, 2024 at 9:30",
    "2024年5月12日 09:30 来源：城南日报",
])
def test_a_dateline_between_the_standfirst_and_the_body_is_dropped(line):
    """A line that carries the article's date (the page's date is shown above the body) goes, also when it stands
    inside the run of paragraphs, after a standfirst; a sentence that names a date stays."""
    dated = "On 12 May 2024 at 09:30 the first buses crossed the bridge again, greeted by a small crowd of residents."
    article = f"<p>{LEAD}</p><p class=\"meta\">{line}</p>{ps([dated, *EN_PARAS])}"
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [LEAD, dated, *EN_PARAS])
    assert line not in text


@pytest.mark.parametrize("label", ["Lea también:", "Czytaj też:", "Lesen Sie hier:", "READ MORE:"])
def test_a_teaser_line_set_in_the_article_is_removed(label):
    """"<label>: <headline link>" between two paragraphs is a teaser for another article, in any language;
    a paragraph with a label and mostly its own text stays."""
    teaser = f'<p>{label} <a href="/2024/05/10/ferry.html">Ferry operators cut the summer timetable</a></p>'
    note = ('<p>Note: the crossing is closed to lorries over 7.5 tonnes until the load test in June, the '
            '<a href="/transport">transport department</a> says.</p>')
    article = ps(EN_PARAS[:3]) + teaser + note + ps(EN_PARAS[3:])
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "summer timetable" not in text
    assert "load test in June" in text


@pytest.mark.parametrize("credit", [
    "The northern ramp on Saturday evening. (Foto: Example Times)",
    "Engineers on the deck in March. © AFP / Jane Porter",
    "Photograph by Jane Porter for The Example Times",
])
def test_a_picture_credit_set_as_a_paragraph_is_dropped(credit):
    """A caption or credit line that a page sets as a plain paragraph under its picture is no part of the
    article's text; a sentence of the article that speaks of a photo by someone stays."""
    photo_sentence = ("A photo by a local cyclist of the first buses crossing the bridge was shared thousands of times "
                      "on Sunday, and the council put it on the front of its newsletter.")
    article = (ps(EN_PARAS[:2]) + f'<div class="img"><img src="/img/ramp.jpg" alt=""></div><p>{credit}</p>'
               + ps([photo_sentence, *EN_PARAS[2:]]))
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [*EN_PARAS[:2], photo_sentence, *EN_PARAS[2:]])
    assert credit not in text


def test_ruby_readings_are_not_part_of_the_text():
    """Pages for learners set the reading of each word over it (<ruby>子<rt>こ</rt></ruby>): the plain text is the
    sentence itself, not the sentence with its readings run into it; the body keeps the ruby markup."""
    sentence = "子どもへの虐待をなくすための法律ができました。"
    marked = ("<ruby>子<rt>こ</rt></ruby>どもへの<ruby>虐待<rp>(</rp><rt>ぎゃくたい</rt><rp>)</rp></ruby>"
              "をなくすための<ruby>法律<rt>ほうりつ</rt></ruby>ができました。")
    html = f"<div><p>{marked}</p></div>"
    assert html_to_text(html) == sentence
    assert "<rt>" in extract(cn_page(f"<p>{marked}</p>" + ps(CN_PARAS)), URL).body_html


def test_a_wiki_page_is_taken_whole_past_its_navigation_table():
    """A wiki article whose text is a list of long items and a few paragraphs, with a large navigation table of
    links in the same container: the table is dropped in cleaning, so it does not keep the search from taking
    the whole article rather than its longest list."""
    intro = ["The Harbour Bridge is a steel suspension bridge across the inner harbour, opened in 1962.",
             "It carries four lanes of road traffic and, since its reopening in 2024, a protected cycle lane."]
    items = [
        "In 1987 the bridge was closed for three weeks after a freighter struck one of the northern piers, which "
        "was later rebuilt with a wider concrete footing.",
        "The bridge appears in several films, most famously in the closing chase of a 1970s detective series, "
        "shot over four nights with the deck closed to traffic.",
        "From 2022 to 2024 more than four hundred of its cables were replaced, and the deck was resurfaced for "
        "the first time since the nineteen-eighties.",
        "A ferry service ran during both long closures, carrying up to six thousand passengers a day between the "
        "two ends of the bridge.",
    ]
    nav = "".join(f'<tr><td><a href="/wiki/Bridge_{i}">Bridge {i}</a></td><td><a href="/wiki/District_{i}">District '
                  f'{i}</a></td><td><a href="/wiki/Ferry_{i}">Ferry line {i}</a></td></tr>' for i in range(1, 31))
    html = f"""<!DOCTYPE html><html lang="en"><head><title>Harbour Bridge - Town Wiki</title></head><body>
<div class="page"><div class="wiki-content"><h1>Harbour Bridge</h1><h2>History</h2>
<ul>{"".join(f"<li>{i}</li>" for i in items)}</ul><h2>Today</h2>{ps(intro)}<table class="navbox">{nav}</table></div>
</div></body></html>"""
    text = body_text(html, "https://wiki.example.org/wiki/Harbour_Bridge")
    assert_in_order(text, [*items, *intro])
    assert "District 7" not in text


def test_a_short_plain_line_right_before_the_first_paragraph_is_kept():
    """A motto or a greeting set as its own short line just before the first paragraph, beside it, opens the
    article; a byline with its link and a dateline before it still go."""
    motto = "„Crisp outside, creamy inside“"
    article = ('<div class="meta"><a href="/authors/jane">Jane Porter</a></div><div class="body">'
               f'<p>12.05.2024</p><p>{motto}</p>{ps(EN_PARAS)}</div>')
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [motto, *EN_PARAS])
    assert "12.05.2024" not in text


def test_a_closing_line_right_after_the_last_paragraph_is_kept():
    """A post's or letter's closing line ("Yours, Jane") right after the last paragraph, beside it, ends the
    article; a contact line with an address after it does not belong."""
    closing = "Yours, Jane"
    contact = "Tips to news@example-times.com"
    article = f'<div class="body">{ps(EN_PARAS)}<p>{closing}</p><p>{contact}</p></div>'
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [*EN_PARAS, closing])
    assert contact not in text


def test_pictures_with_caption_lines_do_not_end_the_article():
    """Two pictures, each with a "click to enlarge" line, between the article's paragraphs and its short last
    one: the run goes on past them, and the last paragraph stays."""
    pic = '<p><a href="/img/a.png"><img src="/img/a_thumb.png" alt=""></a> Click to enlarge</p>'
    closing = "When the new lane opens to the city buses as well is not yet known, the council says."
    article = f'<div class="body">{ps(EN_PARAS)}{pic}{pic}<p>{closing}</p></div>'
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [*EN_PARAS, closing])


def test_a_contact_line_with_an_email_address_at_the_end_is_dropped():
    """"Write to … @ …" after the article is a contact line, not the article."""
    contact = "Send your story ideas to newsdesk@example-times.com and join our readers' panel"
    article = f'<div class="body">{ps(EN_PARAS)}<p>{contact}</p></div>'
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, EN_PARAS)
    assert "newsdesk@" not in text


def test_sentences_set_as_a_heading_at_the_end_are_kept():
    """A closing statement of two sentences set in an <h4> after the last paragraph reads as text, not as the
    title of a section that was removed; a short heading with nothing after it still goes."""
    closing = "The bridge will be inspected again in 2030. Until then, the council says, it is safe for all traffic."
    article = f'<div class="body">{ps(EN_PARAS)}<h4>{closing}</h4><h3>More on this</h3></div>'
    text = body_text(en_page(article), EN_URL)
    assert_in_order(text, [*EN_PARAS, closing])
    assert "More on this" not in text


def test_a_lead_above_a_captioned_picture_is_kept():
    """The lead stands above a picture whose caption credits the agency with a link: the caption is passed
    over on the way back to the lead, and is not kept itself."""
    share = "".join(f'<a href="/topic/{n}">{n.title()} news</a> ' for n in (
        "transport", "harbour", "council", "cycling", "ferries", "budget", "weather", "sport", "culture", "schools"))
    caption = 'The bridge at dawn. Photo: <a href="https://agency.example.org">Example Press Agency / Jane Porter</a>'
    html = f"""<!DOCTYPE html><html lang="en"><head><title>{EN_TITLE}</title></head><body>{EN_HEADER}
<div class="page"><div class="article-head"><h1>{EN_TITLE}</h1><div class="intro"><p>{LEAD}</p></div></div>
<p>{caption}</p>
<div class="article-body"><div class="text">{ps(EN_PARAS)}</div></div>
<div class="actions"><div class="links">{share}</div></div></div>{EN_FOOTER}</body></html>"""
    text = body_text(html, EN_URL)
    assert_in_order(text, [LEAD, *EN_PARAS])
    assert "The bridge at dawn" not in text
