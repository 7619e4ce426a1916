"""Trimming the article container: boilerplate inside it goes (link lists, share prompts,
disclaimers, teaser lists, "related" sections, comments), and what stands before or after the
main run of paragraphs (headline, byline, author bio, newsletter prompts, an account's menu)."""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from .blocks import (
    BLOCK_TAGS,
    WS,
    Block,
    _inside,
    _marks,
    _signature,
    _size,
    _starts_with_link,
    _words,
    flat_text,
    is_prose,
)

BOILER_TEXT = re.compile(
    r"^(?:[【\[（(]?\s*)?(?:免责声明|特别声明|版权声明|声明[:：]|版权所有|copyright|©|\(c\)|"
    r"本文(?:为|系|来源|转载|仅代表)|未经(?:授权|允许|许可)|转载请|原标题[:：]|"
    r"分享到|分享至|扫一扫|扫描.{0,8}二维码|扫码|长按(?:识别|二维码)|关注(?:我们|公众号|微信)|点击(?:关注|进入|查看)|"
    r"本文来自|更多原创|"
    r"相关(?:阅读|文章|新闻|报道|推荐)|延伸阅读|推荐阅读|热门(?:推荐|文章|新闻)|更多(?:精彩|内容|新闻)|"
    r"返回(?:搜狐|首页|顶部)|查看更多|阅读原文|举报|投诉|网友评论|打开.{0,6}app|下载.{0,6}客户端|"
    r"read more\b|related\b|share this|sign up|subscribe|advertisement|follow us|"
    r"all rights reserved|click here|tags?:|filed under|more from|recommended for you|you may also like|"
    # the same prompts in the other languages most mirrored: German, French, Spanish, Italian, Portuguese,
    # Dutch, Russian
    r"(?:diesen |den )?artikel teilen|teilen:|schlagw[öo]rter|stichw[öo]rter|zur[üu]ck zur [üu]bersicht|"
    r"rezept drucken|[üu]ber den autor|dieser eintrag wurde ver[öo]ffentlicht|mehr zum thema|lesen sie auch|"
    r"partager|à lire aussi|lire aussi|à propos de l'auteur|étiquettes|mots-clés|compartir|lee también|"
    r"etiquetas|sobre el autor|condividi|leggi anche|compartilhe|leia também|deel dit|lees ook|"
    r"поделиться|читайте также|теги:)",
    re.I,
)
RELATED_HEAD = re.compile(
    r"^(?:相关(?:阅读|文章|新闻|报道|推荐|链接|专题|内容)|延伸阅读|推荐阅读|热门(?:推荐|文章|新闻)|"
    r"更多(?:精彩|内容|新闻|文章|阅读)|猜你喜欢|related|read more|more (?:on|from|stories)|more:?$|"
    r"recommended|you may also|see also|most (?:popular|read|viewed|shared)|猜你|为你推荐|"
    r"(?:popular|trending|热门|热点|排行)(?:\s*(?:新闻|文章|推荐|排行|排行榜|榜|资讯|stories|posts|now|news))?\s*:?$|"
    # German, French, Spanish, Italian, Portuguese, Dutch, Russian
    r"(?:ä|ae)hnliche (?:beitr(?:ä|ae)ge|artikel|themen)|verwandte (?:beitr(?:ä|ae)ge|artikel|themen)|"
    r"mehr (?:zum thema|zu diesem thema|aus|von|dazu)|zum weiterlesen|weiterlesen:?$|beitr(?:ä|ae)ge zum thema|"
    r"weitere (?:artikel|beitr(?:ä|ae)ge|nachrichten|themen|news|meldungen)|empfehlungen|top[- ]themen|"
    r"lesen sie (?:auch|mehr)|auch interessant|das (?:k(?:ö|oe)nnte|d(?:ü|ue)rfte) sie (?:auch )?interessieren|"
    r"meistgelesen|articles? (?:similaires|connexes|liés)|(?:à )?lire aussi|sur le même (?:sujet|thème)|"
    r"voir aussi|dans la même rubrique|les plus lus|(?:artículos|noticias) relacionad[ao]s|te puede interesar|"
    r"lee también|más noticias|lo más leído|articoli correlati|leggi anche|potrebbe interessarti|"
    r"(?:artigos|notícias) relacionad[ao]s|leia também|veja também|gerelateerde artikelen|lees ook|meer over|"
    r"читайте также|похожие (?:статьи|новости|материалы)|по теме|другие новости)",
    re.I,
)
# the heading of a comment section ("评论（0）", "网友跟帖", "3 Comments", "Leave a reply"): the article is over
COMMENT_HEAD = re.compile(
    r"^(?:(?:网友|热门|最新|全部|发表|我要)?(?:评论|跟帖|留言)(?:区|列表)?|comments?|responses?|"
    r"leave a (?:reply|comment)|join the discussion|kommentare?|kommentieren|kommentar schreiben|"
    r"schreibe einen kommentar|commentaires?|laisser un commentaire|comentarios?|deja un comentario|commenti|"
    r"lascia un commento|comentários|reacties|комментарии|"
    r"\d+\s*(?:条评论|条跟帖|comments?|responses?|kommentare?|commentaires?|comentarios?|commenti|reacties))"
    r"\s*(?:[（(]\s*\d*\s*[)）])?\s*[:：]?$",
    re.I,
)
CREDIT = re.compile(r"^[（(【\[]?\s*(?:责任编辑|责编|编辑|记者|作者|来源|撰稿|摄影|图片来源|通讯员|译者|校对|"
                    r"reporting by|editing by|additional reporting|written by|contributed)", re.I)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# what articles end with that is not the article: newsletter and app prompts, contact lines, disclaimers
PROMO = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|"  # an address to write to: a contact line
    r"subscribe|newsletter|sign up|signup|follow (?:us|me|him|her|them)\b|may be reached at|reach (?:him|her|me|us) at|"
    r"email (?:him|her|me|us) at|have a (?:news )?tip|send us|tips?@|click here|download (?:our|the) app|"
    r"share this (?:article|story)|^share$|sharing is caring|join (?:our|the) (?:mailing|community)|"
    r"this post (?:may )?contains? affiliate|"
    r"关注.{0,10}(?:公众号|微信|微博)|订阅|扫.{0,4}码|下载.{0,10}(?:app|客户端)|本文来自|更多原创|免责声明|特别声明|"
    r"版权(?:所有|声明)|未经(?:授权|允许|许可)|转载请|投稿|^[【\[（(]?声明[:：]|"
    r"uses cookies|cookie policy|privacy policy|"
    # subscriptions, apps, donations, log-in walls and cookie notices in the other languages most mirrored
    r"\babonn(?:ieren|ement|ez)|\bsuscr[ií]b|\bsubskrypc|"
    r"download the .{1,30} apps?\b|straight to your (?:phone|inbox)|"
    r"support (?:us|our (?:work|journalism))|consider supporting|unterst[üu]tzen? (?:sie |du )?(?:uns|unsere)|"
    r"\bspenden?\b|\bdonate\b|\bdonaci[óo]n\b|"
    r"einloggen|log in to|sign in to|registrieren sie sich|netiquette|"
    r"(?:use|uses|using|verwende[tn]?|nutzen|utilise|utilisons|usamos|utilizamos|korzystamy z) cookies|"
    r"cookies? (?:erleichtern|help us|settings|einstellungen)",
    re.I,
)
LISTISH = frozenset({"li", "dd", "dt", "td", "th", "blockquote", "pre", "code", "tr", "table", "ul", "ol", "dl"})


_CLIPPED = re.compile(r"(?:…|\.\.\.|\[…\]|\[\.\.\.\])\s*$")


def _leading_link(item: HtmlElement) -> HtmlElement | None:
    for a in item.iter("a"):
        if a.text_content().strip():
            return a
    return None


def _holds_post(item: HtmlElement) -> bool:
    """Whether an item led by a link is a post of a thread or a letter under its author's name, not a teaser:
    the link is a name (one or two words, where a headline has a sentence's) and the item's own text is
    many times its links'."""
    lead = _leading_link(item)
    if lead is None or len(lead.text_content().split()) > 2:
        return False
    chars = len(WS.sub("", item.text_content()))
    links = sum(len(WS.sub("", a.text_content())) for a in item.iter("a"))
    return chars - links >= max(200, 4 * links)


def drop_teasers(container: HtmlElement) -> None:
    """Remove lists of teasers: three or more sibling items of one kind, each led by a link (and not
    carrying a text of its own, as the posts of a thread do)."""
    for el in list(container.iter()):
        if el.getparent() is None and el is not container:
            continue
        kids = [c for c in el if isinstance(c.tag, str)]
        if len(kids) < 3:
            continue
        groups: dict[tuple, list[HtmlElement]] = {}
        for c in kids:
            groups.setdefault(_signature(c), []).append(c)
        for (tag, _cls), items in groups.items():
            if len(items) < 3 or tag in ("p", "br", "img", "span", "a", "strong", "em", "b", "i"):
                continue
            led = [c for c in items if _starts_with_link(c)]
            # a thread's posts, each under its author's name; teasers' summaries are cut short ("…")
            clipped = sum(1 for c in led if _CLIPPED.search(c.text_content()))
            if clipped < len(led) / 3:
                led = [c for c in led if not _holds_post(c)]
            if len(led) >= 3 and len(led) >= 0.6 * len(items):
                for c in led:
                    if c.getparent() is not None:
                        c.drop_tree()


TEASER_LABEL = re.compile(r"^\W{0,3}[^\W\d][^:：.!?]{0,28}[:：](?!//)\s*\S")  # not a web address


def _prose_text(text: str, el: HtmlElement) -> bool:
    links = sum(len(WS.sub("", a.text_content())) for a in el.iter("a"))
    dense = text.replace(" ", "")
    return is_prose(Block(el, text, len(dense), min(links, len(dense)), 0.0))


# a list, table or box whose text is mostly links is a link list, which cleaning drops
LINK_LIST_TAGS = frozenset({"ul", "ol", "dl", "div", "section", "table"})
LINK_LIST_SHARE = 0.6


def _is_boiler_block(el: HtmlElement, blocks: dict[HtmlElement, Block]) -> bool:
    text = flat_text(el)
    if not text:
        return el.tag not in ("img", "figure", "br", "hr", "table") and el.find(".//img") is None
    # "免责声明：…", "分享到", "相关阅读" — but not a paragraph that merely starts with such a word
    # ("投诉人李女士告诉记者，…")
    if len(text) <= 200 and BOILER_TEXT.search(text) and (len(text) <= 20 or not _prose_text(text, el)):
        return True
    links = sum(len(WS.sub("", a.text_content())) for a in el.iter("a"))
    chars = len(text.replace(" ", ""))
    if el.tag in LINK_LIST_TAGS and chars and links / chars > LINK_LIST_SHARE:
        return True
    # a teaser set in the article: a short label and a headline link ("Lea también: …", "Czytaj też: …",
    # "Lesen Sie hier: …"), in whatever language
    if el.tag not in HEADINGS and chars <= 200 and links > 0.6 * chars and TEASER_LABEL.match(text):
        return True
    # a short line of links ("Whatsapp Facebook Twitter", "Previous | Next")
    return el.tag not in HEADINGS and chars < 50 and links >= 0.8 * chars


def clean_container(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Drop boilerplate children: link lists, share prompts, disclaimers; a trailing "related" heading ends it."""
    kids = [c for c in container if isinstance(c.tag, str) and c.tag in BLOCK_TAGS]
    for i, child in enumerate(kids):
        if child.getparent() is None:
            continue
        text = flat_text(child)
        if child.tag in ("h2", "h3", "h4", "h5", "h6", "p", "div", "strong") and text and len(text) <= 30 and \
                COMMENT_HEAD.match(text) and child.find(".//a") is None:
            for later in [child, *kids[i + 1:]]:  # the comments, their form and avatars follow it to the end
                if later.getparent() is not None:
                    later.drop_tree()
            break
        if child.tag in ("h2", "h3", "h4", "h5", "h6", "p", "div", "strong") and text and len(text) <= 30 and \
                RELATED_HEAD.match(text):
            # the heading and what it introduces, up to the next paragraph of the article
            child.drop_tree()
            for later in kids[i + 1:]:
                if later.getparent() is None:
                    continue
                if any(is_prose(blocks[b]) for b in later.iter() if b in blocks):
                    break
                later.drop_tree()
            continue
        if _is_boiler_block(child, blocks):
            child.drop_tree()
        elif child.tag in ("div", "section") and len(child):
            clean_container(child, blocks)
    # empty wrappers left behind
    for el in list(container.iter("div", "section", "span", "p")):
        if el is not container and el.getparent() is not None and not el.text_content().strip() \
                and el.find(".//img") is None:
            el.drop_tree()


def drop_promos(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """From either end inwards: short blocks that are prompts (subscribe, follow, share, contact,
    affiliate and copyright notices) go, up to the first paragraph that is not one."""
    order = [el for el in container.iter() if el in blocks and el is not container and blocks[el].chars > 3]
    _drop_promos_from(container, order, blocks, 150)  # an article may open with "email us at …"
    _drop_promos_from(container, list(reversed(order)), blocks, 400)


AUTHOR_BOX = frozenset("author authors byline bio biography about".split())


def _in_author_box(el: HtmlElement, container: HtmlElement) -> bool:
    """Whether el sits in a block named for the author (a byline at the top, a bio at the bottom)."""
    node: HtmlElement | None = el
    while node is not None and node is not container:
        if _words(_marks(node)) & AUTHOR_BOX:
            return True
        node = node.getparent()
    return False


def _drop_promos_from(container: HtmlElement, order: list[HtmlElement], blocks: dict[HtmlElement, Block],
                      limit: int) -> None:
    for el in order:
        if el.getparent() is None:
            continue
        b = blocks[el]
        if CREDIT.search(b.text):
            continue
        if (_size(b) <= limit and PROMO.search(b.text)) or (_size(b) <= 600 and _in_author_box(el, container)):
            el.drop_tree()
            continue
        if is_prose(b):
            break


EDITOR_LINE = re.compile(r"^[（(【\[]?\s*(?:责任编辑|责编|值班编辑|编辑)\s*[:：|｜]")


def end_at_editor_line(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Chinese articles end with the editor's line ("（责编：…）", "责任编辑：…"): what follows it, when it
    holds no paragraph (promo links, a "follow our account" QR code image), is the site's, not the article's."""
    line = None
    for el in container.iter():
        b = blocks.get(el)
        if b is not None and len(b.text) <= 40 and EDITOR_LINE.search(b.text):
            line = el
    if line is None:
        return
    following: list[HtmlElement] = []
    node = line
    while node is not None and node is not container:
        following.extend(s for s in node.itersiblings() if isinstance(s.tag, str))
        node = node.getparent()
    if any(is_prose(blocks[x]) for f in following for x in f.iter() if x in blocks):
        return
    for f in following:
        if f.getparent() is not None:
            f.drop_tree()


# an account's menu at the end of an article: "扫描下方二维码…", "回复【福利】查看…", "点击菜单栏…", "点【在看】"
PROMO_LINE = re.compile(r"扫描?.{0,12}二维码|回复【[^】]{1,12}】|点击菜单|点【在看】|关注.{0,10}(?:公众号|微信号)|"
                        r"长按.{0,6}(?:识别|二维码)")


def cut_promo_lines(container: HtmlElement) -> None:
    """In the article's last block, cut a trailing run of short lines that opens with an account's prompt
    ("扫描下方二维码解锁更多技能", then "1、回复【公租房】查看最新消息"…): lines joined by <br>, so no
    block-level step can take them without the credit lines above them."""
    last = None
    for el in container.iter():
        if isinstance(el.tag, str) and el.find("br") is not None and (el.text_content() or "").strip():
            last = el
    if last is None:
        return
    starts: list[HtmlElement | None] = [None] + [k for k in last if k.tag == "br"]  # None: the block's own text

    def line(start: HtmlElement | None) -> str:
        parts = [last.text or ""] if start is None else [start.tail or ""]
        node = last[0] if start is None and len(last) else (start.getnext() if start is not None else None)
        while node is not None and node.tag != "br":
            parts.append(node.text_content() + (node.tail or ""))
            node = node.getnext()
        return WS.sub(" ", "".join(parts)).strip()

    lines = [line(st) for st in starts]
    for i, text in enumerate(lines):
        if PROMO_LINE.search(text) and all(len(t) <= 40 for t in lines[i:]):
            if i == 0:
                last.drop_tree()
                return
            cut = starts[i]
            assert cut is not None
            for node in list(cut.itersiblings()):
                last.remove(node)
            prev = cut.getprevious()
            last.remove(cut)  # the line break before the prompt goes with it
            if prev is not None:
                prev.tail = (prev.tail or "").rstrip()
            return


def _leads_in(el: HtmlElement, b: Block, run_containers: set[HtmlElement]) -> bool:
    """Whether a block before the article's first run of paragraphs belongs to the article."""
    if is_prose(b):
        return el.getparent() in run_containers
    return el.tag in ("li", "dd", "dt", "td") and b.link_chars <= 0.2 * b.chars


def _plain_line(b: Block) -> bool:
    """A short line with no link, address, prompt or date in it."""
    return b.chars <= 80 and not b.link_chars and not BOILER_TEXT.search(b.text) and not PROMO.search(b.text) \
        and not DATE_TEXT.search(b.text) and not CREDIT.search(b.text) and not _CONTACT.search(b.text)


_CONTACT = re.compile(r"@|https?://|www\.|[:：]\s*$")  # an address, or a label that introduces something


def trim_edges(container: HtmlElement, blocks: dict[HtmlElement, Block], title: str | None) -> None:
    """Keep the main run of paragraphs: drop what stands before it (headline, dek, byline, dates,
    gallery labels) and after it (author bio, tag lists, newsletter prompts).

    The run starts at the first paragraph that another paragraph follows (headings between
    them do not break a run) and ends at the last such one; credit lines at the end
    (责任编辑…, "Reporting by …") stay, and so do images.
    """
    order = [el for el in container.iter() if el in blocks and el is not container]
    if not order:
        return
    # a picture with its caption line does not break a run of paragraphs (pictures stay wherever they are)
    seq = [el for el in order if el.tag not in HEADINGS and blocks[el].chars > 3 and el.find(".//img") is None]
    prose = [is_prose(blocks[el]) for el in seq]
    if not any(prose):
        return
    def in_run(i: int, step: int) -> bool:
        if not prose[i]:
            return False
        near = [i + step, i + 2 * step]
        return any(0 <= k < len(seq) and prose[k] for k in near) or _size(blocks[seq[i]]) >= 200

    start = next((i for i in range(len(seq)) if in_run(i, 1)), None)
    end = next((i for i in range(len(seq) - 1, -1, -1) if in_run(i, -1)), None)
    if start is None or end is None or end < start:
        return
    first, last = seq[start], seq[end]
    first_anc = set(first.iterancestors())
    before = []
    for el in order:
        if el is first:
            break
        if el not in first_anc and el.getparent() is not None and el.find(".//img") is None:
            before.append(el)
    # a section heading right before the first paragraph belongs to the article (not the headline)
    if before and before[-1].tag in HEADINGS and before[-1].tag != "h1" and blocks[before[-1]].text != title:
        before.pop()
    # what leads into the run and reads as part of it stays: a paragraph in the run's own containers (a
    # standfirst, a first paragraph set apart by an image) and list items that are not links (ingredients,
    # key facts); a dek in a header block of its own, bylines, dates and share bars go
    keep = [el for el in before if _leads_in(el, blocks[el], first_anc)]
    # a short plain line right before the first paragraph, beside it (a motto, a greeting, a subtitle)
    if before and before[-1].getparent() is first.getparent() and before[-1].tag not in HEADINGS and \
            _plain_line(blocks[before[-1]]):
        keep.append(before[-1])
    held = {a for el in keep for a in el.iterancestors()}
    for el in before:
        if el not in held and el not in keep and el.getparent() is not None:
            el.drop_tree()
    last_anc = set(last.iterancestors())
    after = False
    signoff = True  # the article's closing line may follow its last paragraph: "Euer Hans", "x Franzi"
    for el in order:
        if el is last:
            after = True
            continue
        if not after or el in last_anc or el.getparent() is None or last in set(el.iterancestors()):
            continue
        b = blocks[el]
        if CREDIT.search(b.text) or el.find(".//img") is not None:
            continue
        if signoff and b.chars > 3:
            signoff = False
            if el.getparent() is last.getparent() and b.chars <= 40 and _plain_line(b):
                continue
        # lists, tables, quotes and code that end an article are part of it, unless they are links
        if (el.tag in LISTISH or el.tag in HEADINGS or any(a.tag in LISTISH for a in el.iterancestors()
                                                           if _inside(a, container))) \
                and b.link_chars <= 0.5 * b.chars:
            continue
        el.drop_tree()
    # a heading that nothing of the article follows is no part of it: what it introduced (related links, a
    # contact box, "was this helpful?" buttons, a newsletter form) is gone, or was never text
    for el in reversed(order[order.index(last) + 1:]):
        if not _inside(el, container) or el in last_anc or _inside(last, el) or blocks[el].chars <= 3:
            continue
        heading = el if el.tag in HEADINGS else next(
            (a for a in el.iterancestors() if a.tag in HEADINGS and _inside(a, container)), None)
        if heading is None or el.find(".//img") is not None:
            break
        if _prose_text(flat_text(heading), heading) and len(blocks[el].text) >= 60:
            break  # sentences set as a heading (a closing statement in bold type), not a section's title
        heading.drop_tree()


# a date or a time, as bylines and datelines write them: 23.06.2016, 2021-04-29, 21. April 2020, Feb 6, 2014,
# 11 Jan 2019, 2019年11月25日, 16:14
DATE_TEXT = re.compile(
    r"\b\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2})\b|\b\d{4}-\d{1,2}-\d{1,2}\b|\d{4}年\d{1,2}月\d{1,2}日|"
    r"\b\d{1,2}\.?\s+[^\W\d_]{3,}\.?,?\s+\d{4}\b|\b[^\W\d_]{3,}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}\b|"
    r"\b\d{1,2}:\d{2}\b"
)
DATELINE_LOOK = 6  # text blocks from the top of the answer where a byline or a dateline may stand
DATELINE_CHARS = 100


def drop_datelines(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Drop the short lines near the top of the article that carry its date ("23.06.2016 um 16:14 Uhr - Markus
    Reuter", "von Anja Schmoll-Trautmann am 14. Mai 2014", "asked Feb 6, 2014 at 20:37"): the date is read
    from the page and shown above the body; a line that is a sentence stays, whatever date it names."""
    seen = 0
    for el in list(container.iter()):
        b = blocks.get(el)
        if b is None or el is container or b.chars <= 3 or el.getparent() is None:
            continue
        seen += 1
        if seen > DATELINE_LOOK:
            return
        whole = flat_text(el)  # a block's own text may be a line of a larger wrapper
        if len(whole) <= DATELINE_CHARS and not is_prose(b) and el.tag not in HEADINGS and \
                el.find(".//img") is None and DATE_TEXT.search(whole) and not CREDIT.search(whole):
            el.drop_tree()


# a picture's credit: "© AFP / Marco Bertorello", "(Foto: Getty)", "Photo: Archives", "Photograph by …", "Credit: …"
PHOTO_CREDIT = re.compile(
    r"©|(?:^|[\s(|/])(?:fotos?|photos?|bild|bilder|credits?|images?|photograph|photography|titelbild|beitragsbild|"
    r"aufmacherbild|crédits?|imagen)\s*:|^(?:fotos?|photos?|photograph|images?|bild)\s+(?:by|von|de)\b",
    re.I,
)
CREDIT_CHARS = 200


def drop_photo_credits(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Drop the captions and credit lines of pictures that a page sets as plain paragraphs (where it does not
    use <figcaption>): short blocks that name the picture's source. Captions are shown with their images, and
    the article's text is not theirs."""
    for el in list(container.iter()):
        b = blocks.get(el)
        if b is None or el is container or el.getparent() is None or b.chars > CREDIT_CHARS:
            continue
        whole = flat_text(el)
        if len(whole) <= CREDIT_CHARS and PHOTO_CREDIT.search(whole) and not CREDIT.search(whole) and \
                el.tag not in HEADINGS:
            el.drop_tree()
