"""End-to-end mirror benchmark: `newsmirror run` against a synthetic Chinese news site on 127.0.0.1.

    python benchmarks/mirror.py [--sizes 1000,10000] [--modes rules,generic] [--keep DIR] [--out mirror.md]
    python benchmarks/mirror.py --profile [--sizes 1000] [--stages-only]   # where the time goes (rules mode)
    python benchmarks/mirror.py --engine dask [...]   # the same runs with [workers] engine = "dask"

For each size N a site server starts in a process of its own (`--serve`, aiohttp). It makes N
article pages deterministically from the article number (seeded random): 0.5-30 KB of text in
3-40 paragraphs, with a header nav, breadcrumb, share bar, lead image <figure> with caption,
in-body ad slot and links, tags, editor line, related list, comments, sidebar and footer,
og/article/JSON-LD metadata, a canonical link and a date. It serves them gzip-compressed with
ETag/Last-Modified (and 304s), like a static web server, together with 10 RSS feeds (one per
source, 2 sources per category, N/10 items each; item links carry `?from=rss`) and a
robots.txt that allows everything. Pages are made before the server says it is ready, so
serving is a dictionary lookup. Every image path (`/images/…`: each article's lead image, and the
in-body pictures of about 18% of them, 1.18 per article) gets a real JPEG of its own: 50 photo-like
800-pixel-wide pictures (quality 85, 28-45 KB) are made with Pillow at startup, and a path gets one
of them, picked by its hash, with a few quantisation steps nudged by the hash so that it decodes to
slightly different pixels (the mirror downloads, checks and stores each as a file of its own, as it
would a real site's pictures). 800 pixels is what the reference site serves (its article's lead image
is 800×450), and it fits images.max_width, so the mirror keeps these JPEGs as they are, metadata cut;
what scaling a wider picture costs is measured by benchmarks/images.py.

For each mode (`rules`: per-source CSS rules that match the markup; `generic`: none) the real
mirror runs as a subprocess, `python -m newsmirror --config … -q run`, in a fresh folder:
wall time, CPU time and peak RSS of the largest process (wait4), and the peak summed RSS and
PSS of its whole process tree (worker pools, git; sampled every 0.25 s) are measured; then the
same command again on the result (nothing new: a no-op re-run). What the rest of the (shared)
machine did meanwhile is recorded beside it. The articles in the store are then checked
against what the generator put in the pages.

`--profile` runs rules mode at the first size twice with stage timers (a first run, then a no-op
re-run; worker processes report their own timers) and once in process under cProfile.

Prints tables and writes benchmarks/results/mirror.md (or, with --profile,
benchmarks/results/mirror-profile.md). Nothing here is a test; it is run by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

SITE = "华夏时报网"
CN = timezone(timedelta(hours=8))
NEWEST = datetime(2024, 6, 30, 20, 0, tzinfo=CN)  # article 0; each next one 17 minutes older
ID_BASE = 1_000_000
CATEGORIES = [("china", "中国"), ("intl", "国际"), ("finance", "财经"), ("tech", "科技"), ("culture", "文化")]
SOURCES = [(f"{key}-{k}", key) for key, _ in CATEGORIES for k in (1, 2)]  # article i belongs to SOURCES[i % 10]
CAT_TITLE = dict(CATEGORIES)
RULES = {
    "title": "h1.article-title",
    "body": "div.article-content",
    "date": "div.article-meta time",
    "image": "figure.lead-image img",
    "caption": "figure.lead-image figcaption",
    "remove": [".ad-slot", ".share-bar"],
}
ENGINE = {"engine": "local"}  # [workers] engine of every run (--engine): "local" or "dask" (a cluster on this machine)
TARGETS = {"rules_aps": 200.0, "rss_mb": 500.0, "flat_ratio": 1.25, "noop_s": 2.0}

# ---------------------------------------------------------------------------------------------------------------
# the synthetic site

PLACES = ("北京 上海 广州 深圳 香港 台北 成都 武汉 西安 南京 杭州 重庆 天津 华盛顿 纽约 伦敦 巴黎 东京 首尔 柏林 "
          "莫斯科 新德里 悉尼 多伦多 新加坡 日内瓦 布鲁塞尔 曼谷 雅加达 开罗").split()
SUBJECTS = ("当局 官员 学者 民众 企业界 市政府 国会 央行 法院 研究人员 律师团 医学界 工会 大学生 农民 投资者 "
            "维权人士 议员 外交部 商务部 监管机构 反对派 科技公司 环保团体").split()
VERBS = "宣布 否认 批评 调查 公布 推动 暂停 扩大 限制 回应 承认 讨论 推迟 加强 放宽 质疑 支持 反对 审查 启动".split()
OBJECTS = ("新规 改革方案 贸易协议 房地产政策 疫苗计划 言论管控 选举结果 经济数据 出口禁令 教育改革 网络审查 "
           "人权报告 能源价格 债务危机 移民政策 科技制裁 环保法规 军事演习 金融监管 就业计划 养老金改革 "
           "芯片出口 粮食安全 医保制度 地方债务 数据安全法").split()
TAILS = ["", "", "", "，引发各界关注", "：专家称影响深远", "，民众反应不一", "（附全文）", "，市场应声波动",
         "：一周内第二次", "，外界质疑透明度"]
WORDS = ("经济 发展 政府 政策 社会 国际 市场 问题 情况 方面 工作 国家 地区 人民 企业 部门 记者 报道 表示 认为 "
         "指出 强调 继续 进一步 已经 目前 今年 去年 近日 日前 此前 同时 但是 因此 然而 此外 不过 其中 由于 "
         "对于 根据 关于 通过 进行 提出 实施 加强 推进 影响 措施 计划 项目 资金 投资 增长 下降 上涨 数据 统计 "
         "显示 调查 研究 专家 学者 官员 民众 居民 消费者 公司 银行 行业 产业 技术 创新 安全 环境 教育 医疗 "
         "卫生 就业 收入 价格 成本 风险 危机 改革 开放 合作 交流 会议 谈判 协议 合同 法律 法规 制度 管理 监管 "
         "执法 法院 判决 案件 警方 抗议 示威 选举 投票 议会 总统 总理 部长 外交 军事 国防 边境 贸易 关税 出口 "
         "进口 能源 石油 天然气 电力 交通 铁路 航空 城市 农村 土地 房屋 住房 人口 老龄化 青年 儿童 家庭 网络 "
         "平台 信息 媒体 新闻 言论 自由 权利 人权 宗教 文化 历史 传统 艺术 体育 比赛 旅游 天气 灾害 地震 洪水 "
         "疫情 病毒 疫苗 供应链 制造业 房地产 股市 汇率 通胀 利率 债券 预算 赤字 补贴 税收 养老 社保").split()
FUNCTION = "的 了 在 和 与 对 将 也 都 并 而 及 等 已 被 把 向 从 为 是 有 会 要 可能 仍 更".split()
NAMES = "王明 李华 张伟 刘洋 陈静 杨帆 赵磊 黄蕾 周杰 吴敏 徐晨 孙悦 马骏 朱琳 胡斌 郭婷 何军 林涛 罗佳 高峰".split()
COMMENTS = [
    "这篇报道写得很客观，希望贵网继续关注这件事的后续发展。", "楼上说得对，普通百姓最关心的还是物价和就业。",
    "看完之后心情很沉重，真心希望情况能尽快好转。", "作为当地居民，我可以证实文中所说的情况基本属实。",
    "数据从哪里来的？希望记者能给出更详细的出处。", "每次看到这类新闻都觉得很无奈，什么时候才能真正改变？",
    "支持！这样的深度报道现在越来越少了。", "文中提到的政策去年就宣布过，到现在还没有落实。",
    "转发给家里人看看，让他们也了解一下外面的真实情况。", "建议大家多看看不同来源的报道，自己做判断。",
    "感谢记者冒着风险做这样的调查，辛苦了。", "这个问题说到底还是制度的问题，换个人也一样。",
]
COPYRIGHT = "本网站所刊载信息，不代表本网观点。刊用本网站稿件，务经书面授权。转载请注明出处。"
# text that must not end up in an extracted body (plus each page's own comments). The credit line
# （责任编辑：…） is not on the list: the mirror keeps it on purpose, as the seed page does.
BOILERPLATE = ["网友评论", "相关新闻", "热门文章", "版权所有", "转载请注明出处", "分享到", "订阅电子报",
               "发表评论", "上一篇", "下一篇"]


def _sentence_pool() -> list[str]:
    rng = random.Random(20240630)
    pool = []
    for _ in range(4000):
        parts: list[str] = []
        for j in range(rng.randint(4, 14)):
            parts.append(rng.choice(WORDS))
            if rng.random() < 0.45:
                parts.append(rng.choice(FUNCTION))
            if j and rng.random() < 0.18:
                parts.append("，")
        s = "".join(parts).strip("，")
        pool.append(s + rng.choice("。。。。！？"))
    return pool


POOL = _sentence_pool()


def published(i: int) -> datetime:
    return NEWEST - timedelta(minutes=17 * i)


def article_path(i: int) -> str:
    d = published(i)
    return f"/news/{SOURCES[i % 10][1]}/{d:%Y/%m/%d}/a{ID_BASE + i}.html"


def title_of(i: int) -> str:
    r = random.Random(f"title-{i}")
    return r.choice(PLACES) + r.choice(SUBJECTS) + r.choice(VERBS) + r.choice(OBJECTS) + r.choice(TAILS)


def _para(r: random.Random, target_bytes: int) -> str:
    out: list[str] = []
    size = 0
    while size < target_bytes:
        s = r.choice(POOL)
        x = r.random()
        if x < 0.12:
            s = f"截至{r.randint(1, 12)}月{r.randint(1, 28)}日，" + s
        elif x < 0.22:
            s = s[:-1] + f"，涉及金额约{r.randint(2, 9999)}亿元" + s[-1]
        elif x < 0.30:
            s = s[:-1] + f"，比例达{r.randint(1, 99)}.{r.randint(0, 9)}%" + s[-1]
        elif x < 0.36:
            s = f"“{s[:-1]}，”{r.choice(NAMES)}说，“{r.choice(POOL)}”"
        out.append(s)
        size += 3 * len(s)
    return "".join(out)


def make_article(i: int, n: int, base: str) -> dict:
    """Article i of a site of n articles: its HTML and what a perfect extraction would give."""
    r = random.Random(f"article-{i}")
    cat_key = SOURCES[i % 10][1]
    cat = CAT_TITLE[cat_key]
    title = title_of(i)
    when = published(i)
    url = base + article_path(i)
    place = r.choice(PLACES)
    author = r.choice(NAMES)
    editor = r.choice(NAMES)
    text_bytes = int(min(29_500, max(600, r.lognormvariate(8.4, 0.85))))  # median ~4.4 KB of text
    n_par = min(40, max(3, round(text_bytes / r.uniform(300, 900))))
    weights = [r.uniform(0.6, 1.4) for _ in range(n_par)]
    dateline = f"（{SITE}{place}{when.month}月{when.day}日讯）"
    budget = text_bytes - len(dateline.encode()) - 45 * n_par  # a paragraph overshoots by half a sentence
    paras = [_para(r, max(60, int(budget * w / sum(weights)))) for w in weights]
    paras[0] = dateline + paras[0]
    link_to = i + r.randint(31, 60) if r.random() < 0.5 else None  # an older article, linked in the text
    body: list[str] = []
    expected: list[str] = []  # texts that belong in the extracted body, in order
    fig_at = r.randrange(2, n_par) if n_par >= 6 and r.random() < 0.3 else -1
    quote_at = r.randrange(1, n_par) if r.random() < 0.3 else -1
    link_at = r.randrange(0, n_par)
    for k, p in enumerate(paras):
        if k and n_par >= 8 and k % 6 == 0:
            head = r.choice(POOL)[:-1][:14]
            body.append(f"<h2>{escape(head)}</h2>")
            expected.append(head)
        if k == n_par // 2 and k:
            body.append('<div class="ad-slot"><ins class="adsbygoogle" data-ad-client="ca-pub-0000" '
                        'data-ad-slot="4242"></ins><span class="ad-label">广告</span></div>')
        if k == fig_at:
            cap = f"图为{r.choice(PLACES)}街头一景。（{r.choice(NAMES)}/摄影）"
            body.append(f'<figure class="inline-image"><img src="/images/{when:%Y/%m}/a{ID_BASE + i}-{k}.jpg" '
                        f'alt="" width="640" height="360"><figcaption>{escape(cap)}</figcaption></figure>')
        if k == quote_at:
            q = r.choice(POOL)
            body.append(f"<blockquote><p>{escape(q)}</p></blockquote>")
            expected.append(q)
        if k == link_at and link_to is not None and link_to < n:
            lt = title_of(link_to)
            cut = len(p) // 2
            body.append(f"<p>{escape(p[:cut])}（详见<a href=\"{base}{article_path(link_to)}\">{escape(lt)}</a>）"
                        f"{escape(p[cut:])}</p>")
            expected.append(p[:cut] + "（详见" + lt + "）" + p[cut:])
        else:
            body.append(f"<p>{escape(p)}</p>")
            expected.append(p)
    lead = f"{base}/images/{when:%Y/%m}/a{ID_BASE + i}-lead.jpg"
    caption = f"{place}{r.choice(SUBJECTS)}资料图片。（{SITE}/{r.choice(NAMES)}摄）"
    related = [j for j in range(i + 1, i + 9) if j < n]
    hot = r.sample(range(min(n, 50)), min(n, 10))
    comments = r.sample(COMMENTS, r.randint(0, 8))
    tags = r.sample(OBJECTS, 3)
    iso = when.isoformat()
    desc = paras[0][:80]
    ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "description": desc,
        "datePublished": iso, "dateModified": iso, "mainEntityOfPage": url, "image": [lead],
        "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": SITE, "logo": {"@type": "ImageObject",
                                                                       "url": base + "/images/logo.png"}},
        "articleSection": cat, "keywords": tags,
    }, ensure_ascii=False)
    nav = "".join(f'<li><a href="/news/{k}/">{escape(t)}</a></li>' for k, t in CATEGORIES)
    nav += "".join(f'<li><a href="/{k}/">{t}</a></li>' for k, t in (("video", "视频"), ("opinion", "评论"),
                                                                    ("photo", "图集"), ("special", "专题"),
                                                                    ("world", "全球"), ("app", "下载App")))
    hot_html = "".join(f'<li><span class="rank">{k + 1}</span><a href="{article_path(j)}">{escape(title_of(j))}'
                       f"</a></li>" for k, j in enumerate(hot))
    rel_html = "".join(f'<li><a href="{article_path(j)}">{escape(title_of(j))}</a>'
                       f'<span class="date">{published(j):%m-%d}</span></li>' for j in related)
    com_html = "".join(f'<li class="comment"><div class="comment-author">网友“{r.choice(NAMES)}{r.randint(10, 99)}”'
                       f'</div><p class="comment-text">{escape(c)}</p><div class="comment-time">'
                       f'{when + timedelta(minutes=r.randint(5, 600)):%Y-%m-%d %H:%M}</div></li>' for c in comments)
    tag_html = "".join(f'<a href="/tag/{escape(t)}" rel="tag">{escape(t)}</a> ' for t in tags)
    prev_link = f'<a href="{article_path(i + 1)}">上一篇：{escape(title_of(i + 1))}</a>' if i + 1 < n else ""
    next_link = f'<a href="{article_path(i - 1)}">下一篇：{escape(title_of(i - 1))}</a>' if i else ""
    html = f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - {cat} - {SITE}</title>
<meta name="description" content="{escape(desc)}">
<meta name="keywords" content="{escape(','.join(tags))}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE}">
<meta property="og:title" content="{escape(title)}">
<meta property="og:url" content="{url}">
<meta property="og:image" content="{lead}">
<meta property="og:description" content="{escape(desc)}">
<meta property="article:published_time" content="{iso}">
<meta property="article:section" content="{cat}">
<meta name="author" content="{author}">
<link rel="canonical" href="{url}">
<link rel="stylesheet" href="/static/css/site.min.css?v=20240601">
<link rel="alternate" type="application/rss+xml" title="{cat}" href="/feeds/{SOURCES[i % 10][0]}.xml">
<script type="application/ld+json">{ld}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());
gtag('config','G-XXXXXXX',{{page_path:'{article_path(i)}'}});</script>
<style>.ad-slot{{min-height:250px}}.sidebar{{width:300px;float:right}}</style>
</head>
<body class="article-page">
<div class="top-bar"><div class="wrap"><span class="today">{when:%Y年%m月%d日}</span>
<a href="/login">登录</a> | <a href="/register">注册</a> | <a href="/gb/">简体</a> | <a href="/b5/">繁體</a></div></div>
<header class="site-header"><div class="wrap"><div class="logo"><a href="/"><img src="/images/logo.png"
alt="{SITE}"></a></div>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input type="text" name="q" placeholder="搜索"><button>搜索</button></form>
</div></header>
<div class="wrap">
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/news/{cat_key}/">{cat}</a> &gt; 正文</div>
<div class="main-col">
<article class="article" id="article-{ID_BASE + i}">
<h1 class="article-title">{escape(title)}</h1>
<div class="article-meta"><span class="source">来源：{SITE}</span> <span class="author">记者：{author}</span>
<time class="pubdate" datetime="{iso}">{when.year}年{when.month}月{when.day}日 {when:%H:%M}</time>
<span class="views">阅读 {r.randint(100, 90000)}</span></div>
<div class="share-bar">分享到：<a href="#" class="wechat">微信</a> <a href="#" class="weibo">微博</a>
<a href="https://twitter.com/intent/tweet?url={url}">Twitter</a> <a href="#" class="fb">Facebook</a>
<a href="javascript:window.print()">打印</a></div>
<figure class="lead-image"><img src="/images/{when:%Y/%m}/a{ID_BASE + i}-lead.jpg" alt="{escape(title)}"
width="900" height="506"><figcaption>{escape(caption)}</figcaption></figure>
<div class="article-content" id="content">
{chr(10).join(body)}
</div>
<div class="article-tags">标签：{tag_html}</div>
<p class="editor">（责任编辑：{editor}）</p>
<p class="copyright-notice">{COPYRIGHT}</p>
<div class="prev-next">{prev_link} {next_link}</div>
</article>
<section class="related-news"><h3>相关新闻</h3><ul>{rel_html}</ul></section>
<section class="comments" id="comments"><h3>网友评论（{len(comments)}）</h3><ul class="comment-list">{com_html}</ul>
<form class="comment-form"><textarea name="c" placeholder="文明上网，理性发言"></textarea><button>发表评论</button>
</form></section>
</div>
<aside class="sidebar">
<div class="widget hot-list"><h3>热门文章</h3><ol>{hot_html}</ol></div>
<div class="widget ad-box"><a href="https://ads.example/click?id=7"><img src="/images/ad-300x250.jpg" width="300"
height="250" alt="广告"></a></div>
<div class="widget newsletter"><h3>订阅电子报</h3><p>每天早上把最重要的新闻送到您的邮箱，免费订阅，随时退订。</p>
<form><input type="email" name="email"><button>订阅</button></form></div>
<div class="widget qrcode"><img src="/images/app-qr.png" alt="下载App"><p>扫码下载{SITE}App</p></div>
</aside>
</div>
<footer class="site-footer"><div class="wrap"><p><a href="/about">关于我们</a> | <a href="/contact">联系我们</a> |
<a href="/jobs">加入我们</a> | <a href="/privacy">隐私政策</a> | <a href="/ads">广告服务</a></p>
<p>© 2005-2024 {SITE} 版权所有 All Rights Reserved.</p></div></footer>
<script src="/static/js/app.min.js?v=20240601" defer></script>
</body>
</html>
"""
    return {
        "i": i, "url": url, "html": html, "title": title, "published": when, "image": lead, "caption": caption,
        "expected": expected, "comments": comments, "text_bytes": sum(len(p.encode()) for p in paras),
    }


def feed_xml(source_index: int, n: int, base: str) -> str:
    name, cat_key = SOURCES[source_index]
    items = []
    for i in range(source_index, n, 10):  # newest first
        items.append(
            f"<item><title>{escape(title_of(i))}</title><link>{base}{article_path(i)}?from=rss</link>"
            f'<guid isPermaLink="true">{base}{article_path(i)}</guid><pubDate>{format_datetime(published(i))}'
            f"</pubDate><category>{CAT_TITLE[cat_key]}</category><description>{escape(POOL[i % len(POOL)])}"
            f"</description></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{SITE} - '
            f"{CAT_TITLE[cat_key]}</title><link>{base}/news/{cat_key}/</link><description>{SITE}{CAT_TITLE[cat_key]}"
            f"新闻</description><language>zh-cn</language><lastBuildDate>{format_datetime(NEWEST)}</lastBuildDate>"
            + "".join(items) + "</channel></rss>\n")


PHOTOS = 50  # distinct pictures the site server makes at startup


def photo(k: int, width: int = 800, quality: int = 85, **save: object) -> bytes:
    """Picture k of the site: a deterministic photo-like JPEG, 800 pixels wide (quality 85: about 28-45 KB) unless
    asked otherwise: smooth colour fields, shapes with blurred edges and a little grain."""
    import io

    from PIL import Image, ImageDraw, ImageFilter

    r = random.Random(f"photo-{k}")
    w, h = 800, r.choice([450, 533, 600])
    if width != w:
        w, h = width, round(h * width / w)
    noise = Image.effect_noise((w // 16, h // 16), 40).convert("L")
    channels = []
    for _ in range(3):  # each channel the noise, scaled and shifted: a colour cast of its own
        a, b = r.uniform(0.5, 1.2), r.randint(-40, 80)
        channels.append(noise.point([max(0, min(255, int(v * a + b))) for v in range(256)]))
    img = Image.merge("RGB", channels)
    img = img.resize((w, h), Image.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(r.randint(6, 14)):
        x0, y0 = r.randrange(w), r.randrange(h)
        box = (x0, y0, x0 + r.randint(40, 300), y0 + r.randint(30, 200))
        (draw.ellipse if r.random() < 0.5 else draw.rectangle)(box, fill=tuple(r.randrange(256) for _ in range(3)))
    img = img.filter(ImageFilter.GaussianBlur(r.uniform(1.5, 3.0)))
    grain = Image.effect_noise((w, h), 8).convert("L")
    img = Image.blend(img, Image.merge("RGB", [grain] * 3), 0.03)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, **save)
    return out.getvalue()


def dqt_offset(jpeg: bytes) -> int:
    """Where the first quantisation table's 64 entries start in a baseline JPEG (8-bit precision)."""
    i = 2
    while i + 4 <= len(jpeg):
        marker, length = jpeg[i + 1], int.from_bytes(jpeg[i + 2:i + 4], "big")
        if marker == 0xDB and jpeg[i + 4] >> 4 == 0:
            return i + 5
        i += 2 + length
    raise ValueError("no 8-bit quantisation table")


def image_for(path: str, photos: list[tuple[bytes, int]]) -> bytes:
    """The JPEG served at an image path: one of the pictures, picked by the path's hash, with 20 of its
    low-frequency quantisation steps nudged by further bits of that hash. The file stays a valid JPEG, but it
    decodes to slightly different pixels, so each path is an image of its own (as each article's picture is
    on a real site) and the mirror's content addressing does not fold them into a few files."""
    h = int.from_bytes(hashlib.sha256(path.encode()).digest()[:8], "big")
    jpeg, at = photos[h % len(photos)]
    data = bytearray(jpeg)
    bits = h // len(photos)
    for k in range(1, 21):
        if bits >> k & 1:
            data[at + k] = min(255, data[at + k] + 1)
    return bytes(data)


def serve(n: int, port: int = 0, pictures: bool = True) -> None:
    """The site server (`--serve`): prints `READY <port>` once every page is made, then serves until killed.
    Without `pictures` (for runs that link pictures and never fetch them) its picture addresses answer 404."""
    from aiohttp import web

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    files: dict[str, tuple[bytes, bytes, str, str, str]] = {}  # path → (raw, gzip, content type, etag, last-mod)

    def add(path: str, data: str | bytes, ctype: str, when: datetime) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        files[path] = (raw, gzip.compress(raw, 6, mtime=0), ctype, '"' + hashlib.md5(raw).hexdigest()[:16] + '"',
                       format_datetime(when.astimezone(UTC), usegmt=True))

    t0 = time.perf_counter()
    add("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain; charset=utf-8", NEWEST)
    for s, (name, _) in enumerate(SOURCES):
        add(f"/feeds/{name}.xml", feed_xml(s, n, base), "application/rss+xml; charset=utf-8", NEWEST)
    text_total = 0
    for i in range(n):
        a = make_article(i, n, base)
        text_total += a["text_bytes"]
        add(article_path(i), a["html"], "text/html; charset=utf-8", a["published"])
    photos = [(jpeg, dqt_offset(jpeg)) for jpeg in (photo(k) for k in range(PHOTOS if pictures else 0))]

    async def handle(request: web.Request) -> web.StreamResponse:
        found = files.get(request.path)
        if found is None:
            if request.path.startswith("/images/") and photos:
                return web.Response(body=image_for(request.path, photos), content_type="image/jpeg",
                                    headers={"Cache-Control": "max-age=86400"})
            return web.Response(status=404, text="<html><body><h1>404 Not Found</h1></body></html>",
                                content_type="text/html")
        raw, gz, ctype, etag, last_mod = found
        headers = {"Content-Type": ctype, "ETag": etag, "Last-Modified": last_mod, "Vary": "Accept-Encoding",
                   "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == etag or (
                "If-None-Match" not in request.headers and request.headers.get("If-Modified-Since") == last_mod):
            return web.Response(status=304, headers={"ETag": etag, "Last-Modified": last_mod})
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=gz, headers=headers)
        return web.Response(body=raw, headers=headers)

    async def main() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        html_bytes = sum(len(f[0]) for p, f in files.items() if p.endswith(".html"))
        gz_bytes = sum(len(f[1]) for p, f in files.items() if p.endswith(".html"))
        print(f"READY {port} {time.perf_counter() - t0:.1f} {text_total} {html_bytes} {gz_bytes}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


class Server:
    def __init__(self, n: int, port: int = 0, pictures: bool = True) -> None:
        self.n = n
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--n", str(n), "--port", str(port),
                                      *([] if pictures else ["--no-pictures"])], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split() if self.proc.stdout else []
        if not line or line[0] != "READY":
            self.proc.kill()
            raise SystemExit(f"the site server for N={n} did not start")
        self.port = int(line[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.build_s = float(line[2])
        self.text_bytes, self.html_bytes, self.gz_bytes = int(line[3]), int(line[4]), int(line[5])

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---------------------------------------------------------------------------------------------------------------
# the mirror runs


def q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a TOML basic string


def write_config(folder: Path, base: str, n: int, mode: str) -> Path:
    lines = [
        "[site]", f"title = {q(SITE + '镜像')}", 'output = "mirror"',
        'base_url = "https://github.com/example/news/blob/main"', "",
        "[fetch]", "concurrency = 32", "per_host = 32", "obey_robots = true", "warc = true", "",
    ]
    for key, title in CATEGORIES:
        lines += [f"[categories.{key}]", f"title = {q(title)}", ""]
    for name, cat in SOURCES:
        lines += ["[[sources]]", f"name = {q(name)}", 'kind = "rss"', f"url = {q(f'{base}/feeds/{name}.xml')}",
                  f"category = {q(cat)}", f"limit = {max(1, -(-n // 10))}", ""]
        if mode in ("rules", "rules-text"):
            lines += ["[sources.rules]"] + [f"{k} = {q(v) if isinstance(v, str) else json.dumps(v)}"
                                            for k, v in RULES.items()] + [""]
    if mode == "rules-text":  # the text pipeline alone: images linked where they are, not mirrored
        lines += ["[images]", "download = false", ""]
    else:  # every picture in the one run measured (the default 200 MB a run would leave some of 10,000 articles')
        lines += ["[images]", "max_bytes_per_run = 2000000000", ""]
    if ENGINE["engine"] != "local":  # no scheduler: the run starts a cluster of worker processes on this machine
        lines += ["[workers]", f"engine = {q(ENGINE['engine'])}", ""]
    path = folder / "newsmirror.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def machine_busy_s() -> float:
    """CPU seconds all cores of the machine spent busy since boot (from /proc/stat)."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / os.sysconf("SC_CLK_TCK")  # user nice system irq softirq steal


def calibrate() -> float:
    """Milliseconds of one fixed pure-Python workload here and now: how fast this (shared) machine is right now."""
    t = time.process_time()
    x = 0
    for k in range(300_000):
        x = (x * 31 + k) % 1_000_003
    return (time.process_time() - t) * 1000


class TreeSampler(threading.Thread):
    """Samples the memory of a process and all its descendants (worker pools, git) every `interval` seconds:
    the peak of the summed RSS, and of the summed PSS (shared pages counted once, split between sharers)."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss_mb = self.peak_pss_mb = 0.0
        self.peak_procs = 0
        self._halt = threading.Event()

    def tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(d))
        out = [self.pid]
        for p in out:
            out.extend(children.get(p, []))
        return out

    def sample(self) -> None:
        rss = pss = 0
        procs = 0
        for p in self.tree():
            try:
                text = Path(f"/proc/{p}/smaps_rollup").read_text()
            except OSError:
                continue
            procs += 1
            for line in text.splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)
        self.peak_procs = max(self.peak_procs, procs)

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_measured(cmd: list[str], cwd: Path, log: Path) -> dict:
    """Run cmd; wall seconds, CPU seconds and peak RSS (MB, the largest single process) of it and the children
    it waited for (wait4); the peak summed RSS and PSS of its process tree (sampled); and what the rest of the
    machine did meanwhile (load average at the start, CPU seconds busy on all cores)."""
    load = float(Path("/proc/loadavg").read_text().split()[0])
    calib = calibrate()
    with open(log, "ab") as out:
        busy0 = machine_busy_s()
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy = machine_busy_s() - busy0
        sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024, "code": proc.returncode,
            "tree_rss_mb": sampler.peak_rss_mb, "tree_pss_mb": sampler.peak_pss_mb, "procs": sampler.peak_procs,
            "busy": busy, "load": load, "calib_ms": calib}


def source_fingerprint() -> str:
    """Which newsmirror was measured (the code changes while benchmarks run): a hash of its .py/.j2 files."""
    import newsmirror

    root = Path(newsmirror.__file__).parent
    h = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.suffix in (".py", ".j2") and p.is_file())
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    newest = max(p.stat().st_mtime for p in files)
    repo = HERE.parent
    where = root.relative_to(repo).as_posix() if root.is_relative_to(repo) else "newsmirror as installed"
    commit = ""
    if root.is_relative_to(repo):  # which commit, and whether the measured files differ from it
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", str(root)],
                               capture_output=True, text=True)
        if head.returncode == 0:
            commit = f", commit {head.stdout.strip()}" + (" with uncommitted changes" if dirty.stdout.strip() else "")
    return (f"{where} ({len(files)} .py/.j2 files, sha256 {h.hexdigest()[:12]}, newest change "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(newest))}{commit})")


def last_summary(log: Path) -> str:
    lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if " new, " in x]
    return lines[-1].strip() if lines else "(no summary line)"


def du_mb(path: Path) -> float:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_size
            except OSError:  # gone meanwhile
                pass
    return total / 1e6


def left_behind(folder: Path) -> list[int]:
    """Processes still working in the run's folder after it exited (a detached `git gc --auto`, say)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cwd = os.readlink(f"/proc/{d}/cwd")
            except OSError:
                continue
            if cwd == str(folder) or cwd.startswith(str(folder) + os.sep):
                out.append(int(d))
    return out


def wait_left_behind(folder: Path, limit: float = 900) -> float:
    """Wait for what the run left running in its folder; the seconds waited (so runs do not overlap)."""
    t0 = time.perf_counter()
    while left_behind(folder) and time.perf_counter() - t0 < limit:
        time.sleep(0.1)
    return time.perf_counter() - t0


def check_store(folder: Path, server: Server, n: int, sample: int) -> dict:
    """What the store holds, against what the generator put in the pages (every k-th article)."""
    import sqlite3

    import lxml.html

    db = sqlite3.connect(f"file:{folder / 'newsmirror.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    rows = list(db.execute("SELECT url, title, body_html, published, image, caption, extracted_by FROM articles"))
    by = {}
    for r in rows:
        by[r["extracted_by"]] = by.get(r["extracted_by"], 0) + 1
    failed = db.execute("SELECT COUNT(*) FROM urls WHERE status IN ('failed', 'gave_up')").fetchone()[0]
    dup = db.execute("SELECT COUNT(*) FROM urls WHERE status='duplicate'").fetchone()[0]
    shown = db.execute("SELECT COUNT(DISTINCT url) FROM article_images").fetchone()[0]
    images = dict(db.execute("SELECT status, COUNT(*) FROM images GROUP BY status").fetchall())
    assets = db.execute("SELECT COUNT(DISTINCT asset) FROM images WHERE status='ok'").fetchone()[0]
    db.close()
    step = max(1, len(rows) // sample) if sample else 1
    picked = rows[::step]
    ok = {"title": 0, "date": 0, "image": 0, "caption": 0, "complete": 0, "clean": 0}
    recall_sum = 0.0
    problems: list[str] = []
    leaked: dict[str, int] = {}
    squash = re.compile(r"\s+")
    for r in picked:
        m = re.search(r"/a(\d+)\.html", r["url"])
        i = int(m.group(1)) - ID_BASE
        want = make_article(i, n, server.base)
        text = squash.sub("", lxml.html.fragment_fromstring(r["body_html"] or "<p></p>",
                                                            create_parent="div").text_content())
        got = [squash.sub("", e) in text for e in want["expected"]]
        recall_sum += sum(got) / len(got)
        leaks = [b for b in BOILERPLATE + want["comments"] if b in text]
        for b in leaks:
            key = "a comment" if b in want["comments"] else b
            leaked[key] = leaked.get(key, 0) + 1
        ok["complete"] += all(got)
        ok["clean"] += not leaks
        ok["title"] += r["title"] == want["title"]
        ok["date"] += bool(r["published"]) and datetime.fromisoformat(r["published"]) == want["published"]
        ok["image"] += r["image"] == want["image"]
        ok["caption"] += (r["caption"] or "") == want["caption"]
        if (not all(got) or leaks or r["title"] != want["title"]) and len(problems) < 5:
            problems.append(f"{r['url']}: {sum(got)}/{len(got)} paragraphs, leaks {leaks[:3]}, "
                            f"title {'ok' if r['title'] == want['title'] else repr(r['title'])}")
    k = max(1, len(picked))
    return {"articles": len(rows), "by": by, "failed": failed, "duplicates": dup, "checked": len(picked),
            "images_shown": shown, "images_ok": images.get("ok", 0), "images_failed": images.get("failed", 0),
            "image_assets": assets,
            "recall": recall_sum / k, **{f"{key}_ok": v / k for key, v in ok.items()}, "problems": problems,
            "leaked": leaked}


def one_run(server: Server, n: int, mode: str, keep: Path | None, sample: int) -> dict:
    if keep:
        folder = keep / f"{mode}-{n}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix=f"nm-bench-{mode}-{n}-"))
    try:
        cfg = write_config(folder, server.base, n, mode)
        cmd = [sys.executable, "-m", "newsmirror", "--config", str(cfg), "-q", "run"]
        log = folder / "run.log"
        s0 = server.cpu_s()
        first = run_measured(cmd, folder, log)
        server_cpu = server.cpu_s() - s0
        first["after_s"] = wait_left_behind(folder)
        first_summary = last_summary(log)
        noop = run_measured(cmd, folder, log)
        noop["after_s"] = wait_left_behind(folder)
        noop_summary = last_summary(log)
        pages = len(list((folder / "mirror" / "pages").rglob("*.md"))) if (folder / "mirror" / "pages").exists() else 0
        quality = check_store(folder, server, n, sample)
        return {
            "mode": mode, "n": n, "first": first, "noop": noop, "server_cpu": server_cpu, "pages": pages,
            "summary": first_summary, "noop_summary": noop_summary, "quality": quality,
            "warc_mb": du_mb(folder / "warcs"), "store_mb": du_mb(folder) - du_mb(folder / "mirror")
            - du_mb(folder / "warcs"), "tree_mb": du_mb(folder / "mirror") - du_mb(folder / "mirror" / ".git"),
            "git_mb": du_mb(folder / "mirror" / ".git"), "folder": str(folder) if keep else None,
            "log_tail": log.read_text(encoding="utf-8", errors="replace").splitlines()[-8:],
        }
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------
# report


def tables(rows: list[dict], modes: list[str]) -> tuple[str, str, str, str, str]:
    def aps(r: dict) -> float:
        return r["quality"]["articles"] / r["first"]["wall"]

    main = ["| mode | N | articles | seconds | articles/s | CPU s | CPU ms/article | peak RSS MB, largest process "
            "| peak RSS MB, process tree | peak PSS MB, process tree | processes | no-op re-run s "
            "| no-op peak PSS MB | left running after the run s | exit (run/no-op) |", "|" + "---|" * 15]
    for r in rows:
        f, o = r["first"], r["noop"]
        main.append(f"| {r['mode']} | {r['n']:,} | {r['quality']['articles']:,} | {f['wall']:.1f} | {aps(r):.1f} "
                    f"| {f['cpu']:.1f} | {f['cpu'] * 1000 / max(1, r['quality']['articles']):.1f} "
                    f"| {f['rss_mb']:.0f} | {f['tree_rss_mb']:.0f} | {f['tree_pss_mb']:.0f} | {f['procs']} "
                    f"| {o['wall']:.2f} | {o['tree_pss_mb']:.0f} | {f['after_s']:.1f} / {o['after_s']:.1f} "
                    f"| {f['code']}/{o['code']} |")
    machine = ["| mode | N | run: server CPU s | run: others' CPU s | run: load at start | run: calibration ms "
               "| no-op: others' CPU s | no-op: load at start | no-op: calibration ms |", "|" + "---|" * 9]
    for r in rows:
        f, o = r["first"], r["noop"]
        machine.append(f"| {r['mode']} | {r['n']:,} | {r['server_cpu']:.1f} "
                       f"| {max(0.0, f['busy'] - f['cpu'] - r['server_cpu']):.1f} | {f['load']:.2f} "
                       f"| {f['calib_ms']:.0f} | {max(0.0, o['busy'] - o['cpu']):.1f} | {o['load']:.2f} "
                       f"| {o['calib_ms']:.0f} |")
    scale = ["| mode | N from → to | articles/s ratio | peak PSS (tree) ratio | peak RSS (largest process) ratio "
             "| no-op s ratio |", "|---|---|---|---|---|---|"]
    for m in modes:
        mine = sorted((r for r in rows if r["mode"] == m), key=lambda r: r["n"])
        for a, b in zip(mine, mine[1:], strict=False):
            scale.append(f"| {m} | {a['n']:,} → {b['n']:,} | {aps(b) / aps(a):.2f} "
                         f"| {b['first']['tree_pss_mb'] / a['first']['tree_pss_mb']:.2f} "
                         f"| {b['first']['rss_mb'] / a['first']['rss_mb']:.2f} "
                         f"| {b['noop']['wall'] / a['noop']['wall']:.2f} |")
    qual = ["| mode | N | checked | body complete | mean paragraph recall | no boilerplate | boilerplate found "
            "(articles) | title exact | date exact | lead image | caption | extracted_by | failed | duplicates "
            "| images shown | images mirrored / failed | image files |",
            "|" + "---|" * 17]
    for r in rows:
        x = r["quality"]
        leaks = ", ".join(f"{k} ({v})" for k, v in sorted(x["leaked"].items(), key=lambda kv: -kv[1]))
        qual.append(f"| {r['mode']} | {r['n']:,} | {x['checked']:,} | {x['complete_ok']:.1%} | {x['recall']:.3f} "
                    f"| {x['clean_ok']:.1%} "
                    f"| {leaks or '—'} "
                    f"| {x['title_ok']:.1%} | {x['date_ok']:.1%} | {x['image_ok']:.1%} "
                    f"| {x['caption_ok']:.1%} | {', '.join(f'{k} {v}' for k, v in sorted(x['by'].items()))} "
                    f"| {x['failed']} | {x['duplicates']} | {x.get('images_shown', 0):,} "
                    f"| {x.get('images_ok', 0):,} / {x.get('images_failed', 0):,} | {x.get('image_assets', 0):,} |")
    disk = ["| mode | N | pages (.md) | page tree MB | .git MB | WARC MB | store MB | first run says "
            "| no-op run says |", "|" + "---|" * 9]
    for r in rows:
        disk.append(f"| {r['mode']} | {r['n']:,} | {r['pages']:,} | {r['tree_mb']:.1f} | {r['git_mb']:.1f} "
                    f"| {r['warc_mb']:.1f} | {r['store_mb']:.1f} | {r['summary']} | {r['noop_summary']} |")
    return "\n".join(main), "\n".join(machine), "\n".join(scale), "\n".join(qual), "\n".join(disk)


def verdicts(rows: list[dict]) -> list[str]:
    out = []
    t = TARGETS
    for r in rows:
        aps = r["quality"]["articles"] / r["first"]["wall"]
        if r["mode"] == "rules":
            out.append(f"- rules, N={r['n']:,}: {aps:.1f} articles/s — target ≥ {t['rules_aps']:.0f}: "
                       f"{'met' if aps >= t['rules_aps'] else 'NOT met'}")
    for r in rows:
        f = r["first"]
        out.append(f"- {r['mode']}, N={r['n']:,}: peak memory {f['tree_pss_mb']:.0f} MB PSS of the process tree "
                   f"({f['tree_rss_mb']:.0f} MB summed RSS, {f['rss_mb']:.0f} MB the largest process) — target "
                   f"< {t['rss_mb']:.0f}: {'met' if f['tree_pss_mb'] < t['rss_mb'] else 'NOT met'}; no-op re-run "
                   f"{r['noop']['wall']:.2f} s — target < {t['noop_s']:.0f}: "
                   f"{'met' if r['noop']['wall'] < t['noop_s'] else 'NOT met'}")
    for m in sorted({r["mode"] for r in rows}):
        mine = sorted((r for r in rows if r["mode"] == m), key=lambda r: r["n"])
        if len(mine) >= 2:
            ratio = mine[-1]["first"]["tree_pss_mb"] / mine[0]["first"]["tree_pss_mb"]
            out.append(f"- {m}: peak PSS ×{ratio:.2f} from N={mine[0]['n']:,} to N={mine[-1]['n']:,} — flat "
                       f"(≤ ×{t['flat_ratio']}): {'yes' if ratio <= t['flat_ratio'] else 'NO'}")
    return out


# ---------------------------------------------------------------------------------------------------------------
# profile


# (module or class, attribute, label): the sync functions `--stage-run` times, in the main process and in worker
# processes. Indented labels run inside the row above them; missing attributes (the code changes) are skipped.
STAGES = [  # (module or class, name, label): a name that is gone stops the benchmark (see stage_run)
    ("newsmirror.sources.feed", "parse_feed", "parse feeds (feedparser)"),
    ("newsmirror.pipeline.select", "select", "select what is new (select)"),
    ("newsmirror.fetch.fetcher", "decompress", "gunzip responses"),
    ("newsmirror.fetch.fetcher", "decode", "decode responses (charset)"),
    ("newsmirror.pipeline.analyse", "analyse_page", "analyse pages (decode, extract, sanitize, hash, links, WARC "
                                                    "records)"),
    ("newsmirror.extract", "extract", "  extract"),
    ("newsmirror.pipeline.analyse", "sanitize", "  sanitize (nh3)"),
    ("newsmirror.pipeline.analyse", "content_hash", "  content hash"),
    ("newsmirror.pipeline.analyse", "link_targets", "  link targets"),
    ("newsmirror.pipeline.analyse", "warc_records", "  WARC records (warcio, gzip)"),
    ("newsmirror.pipeline.fetching", "fetch_and_analyse", "fetch, analyse and store the articles (wall time)"),
    ("newsmirror.pipeline.images", "mirror_images", "mirror the images (wall time)"),
    ("newsmirror.pipeline.writer", "mirror_image", "  check, perhaps re-encode, and write images (Pillow)"),
    ("newsmirror.pipeline.ingest", "store_page", "store articles (store_page: dedup, WARC, SQLite)"),
    ("newsmirror.fetch.warc.WarcWriter", "append", "  WARC append"),
    ("newsmirror.store.Store", "*", "SQLite store calls (all, wherever made)"),
    ("newsmirror.pipeline.mirror.Mirror", "_prepare", "prepare (git init, temp cleanup)"),
    ("newsmirror.pipeline.build", "build", "build (total)"),
    ("newsmirror.pipeline.plan", "kept_articles", "  kept_articles() (the article list)"),
    ("newsmirror.pipeline.writer.PageWriter", "__call__", "  article pages (render_page)"),
    ("newsmirror.render.Renderer", "prepare", "    prepare (link policy)"),
    ("newsmirror.render.formats", "heavy_work", "    Markdown + QR (heavy_work)"),
    ("newsmirror.render.markdown", "html_to_markdown", "      HTML → Markdown"),
    ("newsmirror.render.qr", "qr_png", "      QR PNG"),
    ("newsmirror.render.Renderer", "compose", "    compose (templates)"),
    ("newsmirror.pipeline.writer", "write_if_changed", "    write files (compare + atomic write)"),
    ("newsmirror.render.Renderer", "indexes", "  render indexes"),
    ("newsmirror.pipeline.publishing", "commit_all", "git add + commit"),
]
CPU_KEY = "(the worker process, all of it)"
# rows that overlap others (not added up for "everything else"): the SQLite calls, the phases' wall times
OVERLAPPING = {"SQLite store calls (all, wherever made)", "fetch, analyse and store the articles (wall time)",
               "mirror the images (wall time)"}


def stage_run(cfg: str) -> None:
    """`--stage-run CONFIG`: one in-process `newsmirror -q run` with the STAGES timed; JSON on stdout.

    Forked worker processes inherit the timers; each writes its own totals to a file when it exits, and those
    are reported apart from the main process's."""
    import functools
    import importlib
    import inspect
    import multiprocessing.util
    import resource

    t0 = time.perf_counter()
    from newsmirror.cli import main as nm_main

    import_s = time.perf_counter() - t0
    acc: dict[str, list] = {}
    main_pid = os.getpid()
    state = {"pid": main_pid}
    spill = Path(tempfile.mkdtemp(prefix="nm-stages-"))

    def cpu_s(who: int) -> float:
        ru = resource.getrusage(who)
        return ru.ru_utime + ru.ru_stime

    def dump() -> None:
        (spill / f"{os.getpid()}.json").write_text(json.dumps({**acc, CPU_KEY: [0.0, 1, cpu_s(resource.RUSAGE_SELF)]}))

    def wrap(owner: object, attr: str, label: str) -> None:
        fn = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if fn is None or not callable(fn):
            return

        def count(t: float, c: float | None = None) -> None:
            e = acc.setdefault(label, [0.0, 0, 0.0])
            e[0] += time.perf_counter() - t
            e[1] += 1
            if c is not None:
                e[2] += time.thread_time() - c

        @functools.wraps(fn)
        def timed(*a, **k):
            if os.getpid() != state["pid"]:  # a forked worker: its own totals, written when it exits
                state["pid"] = os.getpid()
                acc.clear()
                multiprocessing.util.Finalize(None, dump, exitpriority=100)
            t, c = time.perf_counter(), time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                count(t, c)

        if inspect.iscoroutinefunction(fn):  # a phase of the run: its wall time, awaits included

            @functools.wraps(fn)
            async def timed(*a, **k):  # noqa: F811
                t = time.perf_counter()
                try:
                    return await fn(*a, **k)
                finally:
                    count(t)

        if isinstance(owner, type):
            setattr(owner, attr, timed)
            return
        # every newsmirror module that imported this function gets the same wrapper (pickling by name must
        # find the very object that is sent to a worker), and so do the run's seams
        for mod in [m for name, m in sys.modules.items() if name.startswith("newsmirror") and m is not None]:
            for key, val in list(vars(mod).items()):
                if val is fn:
                    setattr(mod, key, timed)
        from newsmirror.pipeline.seams import SEAMS

        for key in SEAMS.__slots__:
            if getattr(SEAMS, key) is fn:
                setattr(SEAMS, key, timed)

    found = []
    for mod, attr, label in STAGES:
        try:
            owner = importlib.import_module(mod)
        except ImportError:
            m, cls = mod.rsplit(".", 1)
            owner = getattr(importlib.import_module(m), cls, None)
        if owner is None:
            raise SystemExit(f"benchmark stage {mod}.{attr}: no such module or class (renamed? update STAGES)")
        if attr == "*":
            for name, fn in list(vars(owner).items()):
                if callable(fn) and not name.startswith("_") and name not in ("tx", "close"):
                    wrap(owner, name, label)
            found.append(label)
        elif (vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr, None)) is not None:
            wrap(owner, attr, label)
            found.append(label)
        else:
            raise SystemExit(f"benchmark stage {mod}.{attr}: no such name (renamed? update STAGES)")

    from newsmirror.pipeline.seams import SEAMS

    rss: dict[str, float] = {}

    def mark(label: str) -> None:
        rss[label] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    SEAMS.before_build = lambda: mark("peak before build (discover, fetch, extract, store)")
    SEAMS.before_sign = lambda: mark("peak up to the end of build (render, write)")
    mark("after the imports")
    sys.argv = ["newsmirror", "--config", cfg, "-q", "run"]
    t1 = time.perf_counter()
    cpu0 = cpu_s(resource.RUSAGE_SELF), cpu_s(resource.RUSAGE_CHILDREN)
    code = None
    try:
        nm_main()
    except SystemExit as exc:
        code = exc.code
    run_s = time.perf_counter() - t1
    main_cpu, children_cpu = cpu_s(resource.RUSAGE_SELF) - cpu0[0], cpu_s(resource.RUSAGE_CHILDREN) - cpu0[1]
    if "peak up to the end of build (render, write)" not in rss:  # a build with nothing to do signs nothing
        mark("peak up to the end of build (render, write)")
    mark("peak of the run (workers and git not included)")
    workers: dict[str, list] = {}
    n_workers = 0
    for f in spill.glob("*.json"):
        n_workers += 1
        for label, (secs, calls, cpu) in json.loads(f.read_text()).items():
            w = workers.setdefault(label, [0.0, 0, 0.0])
            w[0] += secs
            w[1] += calls
            w[2] += cpu
    shutil.rmtree(spill, ignore_errors=True)
    print(json.dumps({
        "import_s": import_s, "run_s": run_s, "code": code, "rss": rss, "workers": n_workers,
        "cpu": {"main": main_cpu, "workers": workers.get(CPU_KEY, [0, 0, 0.0])[2], "children": children_cpu},
        "stages": [(label, *acc.get(label, [0.0, 0, 0.0]), *workers.get(label, [0.0, 0, 0.0]), label in found)
                   for _, _, label in STAGES]}))


def _stage_table(runs: list[tuple[str, dict]]) -> str:
    """One row per stage: main-process seconds and share of the run, worker seconds (summed over workers)."""
    head = "| stage | " + " | ".join(f"{name}: main s | main CPU s | share | workers s | workers CPU s "
                                     f"| calls main / workers" for name, _ in runs) + " |"
    lines = [head, "|" + "---|" * (1 + 6 * len(runs))]
    lines.append("| import newsmirror.cli (before the run) | "
                 + " | ".join(f"{st['import_s']:.2f} | | | | | 1" for _, st in runs) + " |")
    for k, (label, *_rest) in enumerate(runs[0][1]["stages"]):
        if not any(st["stages"][k][7] and st["stages"][k][2] + st["stages"][k][5] for _, st in runs):
            continue  # not in this version of the code, or not called
        cells = []
        for _, st in runs:
            _, ms, mc, mcpu, ws, wc, wcpu, _ = st["stages"][k]
            wall_only = label in OVERLAPPING and label.endswith("(wall time)")
            cells.append(f"{ms:.2f} | {'' if wall_only else f'{mcpu:.2f}'} | {ms / st['run_s']:.1%} | {ws:.2f} "
                         f"| {wcpu:.2f} | {mc:,} / {wc:,}")
        lines.append(f"| {label.replace('  ', '&nbsp;&nbsp;')} | " + " | ".join(cells) + " |")
        if label == "  render indexes":
            rest = []
            for _, st in runs:
                labels = [row[0] for row in st["stages"]]
                at = labels.index("build (total)")
                inside = []  # the rows right inside build, up to the next top-level row
                for row in st["stages"][at + 1:]:
                    if not row[0].startswith(" "):
                        break
                    if not row[0].startswith("    "):
                        inside.append(row[1])
                x = st["stages"][at][1] - sum(inside)
                rest.append(f"{x:.2f} | | {x / st['run_s']:.1%} | | | |")
            lines.append("| &nbsp;&nbsp;rest of build (waiting for workers, fingerprint, stale-file scan, …) | "
                         + " | ".join(rest) + " |")
    other = []
    for _, st in runs:
        top = sum(row[1] for row in st["stages"] if not row[0].startswith(" ") and row[0] not in OVERLAPPING)
        other.append(f"{st['run_s'] - top:.2f} | | {(st['run_s'] - top) / st['run_s']:.1%} | | | |")
    lines.append("| everything else in the main process (event loop incl. waiting for workers, aiohttp, robots, "
                 "click, …) | " + " | ".join(other) + " |")
    lines.append("| **the run** (`main()`, after the import) | "
                 + " | ".join(f"**{st['run_s']:.2f}** | | 100% | | | {st['workers']} worker processes"
                              for _, st in runs) + " |")
    lines.append("")
    lines.append("| CPU seconds (user + system) | " + " | ".join(name for name, _ in runs) + " |")
    lines.append("|" + "---|" * (1 + len(runs)))
    for label, key in (("the main process", "main"), ("its worker processes", "workers"),
                       ("git and other child processes", "git")):
        cells = []
        for _, st in runs:
            c = st.get("cpu", {})
            val = c.get("children", 0) - c.get("workers", 0) if key == "git" else c.get(key, 0)
            cells.append(f"{max(0.0, val):.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    totals = [st.get("cpu", {}).get("main", 0) + st.get("cpu", {}).get("children", 0) for _, st in runs]
    lines.append("| **all** | " + " | ".join(f"**{t:.2f}**" for t in totals) + " |")
    lines.append("")
    lines.append("| peak RSS of the main process, MB | " + " | ".join(name for name, _ in runs) + " |")
    lines.append("|" + "---|" * (1 + len(runs)))
    for label in runs[0][1]["rss"]:
        lines.append(f"| {label} | " + " | ".join(f"{st['rss'].get(label, 0):.0f}" for _, st in runs) + " |")
    return "\n".join(lines)


def _fn_name(key: tuple) -> str:
    file, line, fn = key
    m = re.search(r"((?:newsmirror|benchmarks)/[^/]+(?:/[^/]+)*)$", file)
    if m:
        short = m.group(1)
    elif file in ("~", "") or file.startswith("<"):
        short = file if file.startswith("<") else ""
    else:  # a library or the standard library: no path of this machine
        short = re.sub(r"^.*(?:site-packages|lib/python3\.\d+)/", "", file)
    return f"{short}:{line} {fn}" if short else fn


def _top_ours(entries: dict, total: float, k: int = 15) -> str:
    ours = [(key, v) for key, v in entries.items() if "/newsmirror/" in key[0] and "/benchmarks/" not in key[0]]
    ours.sort(key=lambda kv: kv[1][3], reverse=True)
    lines = ["| cumulative s | share | own s | calls | function (inside newsmirror/) |", "|---|---|---|---|---|"]
    for key, v in ours[:k]:
        lines.append(f"| {v[3]:.2f} | {v[3] / total:.1%} | {v[2]:.2f} | {v[1]:,} | `{_fn_name(key)}` |")
    return "\n".join(lines)


def _top_own(entries: dict, total: float, k: int = 15) -> str:
    own = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    lines = ["| own s | share | calls | function (anywhere) |", "|---|---|---|---|"]
    for key, v in own[:k]:
        lines.append(f"| {v[2]:.2f} | {v[2] / total:.1%} | {v[1]:,} | `{_fn_name(key)}` |")
    return "\n".join(lines)


def page_work(pages: int) -> str:
    """What the worker processes do per page, in this process: timed without a profiler, then profiled.

    Uses the stable parts (extract, sanitize, html_to_markdown, qr_png) on the first `pages` synthetic pages."""
    import cProfile
    import pstats

    from newsmirror.config import Rules
    from newsmirror.extract import extract
    from newsmirror.render.markdown import html_to_markdown
    from newsmirror.render.qr import qr_png
    from newsmirror.transform import sanitize

    base = "http://127.0.0.1:8000"
    docs = [make_article(i, pages, base) for i in range(pages)]
    rules = Rules(**RULES)
    share = "https://github.com/example/news/blob/main/pages/china/a{}.md"
    bodies: list[str] = []

    def ex(r: Rules | None) -> None:
        bodies.clear()
        for d in docs:
            bodies.append(sanitize(extract(d["html"], d["url"], r).body_html, d["url"]))

    steps = [
        ("extract, rules", lambda: [extract(d["html"], d["url"], rules) for d in docs]),
        ("extract, generic", lambda: [extract(d["html"], d["url"], None) for d in docs]),
        ("sanitize (of the rules bodies)", None),
        ("HTML → Markdown", lambda: [html_to_markdown(b) for b in bodies]),
        ("QR PNG", lambda: [qr_png(share.format(ID_BASE + i)) for i in range(pages)]),
    ]
    ex(rules)  # warm up, and the bodies for the later steps
    raw = [extract(d["html"], d["url"], rules).body_html for d in docs]
    timing = ["| step | ms per page (no profiler) |", "|---|---|"]
    for label, fn in steps:
        t = time.process_time()
        if fn is None:
            for d, b in zip(docs, raw, strict=True):
                sanitize(b, d["url"])
        else:
            fn()
        timing.append(f"| {label} | {(time.process_time() - t) * 1000 / pages:.2f} |")
    out = (f"\n## Per-page work (what the worker processes do), in one process\n\nThe first {pages} synthetic pages, "
           f"CPU time per page without a profiler (calibration {calibrate():.0f} ms now):\n\n" + "\n".join(timing))
    for label, fn in (("extract with rules", lambda: [extract(d["html"], d["url"], rules) for d in docs]),
                      ("extract, generic", lambda: [extract(d["html"], d["url"], None) for d in docs])):
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        entries = pstats.Stats(prof).stats  # type: ignore[attr-defined]
        total = sum(v[2] for v in entries.values())
        out += (f"\n\n### cProfile of {label} ({pages} pages, {total:.2f} s profiled), top 12 inside newsmirror/\n\n"
                + _top_ours(entries, total, 12) + "\n\nTop 8 by own time, anywhere:\n\n" + _top_own(entries, total, 8))
    return out + "\n"


def profile(n: int, keep: Path | None, no_write: bool, stages_only: bool) -> None:
    """Rules mode at N=n: a first run and a no-op re-run with stage timers, then (in a fresh folder) a first run
    under cProfile."""
    import cProfile
    import pstats

    server = Server(n)
    folders = []
    for what in ("stages", "cprofile"):
        f = (keep / f"profile-{what}-rules-{n}") if keep else Path(tempfile.mkdtemp(prefix=f"nm-{what}-{n}-"))
        if f.exists():
            shutil.rmtree(f)
        f.mkdir(parents=True)
        folders.append(f)
    try:
        cfg = write_config(folders[0], server.base, n, "rules")
        runs = []
        for name in ("first run", "no-op re-run"):
            busy0, load, calib = machine_busy_s(), float(Path("/proc/loadavg").read_text().split()[0]), calibrate()
            proc = subprocess.run([sys.executable, __file__, "--stage-run", str(cfg)], capture_output=True, text=True,
                                  cwd=folders[0])
            if proc.returncode != 0:
                raise SystemExit(f"stage run failed:\n{proc.stderr[-3000:]}")
            st = json.loads(proc.stdout.strip().splitlines()[-1])
            st.update(busy=machine_busy_s() - busy0, load=load, calib_ms=calib)
            runs.append((name, st))
            print(f"{name}: {st['run_s']:.1f} s", file=sys.stderr)
        machine = "; ".join(f"{name}: load {st['load']:.2f} at the start, calibration {st['calib_ms']:.0f} ms, "
                            f"all cores busy {st['busy']:.1f} CPU s during it (the run, its workers, the site "
                            f"server and anything else)" for name, st in runs)
        text = (
            f"# Mirror profile\n\n`python benchmarks/mirror.py --profile --sizes {n}"
            f"{' --stages-only' if stages_only else ''}` on {time.strftime('%Y-%m-%d')}, Python "
            f"{platform.python_version()}, {os.cpu_count()} cores. Rules mode, N={n:,} synthetic articles from the "
            f"site server of `benchmarks/mirror.py` (another process).\nCode measured: {source_fingerprint()}.\n\n"
            f"## Where the time goes (stage timers, no profiler)\n\n"
            f"`newsmirror -q run` in a fresh process and folder with the functions below wrapped in timers, then the "
            f"same again on the result (the no-op re-run; exits {runs[0][1]['code']}, {runs[1][1]['code']}). "
            f"Indented rows are inside the row above them; the SQLite row counts every Store call, those inside "
            f"_process and build too. *main s* is time in the main process; *workers s* is time in forked worker "
            f"processes, summed over them (they run in parallel with the main process and each other, so it can "
            f"exceed the wall time). Machine: {machine}.\n\n" + _stage_table(runs) + "\n")
        if not stages_only:
            cfg = write_config(folders[1], server.base, n, "rules")
            from newsmirror.cli import main as nm_main

            argv = sys.argv
            sys.argv = ["newsmirror", "--config", str(cfg), "-q", "run"]
            prof = cProfile.Profile()
            t0 = time.perf_counter()
            code = None
            prof.enable()
            try:
                nm_main()
            except SystemExit as exc:
                code = exc.code
            prof.disable()
            wall = time.perf_counter() - t0
            sys.argv = argv
            prof.dump_stats(str(folders[1] / "run.prof"))
            entries = pstats.Stats(prof).stats  # type: ignore[attr-defined]
            total = sum(v[2] for v in entries.values())

            lines = _top_ours(entries, total)
            lines2 = _top_own(entries, total)
            text += (
                f"\n## cProfile\n\nA first run in process (fresh folder) under cProfile: {wall:.1f} s wall "
                f"(exit {code}), {total:.1f} s of profiled time. cProfile inflates code that makes many small Python "
                f"calls, so use its shares for *what* is called and the stage "
                f"timers above for *how much*. Only the main process is profiled: work sent to worker processes "
                f"shows as waiting (for the event loop's selector, or in `concurrent.futures`). Coroutines count only "
                f"while they run, not while they await (\"calls\" of a coroutine are its resumptions); git runs in "
                f"subprocesses and shows as waiting in `subprocess`.\n\n"
                "### Top 15 by cumulative time, inside newsmirror/\n\n" + lines +
                "\n\n### Top 15 by own time, anywhere\n\n" + lines2 + "\n")
            text += page_work(min(n, 500))
        print(text)
        if not no_write:
            RESULTS.mkdir(exist_ok=True)
            out = RESULTS / ("mirror-profile.md" if n == 1000 else f"mirror-profile-{n}.md")
            out.write_text(text, encoding="utf-8")
            print(f"wrote {out}", file=sys.stderr)
    finally:
        server.stop()
        if not keep:
            for f in folders:
                shutil.rmtree(f, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="article counts, comma-separated")
    ap.add_argument("--modes", default="rules,generic",
                    help="rules and/or generic; rules-text: rules with [images] download = false")
    ap.add_argument("--out", help="the table's file name in benchmarks/results/ (mirror.md; mirror-dask.md with "
                                  "--engine dask)")
    ap.add_argument("--keep", type=Path, help="keep each run's folder (config, store, WARC, mirror, log) here")
    ap.add_argument("--sample", type=int, default=2000, help="articles checked against the generator per run")
    ap.add_argument("--no-write", action="store_true", help="print the tables only")
    ap.add_argument("--profile", action="store_true", help="profile one in-process rules run at the first size")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--stage-run", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--no-pictures", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stages-only", action="store_true", help="with --profile: the stage timers, no cProfile run")
    ap.add_argument("--engine", choices=("local", "dask"), default="local",
                    help="[workers] engine of the runs: local (the process pool) or dask (a Dask cluster of worker "
                         "processes on this machine, pip install -e '.[cluster]'; benchmarks/cluster.py compares them)")
    args = ap.parse_args()
    ENGINE["engine"] = args.engine
    args.out = args.out or ("mirror.md" if args.engine == "local" else f"mirror-{args.engine}.md")
    if args.serve:
        serve(args.n, args.port, pictures=not args.no_pictures)
        return
    if args.stage_run:
        stage_run(args.stage_run)
        return
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if bad := [m for m in modes if m not in ("rules", "generic", "rules-text")]:
        raise SystemExit(f"--modes: unknown mode {bad[0]!r}; use rules, generic or rules-text")
    keep = args.keep.resolve() if args.keep else None
    if args.profile:
        profile(sizes[0], keep, args.no_write, args.stages_only)
        return
    rows = []
    sites = []
    started = time.strftime("%Y-%m-%d %H:%M")
    fingerprint = source_fingerprint()
    for n in sizes:
        server = Server(n)
        sites.append(f"N={n:,}: {server.html_bytes / n / 1000:.1f} KB HTML and {server.text_bytes / n / 1000:.1f} KB "
                     f"article text per page on average ({server.gz_bytes / n / 1000:.1f} KB gzipped); "
                     f"made in {server.build_s:.1f} s before the clock starts")
        print(f"site N={n}: {server.base} ({sites[-1]})", file=sys.stderr)
        try:
            for mode in modes:
                r = one_run(server, n, mode, keep, args.sample)
                rows.append(r)
                if keep:
                    (keep / "rows.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
                print(f"{mode} N={n}: {r['first']['wall']:.1f} s, {r['quality']['articles']} articles, "
                      f"PSS {r['first']['tree_pss_mb']:.0f} MB (largest process {r['first']['rss_mb']:.0f} MB), "
                      f"no-op {r['noop']['wall']:.2f} s — {r['summary']}", file=sys.stderr)
                if r["first"]["code"] != 0 or r["noop"]["code"] != 0:
                    print("  log tail:\n    " + "\n    ".join(r["log_tail"]), file=sys.stderr)
                for p in r["quality"]["problems"]:
                    print(f"  check: {p}", file=sys.stderr)
        finally:
            server.stop()
    main_t, machine_t, scale_t, qual_t, disk_t = tables(rows, modes)
    verdict = "\n".join(verdicts(rows))
    print("\n\n".join([main_t, machine_t, scale_t, qual_t, disk_t, verdict]))
    if args.no_write:
        return
    cmd = "python benchmarks/mirror.py" + "".join(f" {a}" for a in sys.argv[1:] if a != "--no-write")
    text = (
        "# Mirror benchmark (end to end)\n\n"
        f"`{cmd}`, started {started}, Python {platform.python_version()}, {os.cpu_count()} cores "
        f"({platform.machine()}, {platform.system()}).\n"
        f"Code measured: {fingerprint}.\n\n"
        "Each run: `python -m newsmirror --config newsmirror.toml -q run` in a fresh folder against a synthetic "
        "Chinese news site served from another process on 127.0.0.1 (10 RSS feeds of N/10 items, 5 categories, "
        "robots.txt allowing all, gzip + ETag; every article's lead image and in-body pictures, 1.18 per article, "
        "are real JPEGs of their own, 800 pixels wide like the reference site's, 28-45 KB, that the mirror downloads, "
        "checks and stores under assets/, kept as they are with their metadata cut, as they fit images.max_width; "
        "benchmarks/images.py measures what scaling wider ones costs; `[images]` max_bytes_per_run = 2 GB, so that "
        "one run takes them all); `[fetch]` concurrency = 32, per_host = 32, "
        "obey_robots = true, "
        "warc = true; `site.base_url` set, so every page gets a QR PNG; `rules` gives every source CSS rules that "
        "match the markup, `generic` none, `rules-text` the same rules with `[images] download = false` (the "
        "images are linked where they are, not downloaded: the text pipeline alone). "
        "*seconds* is the wall time of the whole run (discover, fetch, extract, "
        "store, render, git commit). *CPU s* and *peak RSS, largest process* come from wait4 on the subprocess "
        "(CPU includes the worker processes and git it waited for). *process tree* memory is sampled every 0.25 s "
        "over the run and all its descendants (worker pools, git): summed RSS counts pages a forked worker shares "
        "with its parent twice, PSS splits them, so PSS is the memory the run really takes; the memory target is "
        "judged on it. *left running after the run* is how long processes the run started went on working in its "
        "folder after it exited (a detached `git gc --auto` once the commit leaves enough loose objects): the "
        "benchmark waits for them before the next run, and their time is in none of the other columns. The "
        "*no-op re-run* is the same command again on the result (feeds answer 304; nothing new)."
        "\n\n" + "\n".join(f"- site {x}" for x in sites) + "\n\n"
        "## Runs\n\n" + main_t + "\n\n## From the smallest to the largest N\n\n" + scale_t +
        f"\n\n## Against the targets\n\nTargets: ≥ {TARGETS['rules_aps']:.0f} articles/s with rules, peak memory < "
        f"{TARGETS['rss_mb']:.0f} MB and flat in N (here: at most ×{TARGETS['flat_ratio']} from the smallest to the "
        f"largest N), no-op re-run < {TARGETS['noop_s']:.0f} s.\n\n" + verdict +
        "\n\n## The machine during each run\n\n"
        f"The machine has {os.cpu_count()} cores, shared by the mirror, the site server and whatever else runs. "
        "*server CPU s* is what the site server spent during the run; *others' CPU s* is what every other process "
        "took meanwhile (all cores busy, from /proc/stat, minus the mirror and the server); *calibration ms* times "
        "a fixed pure-Python loop just before the run (higher = a slower or busier machine at that moment). Read "
        "the timings above next to these.\n\n" + machine_t +
        "\n\n## What was extracted (store against generator)\n\n"
        "Every k-th article of the store (up to --sample) compared with what the generator put in its page: "
        "*body complete* = every paragraph, subhead and quote of the article body is in the extracted text; "
        "*no boilerplate* = none of the page's comments nor its nav/related/sidebar/share/copyright/editor texts "
        "are in it. *images shown* is the distinct image URLs the articles show, *mirrored / failed* what the "
        "store says became of them, *image files* the distinct files under assets/.\n\n" + qual_t
        + "\n\n## Output\n\n" + disk_t + "\n"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / args.out
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    if "<!-- scale.py -->" in old:  # benchmarks/scale.py's table (by mirror size) is kept as it was
        text += "\n" + old[old.index("<!-- scale.py -->"):]
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
