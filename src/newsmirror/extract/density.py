"""A CJK-aware content extractor on one lxml parse.

1. Prune what is never article text: scripts, forms, navigation, hidden
   elements, and blocks whose class/id says comment, related, share, sidebar…
2. Cut the page into text blocks (the nearest block-level owner of each text
   node) and give each a value: its non-link characters, weighted by how
   sentence-like it is (punctuation such as ，。 counts, CJK characters count
   more than Latin letters), minus its link characters.
3. The article is the element whose subtree has the largest total value
   (a maximum-subtree search, one bottom-up pass): navigation, link lists and
   short labels pull a subtree's value down, paragraphs push it up.
4. Inside it, drop blocks that are boilerplate: link lists, share prompts,
   disclaimers and copyright lines, "related" headings with what follows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml.html import HtmlElement

JUNK_TAGS = frozenset({
    "script", "style", "noscript", "template", "button", "form-junk", "input", "select", "textarea", "svg", "canvas",
    "nav", "aside", "footer", "iframe", "object", "embed", "link", "meta", "label", "dialog", "menu", "audio",
    "video", "source", "picture-source", "map",
})
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt",
    "dd", "blockquote", "pre", "table", "tr", "td", "th", "figure", "figcaption", "header", "address", "center",
    "body", "html", "tbody", "thead", "caption", "hr", "font-block",
})
KEEP_ROOTS = frozenset({"html", "body", "article", "main"})
# what is never text, even when a page's markup is broken: the lenient pass drops only these (it keeps
# <noscript>, which some pages fill with the whole article for readers without JavaScript)
NEVER_TEXT_TAGS = frozenset({
    "script", "style", "template", "button", "input", "select", "textarea", "svg", "canvas", "iframe",
    "object", "embed", "link", "meta", "audio", "video", "source", "map",
})

# words of class/id names (split at -, _, digits and camelCase) that mark non-article blocks
STRONG_UNLIKELY = frozenset("""
comment comments commentlist disqus replies related relate relatedposts recommend recommended recommendation
recommendations tuijian xgyd share shares sharing sharebar social sns sidebar advert adverts advertisement advertising
ad ads
adsbygoogle adslot adunit sponsor sponsored outbrain taboola newsletter subscribe subscription breadcrumb
breadcrumbs crumb crumbs copyright disclaimer qrcode erweima tags taglist popular trending mostread hotnews
ranking promo promotion cookie cookies gdpr consent login signup
""".split())
UNLIKELY_WORDS = STRONG_UNLIKELY | frozenset("""
footer foot footnote nav navbar navigation menu masthead header banner popup modal hot rank pagination pager
toolbar widget statement skip print tag keywords cta more extra supplemental shoutbox combx community
bio biography authorbio
""".split())
MAYBE_WORDS = frozenset("article articles body content contents entry main post story text detail column "
                        "articlebody postbody storybody embed embedded tweet".split())
_WORD_SPLIT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _words(marks: str) -> set[str]:
    return {w.lower() for w in _WORD_SPLIT.findall(marks)} | {t.lower() for t in marks.split()}


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
PUNCT = re.compile(r"[，。！？；：、,.!?;:…—]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
WS = re.compile(r"\s+")


def _marks(el: HtmlElement) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}"


def _hidden(el: HtmlElement) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _walk_prune(root: HtmlElement, decide) -> None:
    """Depth-first; `decide(el)` True drops el (and its subtree is not visited)."""
    stack = list(reversed(root))
    while stack:
        el = stack.pop()
        if decide(el):
            if el.getparent() is not None:
                el.drop_tree()
            continue
        stack.extend(reversed(el))


FOOTERISH = frozenset("footer copyright disclaimer".split())
COMMENTISH = frozenset("comment comments commentlist disqus replies related relate recommend recommended "
                       "recommendation recommendations tuijian xgyd popular trending mostread hotnews ranking"
                       .split())


def drop_junk(root: HtmlElement, lenient: bool = False) -> None:
    """Remove, in place, tags that are never article text and hidden elements.

    `lenient` keeps the semantic tags (nav, aside, footer…) and hidden elements: an unclosed <nav>
    can swallow a whole page, and some pages hide their article until a script shows it."""
    tags = NEVER_TEXT_TAGS if lenient else JUNK_TAGS

    def junk(el: HtmlElement) -> bool:
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None:  # comments, processing instructions
            return True
        if tag in KEEP_ROOTS:
            return False
        if lenient and tag == "noscript":  # an article, not a "please enable JavaScript" line
            if len(el.text_content().strip()) < 200:
                return True
            el.tag = "div"  # content from here on: sanitising and rendering drop <noscript>
            return False
        return tag in tags or (not lenient and _hidden(el))

    _walk_prune(root, junk)


def subtree_values(root: HtmlElement, blocks: dict[HtmlElement, Block], positive: bool = False
                   ) -> dict[HtmlElement, float]:
    """Per element, the sum of its subtree's block values (only the positive ones with `positive`)."""
    totals: dict[HtmlElement, float] = {}
    for el in reversed(list(root.iter())):
        if not isinstance(el.tag, str):
            continue
        v = blocks[el].value if el in blocks else 0.0
        total = max(v, 0.0) if positive else v
        for child in el:
            total += totals.get(child, 0.0)
        totals[el] = total
    return totals


def prune_unlikely(root: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Remove blocks whose class/id names say comment, related, share, sidebar…

    A class name alone never removes a block that holds much of the page's
    paragraph text ("sidebar-layout" and "share-area" wrappers around a whole
    article exist): weak names may remove up to 30% of it, strong ones
    (comment, related, share, ad…) up to 50%.
    """
    pos = subtree_values(root, blocks, positive=True)
    total = pos.get(root, 0.0) or 1.0

    def unlikely(el: HtmlElement) -> bool:
        if el.tag in KEEP_ROOTS:
            return False
        if el.tag == "form":
            return pos.get(el, 0.0) < 0.3 * total
        marks = _marks(el)
        if not marks.strip():
            return False
        words = _words(marks)
        if not words & UNLIKELY_WORDS:
            return False
        if words & MAYBE_WORDS and not words & COMMENTISH:
            return False
        limit = 0.8 if words & FOOTERISH else 0.5 if words & STRONG_UNLIKELY else 0.3
        return pos.get(el, 0.0) < limit * total

    _walk_prune(root, unlikely)


@dataclass
class Block:
    el: HtmlElement
    text: str
    chars: int
    link_chars: int
    value: float


def _collect(el: HtmlElement, owner: HtmlElement, in_link: bool, acc: dict) -> None:
    """Attribute every text node to its nearest block-level owner, noting link text."""
    tag = el.tag if isinstance(el.tag, str) else ""
    own = el if tag in BLOCK_TAGS else owner
    link = in_link or tag == "a"
    if el.text and tag:
        _add(acc, own, el.text, link)
    for child in el:
        _collect(child, own, link, acc)
        if child.tail:
            _add(acc, own, child.tail, link)


def _add(acc: dict, owner: HtmlElement, text: str, in_link: bool) -> None:
    t = text.strip()
    if not t:
        return
    entry = acc.get(owner)
    if entry is None:
        entry = acc[owner] = [[], 0]
    entry[0].append(text)
    if in_link:
        entry[1] += len(WS.sub("", t))


def block_value(text: str, link_chars: int) -> float:
    """How article-like a block of text is: positive for sentences, negative for links and labels.

    Links inside real sentences cost little (articles link a lot); a block that
    is mostly links without sentences around them (menus, tags, lists of
    headlines) costs twice its link text.
    """
    chars = len(text)
    plain = chars - link_chars
    if chars == 0:
        return 0.0
    cjk = len(CJK.findall(text))
    weight_len = plain + 1.5 * min(cjk, plain)  # a CJK character says more than a letter
    puncts = len(PUNCT.findall(text))
    if plain < 8 and puncts == 0:
        return -0.5 * chars - 2 * link_chars
    if plain >= 40 and puncts >= 2:  # sentences, whatever their links
        return weight_len - 0.5 * link_chars
    sentence = 1.0 if puncts else (0.55 if plain >= 40 else 0.25)
    if link_chars / chars > 0.5:
        sentence *= 0.2
    return weight_len * sentence - 2.0 * link_chars


def _starts_with_link(el: HtmlElement) -> bool:
    """Whether the first text of `el` is inside a link (a teaser: headline link, then a summary)."""
    for node in el.iter():
        if not isinstance(node.tag, str):
            continue
        if node.text and node.text.strip():
            return node.tag == "a" or any(a.tag == "a" for a in node.iterancestors() if a is not el) and \
                _inside(node, el)
        if node is not el and node.tail and node.tail.strip():
            return False
    return False


def _inside(node: HtmlElement, top: HtmlElement) -> bool:
    for anc in node.iterancestors():
        if anc is top:
            return True
    return False


def _signature(el: HtmlElement) -> tuple[str, str]:
    first_class = (el.get("class") or "").split()[:1]  # items differ in later classes (post-123)
    return el.tag, first_class[0] if first_class else ""


def drop_teasers(container: HtmlElement) -> None:
    """Remove lists of teasers: three or more sibling items of one kind, each led by a link."""
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
            if len(led) >= 3 and len(led) >= 0.6 * len(items):
                for c in led:
                    if c.getparent() is not None:
                        c.drop_tree()


def blocks_of(root: HtmlElement) -> dict[HtmlElement, Block]:
    acc: dict[HtmlElement, list] = {}
    _collect(root, root, False, acc)
    out: dict[HtmlElement, Block] = {}
    for el, (parts, link_chars) in acc.items():
        text = WS.sub(" ", "".join(parts)).strip()
        dense = text.replace(" ", "")
        links = min(link_chars, len(dense))
        out[el] = Block(el, text, len(dense), links, block_value(dense, links))
    return out


def best_subtree(root: HtmlElement, blocks: dict[HtmlElement, Block]) -> tuple[HtmlElement | None, float]:
    """The element whose subtree's block values add up highest."""
    totals: dict[HtmlElement, float] = {}
    best, best_val = None, 0.0
    for el in reversed(list(root.iter())):  # children before parents
        if not isinstance(el.tag, str):
            continue
        total = blocks[el].value if el in blocks else 0.0
        for child in el:
            total += totals.get(child, 0.0)
        totals[el] = total
        if total > best_val:
            best, best_val = el, total
    # prefer the smallest element that holds nearly all of the best value (no wrapper chrome)
    return best, best_val


def _prose_text(text: str, el: HtmlElement) -> bool:
    links = sum(len(WS.sub("", a.text_content())) for a in el.iter("a"))
    dense = text.replace(" ", "")
    return is_prose(Block(el, text, len(dense), min(links, len(dense)), 0.0))


def _is_boiler_block(el: HtmlElement, blocks: dict[HtmlElement, Block]) -> bool:
    text = WS.sub(" ", el.text_content()).strip()
    if not text:
        return el.tag not in ("img", "figure", "br", "hr", "table") and el.find(".//img") is None
    # "免责声明：…", "分享到", "相关阅读" — but not a paragraph that merely starts with such a word
    # ("投诉人李女士告诉记者，…")
    if len(text) <= 200 and BOILER_TEXT.search(text) and (len(text) <= 20 or not _prose_text(text, el)):
        return True
    links = sum(len(WS.sub("", a.text_content())) for a in el.iter("a"))
    chars = len(text.replace(" ", ""))
    if el.tag in ("ul", "ol", "dl", "div", "section", "table") and chars and links / chars > 0.6:
        return True
    # a short line of links ("Whatsapp Facebook Twitter", "Previous | Next")
    return el.tag not in HEADINGS and chars < 50 and links >= 0.8 * chars


def clean_container(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> None:
    """Drop boilerplate children: link lists, share prompts, disclaimers; a trailing "related" heading ends it."""
    kids = [c for c in container if isinstance(c.tag, str) and c.tag in BLOCK_TAGS]
    for i, child in enumerate(kids):
        if child.getparent() is None:
            continue
        text = WS.sub(" ", child.text_content()).strip()
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


SENTENCE_END = re.compile(r"[。！？!?.…”\"’)）」』]\s*$")
CREDIT = re.compile(r"^[（(【\[]?\s*(?:责任编辑|责编|编辑|记者|作者|来源|撰稿|摄影|图片来源|通讯员|译者|校对|"
                    r"reporting by|editing by|additional reporting|written by|contributed)", re.I)


CJK_SENTENCE = re.compile(r"[，。！？；、]")


def is_prose(b: Block) -> bool:
    """A block that reads like a paragraph of an article (not a label, a byline or a link)."""
    plain = b.chars - b.link_chars
    if b.link_chars > 0.5 * b.chars:
        return False
    cjk = len(CJK.findall(b.text))
    size = plain + cjk  # a CJK character counts twice
    if size >= 120:
        return True
    if cjk * 2 >= plain:  # mostly CJK: a clause mark is enough
        return size >= 20 and bool(CJK_SENTENCE.search(b.text))
    return size >= 30 and bool(PUNCT.search(b.text)) and bool(SENTENCE_END.search(b.text) or size >= 60)


HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# what articles end with that is not the article: newsletter and app prompts, contact lines, disclaimers
PROMO = re.compile(
    r"subscribe|newsletter|sign up|signup|follow (?:us|me|him|her|them)\b|may be reached at|reach (?:him|her|me|us) at|"
    r"email (?:him|her|me|us) at|have a (?:news )?tip|send us|tips?@|click here|download (?:our|the) app|"
    r"share this (?:article|story)|^share$|sharing is caring|join (?:our|the) (?:mailing|community)|"
    r"this post (?:may )?contains? affiliate|"
    r"关注.{0,10}(?:公众号|微信|微博)|订阅|扫.{0,4}码|下载.{0,10}(?:app|客户端)|本文来自|更多原创|免责声明|特别声明|"
    r"版权(?:所有|声明)|未经(?:授权|允许|许可)|转载请|投稿|^[【\[（(]?声明[:：]|"
    r"uses cookies|cookie policy|privacy policy",
    re.I,
)
LISTISH = frozenset({"li", "dd", "dt", "td", "th", "blockquote", "pre", "code", "tr", "table", "ul", "ol", "dl"})


def _size(b: Block) -> int:
    return b.chars - b.link_chars + len(CJK.findall(b.text))


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
    seq = [el for el in order if el.tag not in HEADINGS and blocks[el].chars > 3]
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
    for el in before:
        if el.getparent() is not None:
            el.drop_tree()
    last_anc = set(last.iterancestors())
    after = False
    for el in order:
        if el is last:
            after = True
            continue
        if not after or el in last_anc or el.getparent() is None or last in set(el.iterancestors()):
            continue
        b = blocks[el]
        if CREDIT.search(b.text) or el.find(".//img") is not None:
            continue
        # lists, tables, quotes and code that end an article are part of it, unless they are links
        if (el.tag in LISTISH or el.tag in HEADINGS or any(a.tag in LISTISH for a in el.iterancestors()
                                                           if _inside(a, container))) \
                and b.link_chars <= 0.5 * b.chars:
            continue
        el.drop_tree()


_SPLIT_IN = frozenset({"div", "section", "article", "main", "td", "blockquote", "body"})


def _empty_block(el: HtmlElement) -> bool:
    return el.tag in BLOCK_TAGS and el.tag not in ("hr", "table", "figure") and not el.text_content().strip() \
        and el.find(".//img") is None


def split_paragraphs(root: HtmlElement) -> bool:
    """Make paragraphs of text that runs loose in a block, cut at empty blocks and at double line breaks.

    Some sites separate paragraphs with `<br><div class="spacer"></div>` or `<br><br>` rather than <p>;
    the spacer holds no text and would be dropped (or rendered as nothing), leaving one wall of text
    joined by hard line breaks. Single line breaks stay inside their paragraph. True when it made any.
    """
    made = False
    for el in list(root.iter(*_SPLIT_IN)):
        kids = [k for k in el if isinstance(k.tag, str)]
        seps = sum(1 for k in kids if _empty_block(k)) + sum(
            1 for a, b in zip(kids, kids[1:], strict=False) if a.tag == b.tag == "br" and not (a.tail or "").strip())
        loose = (el.text or "").strip() or any((k.tail or "").strip() for k in kids)
        if not seps or not loose:
            continue
        _rebuild_paragraphs(el)
        made = True
    return made


def _rebuild_paragraphs(el: HtmlElement) -> None:
    import lxml.html

    pieces: list[HtmlElement | str] = [el.text] if el.text else []
    for k in list(el):
        tail, k.tail = k.tail, None
        el.remove(k)
        pieces.append(k)
        if tail:
            pieces.append(tail)
    el.text = None
    current: list[HtmlElement | str] = []

    def flush() -> None:
        while current and (isinstance(current[-1], str) and not current[-1].strip() or
                           not isinstance(current[-1], str) and current[-1].tag == "br"):
            current.pop()
        while current and (isinstance(current[0], str) and not current[0].strip() or
                           not isinstance(current[0], str) and current[0].tag == "br"):
            current.pop(0)
        if current:
            p = lxml.html.Element("p")
            for piece in current:
                if isinstance(piece, str):
                    if len(p):
                        p[-1].tail = (p[-1].tail or "") + piece
                    else:
                        p.text = (p.text or "") + piece
                else:
                    p.append(piece)
            el.append(p)
        current.clear()

    for piece in pieces:
        if isinstance(piece, str) or not isinstance(piece.tag, str):
            current.append(piece)
        elif _empty_block(piece):
            flush()
        elif piece.tag == "br" and current and not isinstance(current[-1], str) and current[-1].tag == "br":
            flush()
        elif piece.tag in BLOCK_TAGS:
            flush()
            el.append(piece)
        else:
            current.append(piece)
    flush()


def widen(best: HtmlElement, root: HtmlElement, blocks: dict[HtmlElement, Block]) -> HtmlElement:
    """Climb from the best subtree to an ancestor that holds much more paragraph text at a small cost.

    An article whose paragraphs are split between a nested wrapper and its parent, or interleaved
    with link-heavy items, has its best subtree too low; teasers and link lists are removed later.
    """
    net = subtree_values(root, blocks)
    pos = subtree_values(root, blocks, positive=True)
    current = best
    for parent in best.iterancestors():
        if parent.tag in ("body", "html") or parent is root:
            break
        if pos[parent] >= 1.3 * pos[current] and net[parent] >= 0.7 * net[current]:
            current = parent
        elif net[parent] < 0.7 * net[current]:
            break
    return current


class NotAnArticle(Exception):
    """The page is something else (a list of links, a section front)."""


def looks_like_listing(container: HtmlElement, blocks: dict[HtmlElement, Block]) -> bool:
    """Headlines that are links, as many as paragraphs or more: a section front, not an article."""
    headlines = prose = 0
    for el in container.iter():
        b = blocks.get(el)
        if b is None or b.chars <= 3:
            continue
        if b.chars >= 8 and b.link_chars >= 0.6 * b.chars:
            headlines += 1
        elif is_prose(b):
            prose += 1
    if headlines >= 2 and headlines >= prose:
        return True
    # the best block is one of several like it, each led by a headline link: one item of a list
    node: HtmlElement | None = container
    for _ in range(3):
        parent = node.getparent() if node is not None else None
        if parent is None or parent.tag in ("body", "html"):
            return False
        if _starts_with_link(node):
            sig = _signature(node)
            alike = [c for c in parent if isinstance(c.tag, str) and _signature(c) == sig and _starts_with_link(c)]
            if len(alike) >= 2:
                return True
        node = parent
    return False


def _has_article_text(el: HtmlElement, blocks: dict[HtmlElement, Block]) -> bool:
    """Two paragraphs, or one long one: text that reads as an article, not as a teaser."""
    sizes = [_size(blocks[b]) for b in el.iter() if b in blocks and is_prose(blocks[b])]
    return len(sizes) >= 2 and sum(sizes) >= 200 or any(s >= 300 for s in sizes)


def article_beside_list(root: HtmlElement, listing: HtmlElement, value: float,
                        blocks: dict[HtmlElement, Block]) -> HtmlElement | None:
    """When the best subtree is a list of headline links, the article that may stand beside it.

    A list outweighs a short article (a teaser column next to a news item, a forum's thread index
    next to a post), so "not an article" needs evidence: the list is set aside and the search run
    again; an element that holds article text and no list, worth a fair part of the list, is the
    article. Without one the page is a listing. Up to three lists are set aside.
    """
    for _ in range(3):
        if listing is root or listing.getparent() is None:
            return None
        listing.drop_tree()
        best, best_value = best_subtree(root, blocks)
        if best is None or best_value < 0.25 * value or not _has_article_text(best, blocks):
            return None
        if not looks_like_listing(best, blocks):
            return best
        listing = best
    return None


def find_content(doc: HtmlElement, title: str | None = None, typed_article: bool = False,
                 lenient: bool = False) -> HtmlElement | None:
    """The article container of a parsed page (pruned and cleaned in place), or None.

    Raises NotAnArticle for a list of headline links, unless the page's metadata says it is an
    article (`typed_article`). `lenient` is the second pass for when the first answer looks weak
    (Readability's retry with fewer flags): no element is removed for its class or id name, and
    only what is never text is dropped before the search.
    """
    body = doc.find("body")
    root = body if body is not None else doc
    drop_junk(root, lenient)
    blocks = blocks_of(root)
    if not lenient:
        prune_unlikely(root, blocks)
    best, value = best_subtree(root, blocks)
    if best is None or value <= 0:
        return None
    if not typed_article and looks_like_listing(best, blocks):
        best = article_beside_list(root, best, value, blocks)
        if best is None:
            raise NotAnArticle("a list of headline links (a section or index page), not an article")
    best = widen(best, root, blocks)
    tidy(best, root, blocks, title, prune=not lenient)
    return best


def tidy(best: HtmlElement, root: HtmlElement, blocks: dict[HtmlElement, Block], title: str | None,
         prune: bool = True) -> None:
    """Clean an article container in place: what is inside it but not the article goes."""
    if prune:
        prune_unlikely(best, blocks)
    if split_paragraphs(best):
        blocks.update(blocks_of(root))  # the new paragraphs are blocks of their own
    drop_teasers(best)
    clean_container(best, blocks)
    trim_edges(best, blocks, title)
    drop_promos(best, blocks)
    end_at_editor_line(best, blocks)
    cut_promo_lines(best)

