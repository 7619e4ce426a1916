"""The headline and the date line as the page shows them: best_title, find_date, parse_text_date."""

from __future__ import annotations

from datetime import datetime

import lxml.html

from newsmirror.dates import CN_TZ, parse_text_date
from newsmirror.extract import extract
from newsmirror.extract.headline import best_title, find_date

HEADLINE = "城南老旧小区改造完成 三千多户居民告别漏水难题"
PARAS = [
    "记者从市住房和城乡建设局获悉，城南片区十二个老旧小区的综合改造工程已于本月初全部完工，涉及居民三千二百余户。",
    "这些小区大多建于上世纪九十年代，屋面渗漏、管网老化、道路破损等问题长期困扰居民，每逢雨季，顶层住户都要用盆接水。",
    "改造工程按照“先地下、后地上”的顺序推进，共更换供水管道八点六公里，新建雨污分流管网五公里，并对全部屋面重新做了防水。",
    "在改造方案确定之前，街道先后召开了四十多场居民议事会，加装电梯、增设停车位和充电桩等需求都被纳入了设计。",
    "市住建局有关负责人表示，下一步将建立长效管理机制，引入专业物业服务，确保改造成果能够长期保持。",
]
HEADER = """
<div class="header">
  <div class="logo"><a href="/">城南日报</a></div>
  <ul class="menu">
    <li><a href="/">首页</a></li><li><a href="/news/">新闻</a></li><li><a href="/local/">本地</a></li>
  </ul>
</div>
"""
FOOTER = '<div class="foot"><p>Copyright © 1997-2019 城南日报 版权所有</p></div>'
NOW = datetime(2024, 5, 12, 12, 0, tzinfo=CN_TZ)


def page(heading: str, *, title: str = f"{HEADLINE}_城南日报", head: str = "", header: str = HEADER) -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAS)
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body>
{header}
<div class="article">
  {heading}
  {body}
</div>
{FOOTER}
</body></html>"""


def doc_of(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def title_of(doc: lxml.html.HtmlElement) -> str | None:
    return doc.findtext(".//title")


def when(*args: int) -> datetime:
    return datetime(*args, tzinfo=CN_TZ)


# -- best_title ------------------------------------------------------------------------------------


def test_h1_in_page_title_beats_truncated_og_title():
    doc = doc_of(page(f"<h1>{HEADLINE}</h1>"))
    text, el = best_title(doc, "城南老旧小区改造完成 三千多户居民…", title_of(doc))
    assert text == HEADLINE
    assert el is not None and el.tag == "h1"


def test_site_suffix_stripped_from_page_title_without_h1():
    title = "城南老旧小区改造完成 三千多户居民告别漏水难题_本地_网易订阅"
    doc = doc_of(page("<p class='lead'>本报讯</p>", title=title))
    text, el = best_title(doc, None, title_of(doc))
    assert text == HEADLINE  # the longest segment of the <title>
    assert el is None


def test_extract_title_drops_site_suffix():
    article = extract(page("", title=f"{HEADLINE}_网易订阅"), "https://www.163.com/dy/article/ABC123.html")
    assert article.title == HEADLINE


def test_logo_h1_with_site_name_is_not_the_headline():
    header = HEADER.replace('<div class="logo"><a href="/">城南日报</a></div>',
                            '<h1 class="logo"><a href="/">城南日报</a></h1>')
    html = page(f'<h2 class="title">{HEADLINE}</h2>', title=f"{HEADLINE} - 城南日报",
                head=f'<meta property="og:title" content="{HEADLINE}">', header=header)
    doc = doc_of(html)
    text, el = best_title(doc, HEADLINE, title_of(doc))
    assert text == HEADLINE
    assert el is not None and el.tag == "h2"


def test_logo_h1_not_chosen_when_headline_is_also_h1():
    header = HEADER.replace('<div class="logo"><a href="/">城南日报</a></div>',
                            '<h1 class="logo"><a href="/">城南日报</a></h1>')
    doc = doc_of(page(f"<h1>{HEADLINE}</h1>", title=f"{HEADLINE} - 城南日报", header=header))
    text, el = best_title(doc, None, title_of(doc))
    assert text == HEADLINE
    assert el is not None and el.get("class") is None


# -- find_date -------------------------------------------------------------------------------------


def _date_under_headline(line: str, url: str | None = None) -> datetime | None:
    doc = doc_of(page(f'<h1>{HEADLINE}</h1><div class="sub"><span>{line}</span></div>'))
    h1 = doc.find(".//h1")
    return find_date(doc, h1, url)


def test_find_date_iso_line_with_source():
    assert _date_under_headline("2019-09-07 13:43:45 来源: 新华社") == when(2019, 9, 7, 13, 43, 45)


def test_find_date_chinese_date_line():
    assert _date_under_headline("2019年11月25日 16:04 城南日报") == when(2019, 11, 25, 16, 4)


def test_find_date_two_digit_year():
    assert _date_under_headline("18-03-08 23:16 编辑：李四") == when(2018, 3, 8, 23, 16)


def test_find_date_year_from_url():
    got = _date_under_headline("10-08 12:00 来源：城南日报", "https://news.example.com/2019/10/08/a1001.html")
    assert got == when(2019, 10, 8, 12, 0)


def test_find_date_time_element():
    doc = doc_of(page(f'<h1>{HEADLINE}</h1><p class="byline">文/张三 '
                      f'<time datetime="2021-06-01T08:30:00+08:00">6月1日</time></p>'))
    assert find_date(doc, None) == when(2021, 6, 1, 8, 30)


def test_find_date_none_without_a_date():
    doc = doc_of(page(f'<h1>{HEADLINE}</h1><div class="info">来源：城南日报 作者：张三</div>'))
    assert find_date(doc, doc.find(".//h1"), "https://news.example.com/local/a1001.html") is None


def test_extract_reads_date_line_when_metadata_has_none():
    html = page(f'<h1>{HEADLINE}</h1><div class="sub">2019-09-07 13:43:45 来源: 新华社</div>')
    assert extract(html, "https://news.example.com/a1001.html").published == when(2019, 9, 7, 13, 43, 45)


# -- parse_text_date -------------------------------------------------------------------------------


def test_parse_text_date_reads_first_date():
    assert parse_text_date("发布时间：2024-05-10 08:15 来源：本报", now=NOW) == when(2024, 5, 10, 8, 15)


def test_parse_text_date_ignores_future_dates():
    assert parse_text_date("2024-06-30 10:00", now=NOW) is None
    assert parse_text_date("2099年1月1日", now=NOW) is None


def test_parse_text_date_ignores_dates_before_1995():
    assert parse_text_date("1990-05-04 10:00", now=NOW) is None
    assert parse_text_date("1994年12月31日", now=NOW) is None


def test_parse_text_date_copyright_years_are_not_a_date():
    assert parse_text_date("Copyright © 1997-2019 网易公司版权所有", now=NOW) is None
    assert parse_text_date("1997-2019 网易公司版权所有", now=NOW) is None
