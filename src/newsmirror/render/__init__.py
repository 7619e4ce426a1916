"""render: stored articles → the files of the mirror (Markdown pages, QR codes, indexes).

Templates are Jinja2 files; a file of the same name in the config's
`templates/` folder overrides the bundled one (`newsmirror init` copies them).
Every link is relative, so a fork or a clone works as is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import posixpath
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..config import Config, Link
from ..models import ArticleRef, Listed, StoredArticle
from ..transform import apply_link_policy
from ..transform.images import beyond_cap, cap_note, rewrite_images
from ..transform.script import VARIANTS, ScriptConverter, keep
from .formats import heavy_work
from .jinja import TEMPLATES, environment
from .layout import (
    ARCHIVE,
    HOME,
    HOT,
    HTML,
    LAYOUTS,
    MARKDOWN,
    TEXT_FILES,
    Layout,
    category_path,
    images_home,
    page_path,
    qr_path,
    rel,
)
from .markdown import md_bare_url, md_run, md_text, md_url
from .text import DISPLAY_TZ, ArticleView, display_time, xml

log = logging.getLogger("newsmirror.render")

Indexed = Listed | StoredArticle  # what the indexes and a page's QR code need of an article: either has it


@dataclass
class NavItem:
    label: str
    href: str


class Renderer:
    """The files of one output format, in one script variant (`script`, e.g. "zh-Hant") or as extracted (None)."""

    def __init__(self, cfg: Config, layout: Layout = MARKDOWN, script: str | None = None) -> None:
        self.cfg = cfg
        self.site = cfg.site if script is None else cfg.site.model_copy(update={"language": script})
        self.layout = layout
        self.script = script
        self._converter: ScriptConverter | None = None
        self.versions: list[tuple[str, Layout]] = []  # (label, layout) of every variant of this format
        self._env = None
        self.key_fingerprint: str | None = None  # the signing key's, shown on the home page
        self.verify_command: str | None = None  # how a reader checks the copy with ssh-keygen, on the home page
        self.revision_links: list[tuple[str, str]] = []  # (label, path) of the edited and deleted indexes, if any

    def _convert(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """The text files in this renderer's script (no change without one)."""
        if self.script is None:
            return files
        if self._converter is None:  # OpenCC's dictionaries are loaded on first use
            self._converter = ScriptConverter(self.script)
        return {p: self._converter.page(d.decode("utf-8")).encode("utf-8") if p.endswith(TEXT_FILES) else d
                for p, d in files.items()}

    def template(self, name: str):  # -> jinja2.Template
        return self.env.get_template(name + self.layout.template_ext)

    @property
    def template_dirs(self) -> list[Path]:
        """Where templates are looked for, first match wins: the config's `templates/`, then the bundled ones."""
        return [d for d in (self.cfg.templates_dir, TEMPLATES) if d.is_dir()]

    @property
    def env(self):  # -> jinja2.Environment; built on first use (a run that renders nothing never imports Jinja2)
        if self._env is None:
            self._env = environment(self.template_dirs, self.layout.output.autoescape)
            self._env.globals["site"] = self.site
            self._env.filters["md"] = md_text
            self._env.filters["mdurl"] = md_url
            self._env.filters["mdbare"] = md_bare_url
            self._env.filters["mdrun"] = md_run
        return self._env

    # -- fingerprint of everything that shapes the output, so a changed config or template rebuilds all
    def fingerprint(self) -> str:
        h = hashlib.sha256(__version__.encode())
        h.update(self.cfg.site.model_dump_json().encode())
        h.update(json.dumps({k: v.title for k, v in self.cfg.categories.items()}, sort_keys=True).encode())
        # images.download decides whether a page shows its pictures from the tree or where they are
        # and images.max_per_article how many (and where they are: images_home)
        h.update(f"formats={self.site.formats} key={self.key_fingerprint} images={self.cfg.images.download} "
                 f"per_article={self.cfg.images.max_per_article} home={images_home(self.cfg)}".encode())
        templates: dict[str, bytes] = {}
        for d in self.template_dirs:  # the file Jinja2 would load for each name
            for f in d.rglob("*"):
                name = f.relative_to(d).as_posix()
                if f.is_file() and name not in templates:
                    templates[name] = f.read_bytes()
        for name in sorted(templates):
            h.update(name.encode() + templates[name])
        return h.hexdigest()

    # -- links
    def _href(self, url: str) -> str:
        """A link target as the format writes it (Markdown escapes; HTML templates escape themselves)."""
        return self.layout.output.href(url)

    def _link(self, here: str, link: Link | NavItem, tag: str | None) -> str:
        url = link.url if isinstance(link, Link) else link.href
        if "://" in url or url.startswith(("mailto:", "#")):
            return self._href(url)
        lay = self.layout
        target = posixpath.normpath(url)
        if target == HOME:  # the pages we make: this format's and this variant's version
            target = lay.home
        elif target == ARCHIVE:
            target = lay.archive
        elif target.startswith(("pages/", "indexes/")):
            target = lay.root + (target[:-3] + lay.ext if target.endswith(".md") else target)
        elif lay.output.standalone and self.site.base_url:  # another file of the repository (docs/guide.md): the
            return self._href(f"{self.site.base_url}/{target}")  # site holds no copy; the host shows it
        target = rel(here, target)
        return self._href(target + (f"?{tag}" if tag and self.site.tag_links else ""))

    def nav(self, here: str, category: str | None = None, tag: str | None = None) -> list[NavItem]:
        lay = self.layout

        def item(label: str, target: str) -> NavItem:
            return NavItem(label, self._href(rel(here, target) + (f"?{tag}" if tag and self.site.tag_links else "")))

        items = [item(self.site.home_label, lay.home)]
        if category:
            items.append(item(self.cfg.categories[category].title, lay.category(category)))
        else:
            items += [item(c.title, lay.category(k)) for k, c in self.cfg.categories.items()]
        items.append(item(self.site.hot_label, lay.hot))
        if not category:
            items.append(item(self.site.archive_label, lay.archive))
        for link in self.site.nav:
            items.append(NavItem(link.title, self._link(here, link, tag)))
        for label, other in self.versions:  # this page in the other scripts, each named in its own
            if other != lay:
                items.append(NavItem(keep(label), self._href(rel(here, lay.counterpart(here, other)))))
        return [i for i in items if i.label.strip()]

    def promos(self, here: str, article_id: str) -> list[dict]:
        p = self.site.promos
        chosen = list(p.fixed)
        if p.random and p.pool:
            chosen += random.Random(article_id).sample(p.pool, min(p.random, len(p.pool)))
        return [{"title": x.title, "icon": x.icon, "href": self._link(here, x, article_id)} for x in chosen]

    def share_url(self, path: str) -> str | None:
        """The absolute address of a page: `site.html_url` for the HTML site when set, else `site.base_url`."""
        if self.layout.output.standalone and self.site.html_url:
            return f"{self.site.html_url}/{path.removeprefix(self.layout.base)}"
        if self.layout.output.standalone and self.site.base_url and path.startswith(self.layout.base):
            return None  # the repository's file view of an HTML page shows its source: share the Markdown page
        return f"{self.site.base_url}/{path}" if self.site.base_url else None

    # -- pages
    def article(self, a: StoredArticle, mirrored: Callable[[str], ArticleRef | None], with_qr: bool = True,
                assets: dict[str, str] | None = None) -> dict[str, bytes]:
        """The page (and its QR code, unless `with_qr` is False) of one article, keyed by path in the tree.

        `mirrored(url)` gives the ArticleRef of our copy of the article at a URL, or None. `assets` maps image
        URLs to our copies' paths (`assets/ab/….jpg`); None leaves images where they are."""
        work = self.prepare(a, mirrored, with_qr, assets)
        return self.compose(a, *heavy_work(work, self.layout.format), assets=assets)

    def prepare(self, a: StoredArticle, mirrored: Callable[[str], ArticleRef | None], with_qr: bool = True,
                assets: dict[str, str] | None = None) -> tuple[str, str | None]:
        """The CPU-heavy inputs of a page: its body after the link policy (and with its images pointed at our
        copies), and the URL for its QR code (or None). `heavy_work()` turns them into Markdown (or keeps the
        HTML) and a PNG; it may run in another process."""
        lay = self.layout
        here = lay.page(a.category, a.id)

        def ours(url: str) -> str | None:
            hit = mirrored(url)
            target = lay.page(hit.category, hit.id) if hit else None
            return rel(here, target) if target and target != here else None

        body = apply_link_policy(a.body_html, self.site.link_policy, ours)
        if assets is not None or lay.output.standalone:  # the HTML site loads nothing from another host
            have = assets or {}
            cap = self.cfg.images.max_per_article
            over = beyond_cap(a.image, a.body_html, cap) if assets is not None else []
            body = rewrite_images(body, lambda u: rel(here, lay.asset(have[u])) if u in have else None,
                                  link_missing=self.site.link_policy in ("mirror", "keep"))
            if over:  # shown as their alt text like a failed image, but these will not come: say why
                body += cap_note(len(over), cap)
        if lay.output.standalone and ("<a" in body or "<img" in body):
            body = named_links_and_images(body)
        share = self.qr_url(a)
        return body, share if with_qr else None

    def qr_url(self, a: Indexed) -> str | None:
        """What the page's QR code says: its share URL, or (for the HTML site) that of the Markdown page in the
        same script when it has none of its own."""
        page = self.layout.page(a.category, a.id)
        return self.share_url(page) or self.share_url(
            self.layout.root.removeprefix(self.layout.base) + page_path(a.category, a.id))

    def compose(self, a: StoredArticle, body: str, qr_bytes: bytes | None,
                assets: dict[str, str] | None = None) -> dict[str, bytes]:
        """The page's files from its body (Markdown, or HTML for the site) and QR PNG."""
        lay = self.layout
        here = lay.page(a.category, a.id)
        if assets is None and not lay.output.standalone:
            lead = a.image  # images are not mirrored: shown from where they are
        else:
            lead = rel(here, lay.asset(assets[a.image])) if assets and a.image in assets else None
        share = self.qr_url(a)
        files: dict[str, bytes] = {}
        qr = None
        if share:
            if qr_bytes is not None:
                files[lay.qr(a.category, a.id)] = qr_bytes
            qr = posixpath.basename(lay.qr(a.category, a.id))
        counter = None
        if self.site.counter_url and not lay.output.standalone:  # the HTML site asks no other host for anything
            counter = self.site.counter_url.replace("{path}", here).replace("{id}", a.id)
        provenance = json.dumps({
            "id": a.id, "url": a.url, "canonical_url": a.canonical_url, "source": a.source,
            "published": a.published.isoformat() if a.published else None,
            "fetched": a.fetched_at.isoformat(), "content_sha256": a.content_hash,
            "extracted_by": a.extracted_by, "warc_record_id": a.warc_record_id, "warc_payload_digest": a.warc_digest,
            "generator": f"newsmirror {__version__}",
        }, ensure_ascii=False).replace("--", "-\\u002d")  # the same JSON, and nothing that ends the comment
        text = self.template("article").render(
            a=ArticleView(a, self.site.picks_label), lead=lead, site=self.site, nav=self.nav(here, a.category, a.id),
            promos=self.promos(here, a.id), body=body, qr=qr, counter=counter, provenance=provenance,
            share_url=share or here, share_href=share or posixpath.basename(here),  # without base_url: the page itself
            css=rel(here, lay.stylesheet),
            other=None, revision=self._revision(a, here),
        )
        files[here] = text.encode("utf-8")
        return self._convert(files)

    def _revision(self, a: StoredArticle, here: str) -> dict | None:
        """What the page's banner says of edits and of a deletion at the source (None: nothing to say)."""
        rev = a.revision
        if rev is None:
            return None
        show = self.cfg.revisit.show
        back = [when for when, kind, _ in rev.history if kind == "back"]
        return {
            "versions": rev.versions, "edited": display_time(rev.edited_at, False) if rev.versions > 1 else "",
            "shown": "最初版本 · the first version" if show == "first" else "最新版本 · the latest version",
            "deleted": display_time(rev.deleted_at, False),
            "last_good": display_time(rev.last_good or a.fetched_at, False),
            "back": display_time(back[-1], False) if back and not rev.deleted_at else "",
            "changes": self._href(rel(here, self.layout.changes(a.id))),
            "deleted_index": self._href(rel(here, self.layout.revisits("deleted"))),
        }

    def _entries(self, here: str, articles: list[Indexed], with_category: bool = False) -> list[dict]:
        return [{
            "title": a.title, "href": self._href(rel(here, self.layout.page(a.category, a.id))),
            "date": display_time(a.sort_date, False),
            "category_title": self.cfg.categories[a.category].title if with_category and a.category in
            self.cfg.categories else "",
            "views": None,
        } for a in articles]

    def indexes(self, kept: list[Indexed], counts: dict[str, int] | None,
                counts_label: str = "") -> dict[str, bytes]:
        """Home, category, hot and archive pages for the articles kept in the tree (newest first)."""
        lay = self.layout
        files: dict[str, str] = {}
        picks = [a for a in kept if a.pick][: self.site.home_latest]
        latest = kept[: self.site.home_latest]
        newest = max((a.fetched_at for a in kept), default=None)
        files[lay.home] = self.template("home").render(
            site=self.site, nav=self.nav(lay.home), picks=self._entries(lay.home, picks, True),
            latest=self._entries(lay.home, latest, True), css=rel(lay.home, lay.stylesheet),
            title=self.site.title, search=self.search, feeds=self.feeds, key_fingerprint=self.key_fingerprint,
            verify_command=self.verify_command,
            revisions=[NavItem(label, self._href(rel(lay.home, path))) for label, path in self.revision_links],
            updated_note=f"{len(kept)} 篇文章 · 更新于 {display_time(newest)} · newsmirror {__version__}" if newest
            else f"newsmirror {__version__}",
        )
        by_cat: dict[str, list[Indexed]] = defaultdict(list)
        for a in kept:
            by_cat[a.category].append(a)
        for key, cat in self.cfg.categories.items():
            here = lay.category(key)
            files[here] = self.template("category").render(
                title=cat.title, nav=self.nav(here), articles=self._entries(here, by_cat.get(key, [])),
                css=rel(here, lay.stylesheet))
        files[lay.hot] = self._hot(kept, counts, counts_label)
        by_month: dict[str, list[Indexed]] = defaultdict(list)
        for a in kept:
            by_month[a.sort_date.astimezone(DISPLAY_TZ).strftime("%Y-%m")].append(a)
        months = sorted(by_month, reverse=True)
        files[lay.archive] = self.template("archive").render(
            title=self.site.archive_label, nav=self.nav(lay.archive), articles=[],
            css=rel(lay.archive, lay.stylesheet),
            months=[{"label": mo, "href": rel(lay.archive, lay.month(mo)), "count": len(by_month[mo])}
                    for mo in months])
        for mo in months:
            here = lay.month(mo)
            files[here] = self.template("archive").render(
                title=f"{self.site.archive_label} {mo}", nav=self.nav(here), months=[],
                articles=self._entries(here, by_month[mo], True), css=rel(here, lay.stylesheet))
        out = {k: v.encode("utf-8") for k, v in files.items()}
        if lay.output.standalone:
            out.update(self.site_files(kept))
        return self._convert(out)

    @property
    def search(self) -> bool:
        """Whether the pages link to a search page (the HTML site has one, made with Pagefind)."""
        return self.layout.output.standalone

    @property
    def feeds(self) -> bool:
        """Whether the HTML site has its Atom and JSON feeds: only with an address to point their links at
        (`site.html_url`, else `site.base_url`). A feed reader resolves no relative link (the JSON Feed schema
        requires absolute ones), so without one the feeds would link nowhere."""
        return self.layout.output.standalone and bool(self.site.html_url or self.site.base_url)

    def _feed_urls(self) -> tuple[str, str | None, Callable[[Indexed], str]]:
        """(home page, the feed's own folder or None, an article's page): absolute. With `site.html_url`, the
        site's pages; with `site.base_url` alone, the Markdown pages on the code host (which shows a file of the
        site as source, so the feeds then have no address of their own)."""
        lay = self.layout
        if self.site.html_url:
            root = f"{self.site.html_url}/{lay.root.removeprefix(lay.base)}"
            return root + "index.html", root, lambda a: f"{self.site.html_url}/" + lay.page(
                a.category, a.id).removeprefix(lay.base)
        md_root = f"{self.site.base_url}/{lay.root.removeprefix(lay.base)}"
        return md_root + HOME, None, lambda a: md_root + page_path(a.category, a.id)

    def site_files(self, kept: list[Indexed]) -> dict[str, bytes]:
        """The HTML site's stylesheet and search page, and its Atom and JSON feeds of the latest articles."""
        root = self.layout.root
        css, _, _ = self.env.loader.get_source(self.env, "style.css")  # type: ignore[union-attr]  # an override wins
        here = f"{root}search.html"
        search = self.template("search").render(nav=self.nav(here), css=rel(here, self.layout.stylesheet),
                                                pagefind=rel(here, self.layout.base + "pagefind"), title="搜索")
        files = {f"{root}search.html": search.encode("utf-8"), self.layout.stylesheet: css.encode("utf-8")}
        if self.feeds:
            files.update(self.feed_files(kept))
        return files

    def feed_files(self, kept: list[Indexed]) -> dict[str, bytes]:
        """`feed.xml` (Atom, RFC 4287) and `feed.json` (JSON Feed 1.1) of this variant, every link absolute. Each
        variant's feed has its own identity (its own address), never one made of the site's title, which an
        operator may rename."""
        root = self.layout.root
        latest = kept[: self.site.feed_items]
        home, feed_root, url = self._feed_urls()
        feed_id = (feed_root or f"{self.site.base_url}/{root}") + "feed.xml"
        updated = max((a.fetched_at for a in latest), default=None)
        stamp = (updated.isoformat() if updated else "1970-01-01T00:00:00+00:00").replace("+00:00", "Z")
        quote = {'"': "&quot;"}
        atom = ['<?xml version="1.0" encoding="utf-8"?>',
                f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{xml(self.site.language, quote)}">',
                f"<title>{xml(self.site.title)}</title>", f"<id>{xml(feed_id)}</id>",
                f"<author><name>{xml(self.site.title)}</name></author>",
                f"<updated>{stamp}</updated>", f'<link rel="alternate" type="text/html" href="{xml(home, quote)}"/>']
        if feed_root:
            atom.append(f'<link rel="self" type="application/atom+xml" href="{xml(feed_root, quote)}feed.xml"/>')
        atom.append(f"<generator>newsmirror {__version__}</generator>")
        items = []
        for a in latest:
            when = (a.published or a.fetched_at).isoformat().replace("+00:00", "Z")
            cat = self.cfg.categories[a.category].title if a.category in self.cfg.categories else a.category
            atom += ["<entry>", f"<title>{xml(a.title)}</title>", f'<link href="{xml(url(a), quote)}"/>',
                     f"<id>{xml(a.canonical_url)}</id>",
                     f"<updated>{a.fetched_at.isoformat().replace('+00:00', 'Z')}</updated>",
                     f"<published>{when}</published>", f'<category term="{xml(cat, quote)}"/>',
                     f"<summary>{xml(a.title)} · {xml(cat)} · 原文 {xml(a.canonical_url)}</summary>", "</entry>"]
            items.append({"id": a.canonical_url, "url": url(a), "title": a.title, "date_published": when,
                          "date_modified": a.fetched_at.isoformat(), "tags": [cat], "external_url": a.canonical_url,
                          "content_text": f"{a.title}（{cat}）原文：{a.canonical_url}"})
        atom.append("</feed>")
        feed: dict[str, object] = {"version": "https://jsonfeed.org/version/1.1", "title": self.site.title,
                                   "home_page_url": home}
        if feed_root:
            feed["feed_url"] = feed_root + "feed.json"
        feed.update(language=self.site.language, authors=[{"name": self.site.title}], items=items)
        return {f"{root}feed.xml": ("\n".join(atom) + "\n").encode("utf-8"),
                f"{root}feed.json": (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")}

    def _hot(self, kept: list[Indexed], counts: dict[str, int] | None, counts_label: str) -> str:
        if counts:
            ranked = sorted(kept, key=lambda a: (counts.get(page_path(a.category, a.id), 0), a.sort_date),
                            reverse=True)
            basis = f"按阅读次数排序（{counts_label}），次数相同按时间 · ranked by views"
        elif counts is not None:  # a counter is configured, but has no finished day with views yet
            ranked = kept
            basis = "尚无阅读计数，按发布时间排序 · ranked by recency (no views counted yet)"
        else:
            ranked = kept
            basis = "未配置阅读计数，按发布时间排序 · ranked by recency (no view counts configured)"
        ranked = ranked[: self.site.hot_limit]
        hot = self.layout.hot
        entries = self._entries(hot, ranked, True)
        if counts:
            for e, a in zip(entries, ranked, strict=True):
                e["views"] = counts.get(page_path(a.category, a.id), 0)
        return self.template("hot").render(site=self.site, nav=self.nav(hot), basis=basis, articles=entries,
                                           css=rel(hot, self.layout.stylesheet))


def renderers_for(cfg: Config) -> list[Renderer]:
    """One renderer per output format and script variant; the first is the Markdown of the first variant.

    The first variant is at the top of the tree (and of site/); every other one is the same tree in a
    folder named after it (`zh-Hant/pages/…`, `site/zh-Hant/pages/…`), sharing the images. Without
    `site.variants`, pages are in the script they were extracted in."""
    out: list[Renderer] = []
    if "html" in cfg.site.formats and not (cfg.site.html_url or cfg.site.base_url):
        log.warning("site feeds: left out, as their links must be absolute: set site.html_url to where site/ is "
                    "served (or site.base_url)")
    for fmt in cfg.site.formats:
        layout = dataclasses.replace(LAYOUTS[fmt], images=images_home(cfg))  # (HTML's images are site/'s already)
        if not cfg.site.variants:
            out.append(Renderer(cfg, layout))
            continue
        versions = [(VARIANTS[v].label, layout if i == 0 else layout.in_folder(v))
                    for i, v in enumerate(cfg.site.variants)]
        for v, (_, lay) in zip(cfg.site.variants, versions, strict=True):
            r = Renderer(cfg, lay, v)
            r.versions = versions
            out.append(r)
    return out


def named_links_and_images(body: str) -> str:
    """A body every screen reader can name: a link with nothing in it (no text, no picture) keeps only what it
    held; a picture without alt text gets an empty one (decorative), or "图片" when it is all a link holds (the
    link's name). An empty link, or a picture with no alt attribute, is an error to the HTML validator and axe."""
    import lxml.html

    from ..htmlfrag import inner_html

    frag = lxml.html.fragment_fromstring(body, create_parent="div")
    for a in list(frag.iter("a")):
        if not a.text_content().strip() and a.find(".//img") is None:
            a.drop_tag()
    for img in frag.iter("img"):
        if not (img.get("alt") or "").strip():
            link = next((x for x in img.iterancestors("a")), None)
            if link is not None and not link.text_content().strip() and not link.xpath(".//img[normalize-space(@alt)]"):
                img.set("alt", "图片")
            elif img.get("alt") is None:
                img.set("alt", "")
    return inner_html(frag)


__all__ = ["ARCHIVE", "DISPLAY_TZ", "HOME", "HOT", "HTML", "LAYOUTS", "MARKDOWN", "TEXT_FILES", "Layout", "Renderer",
           "category_path", "display_time", "heavy_work", "images_home", "page_path", "qr_path", "rel", "renderers_for",
           "xml"]
