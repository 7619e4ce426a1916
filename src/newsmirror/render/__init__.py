"""render: stored articles → the files of the mirror (Markdown pages, QR codes, indexes).

Templates are Jinja2 files; a file of the same name in the config's
`templates/` folder overrides the bundled one (`newsmirror init` copies them).
Every link is relative, so a fork or a clone works as is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .. import __version__
from ..config import Config, Link
from ..ids import safe_id
from ..models import StoredArticle
from ..transform import apply_link_policy
from .markdown import md_text, md_url

log = logging.getLogger("newsmirror.render")

TEMPLATES = Path(__file__).parent / "templates"
HOME = "README.md"
HOT = "indexes/hot.md"
ARCHIVE = "indexes/archive/README.md"
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def page_path(category: str, article_id: str) -> str:
    return f"pages/{safe_id(category)}/{safe_id(article_id)}.md"


def qr_path(category: str, article_id: str) -> str:
    return f"pages/{safe_id(category)}/{safe_id(article_id)}.png"


def category_path(category: str) -> str:
    return f"indexes/{safe_id(category)}.md"


def month_path(month: str) -> str:
    return f"indexes/archive/{month}.md"


def rel(from_file: str, to_file: str) -> str:
    """The relative link from one file of the tree to another."""
    return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")


@dataclass
class NavItem:
    label: str
    href: str


def _fmt(dt: datetime | None, with_time: bool = True) -> str:
    if dt is None:
        return ""
    local = dt.astimezone(DISPLAY_TZ)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


class Renderer:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.site = cfg.site
        self._env = None

    @property
    def template_dirs(self) -> list[Path]:
        """Where templates are looked for, first match wins: the config's `templates/`, then the bundled ones."""
        return [d for d in (self.cfg.templates_dir, TEMPLATES) if d.is_dir()]

    @property
    def env(self):  # -> jinja2.Environment; built on first use (a run that renders nothing never imports Jinja2)
        if self._env is None:
            import jinja2

            self._env = jinja2.Environment(
                loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in self.template_dirs]),
                autoescape=False,
                keep_trailing_newline=True,
                trim_blocks=True,
                lstrip_blocks=True,
                undefined=jinja2.StrictUndefined,
            )
            self._env.filters["md"] = md_text
            self._env.filters["mdurl"] = md_url
        return self._env

    # -- fingerprint of everything that shapes the output, so a changed config or template rebuilds all
    def fingerprint(self) -> str:
        h = hashlib.sha256(__version__.encode())
        h.update(self.cfg.site.model_dump_json().encode())
        h.update(json.dumps({k: v.title for k, v in self.cfg.categories.items()}, sort_keys=True).encode())
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
    def _link(self, here: str, link: Link | NavItem, tag: str | None) -> str:
        url = link.url if isinstance(link, Link) else link.href
        if "://" in url or url.startswith(("mailto:", "#")):
            return md_url(url)
        target = rel(here, posixpath.normpath(url))
        return md_url(target + (f"?{tag}" if tag and self.site.tag_links else ""))

    def nav(self, here: str, category: str | None = None, tag: str | None = None) -> list[NavItem]:
        def item(label: str, target: str) -> NavItem:
            return NavItem(label, md_url(rel(here, target) + (f"?{tag}" if tag and self.site.tag_links else "")))

        items = [item(self.site.home_label, HOME)]
        if category:
            items.append(item(self.cfg.categories[category].title, category_path(category)))
        else:
            items += [item(c.title, category_path(k)) for k, c in self.cfg.categories.items()]
        items.append(item(self.site.hot_label, HOT))
        if not category:
            items.append(item(self.site.archive_label, ARCHIVE))
        for link in self.site.nav:
            items.append(NavItem(link.title, self._link(here, link, tag)))
        return [i for i in items if i.label.strip()]

    def promos(self, here: str, article_id: str) -> list[dict]:
        p = self.site.promos
        chosen = list(p.fixed)
        if p.random and p.pool:
            chosen += random.Random(article_id).sample(p.pool, min(p.random, len(p.pool)))
        return [{"title": x.title, "icon": x.icon, "href": self._link(here, x, article_id)} for x in chosen]

    def share_url(self, path: str) -> str | None:
        return f"{self.site.base_url}/{path}" if self.site.base_url else None

    # -- pages
    def article(self, a: StoredArticle, mirrored: Callable[[str], str | None],
                with_qr: bool = True) -> dict[str, bytes]:
        """The page (and its QR code, unless `with_qr` is False) of one article, keyed by path in the tree."""
        work = self.prepare(a, mirrored, with_qr)
        return self.compose(a, *heavy_work(work))

    def prepare(self, a: StoredArticle, mirrored: Callable[[str], str | None],
                with_qr: bool = True) -> tuple[str, str | None]:
        """The CPU-heavy inputs of a page: its body after the link policy, and the URL for its QR code (or
        None). `heavy_work()` turns them into Markdown and PNG; it may run in another process."""
        here = page_path(a.category, a.id)

        def ours(url: str) -> str | None:
            target = mirrored(url)
            return rel(here, target) if target and target != here else None

        body = apply_link_policy(a.body_html, self.site.link_policy, ours)
        share = self.share_url(here)
        return body, share if (share and with_qr) else None

    def compose(self, a: StoredArticle, body_md: str, qr_bytes: bytes | None) -> dict[str, bytes]:
        """The page's files from its Markdown body and QR PNG."""
        here = page_path(a.category, a.id)
        share = self.share_url(here)
        files: dict[str, bytes] = {}
        qr = None
        if share:
            if qr_bytes is not None:
                files[qr_path(a.category, a.id)] = qr_bytes
            qr = posixpath.basename(qr_path(a.category, a.id))
        counter = None
        if self.site.counter_url:
            counter = self.site.counter_url.replace("{path}", here).replace("{id}", a.id)
        provenance = json.dumps({
            "id": a.id, "url": a.url, "canonical_url": a.canonical_url, "source": a.source,
            "published": a.published.isoformat() if a.published else None,
            "fetched": a.fetched_at.isoformat(), "content_sha256": a.content_hash,
            "extracted_by": a.extracted_by, "warc_record_id": a.warc_record_id, "warc_payload_digest": a.warc_digest,
            "generator": f"newsmirror {__version__}",
        }, ensure_ascii=False).replace("--", "‐‐")
        text = self.env.get_template("article.md.j2").render(
            a=_ArticleView(a), site=self.site, nav=self.nav(here, a.category, a.id),
            promos=self.promos(here, a.id), body=body_md, share_url=share or here, qr=qr,
            counter=counter, provenance=provenance,
        )
        files[here] = text.encode("utf-8")
        return files

    def _entries(self, here: str, articles: list[StoredArticle], with_category: bool = False) -> list[dict]:
        return [{
            "title": a.title, "href": md_url(rel(here, page_path(a.category, a.id))), "date": _fmt(a.sort_date, False),
            "category_title": self.cfg.categories[a.category].title if with_category and a.category in
            self.cfg.categories else "",
            "views": None,
        } for a in articles]

    def indexes(self, kept: list[StoredArticle], counts: dict[str, int] | None,
                counts_label: str = "") -> dict[str, bytes]:
        """Home, category, hot and archive pages for the articles kept in the tree (newest first)."""
        files: dict[str, str] = {}
        picks = [a for a in kept if a.pick][: self.site.home_latest]
        latest = kept[: self.site.home_latest]
        newest = max((a.fetched_at for a in kept), default=None)
        files[HOME] = self.env.get_template("home.md.j2").render(
            site=self.site, nav=self.nav(HOME), picks=self._entries(HOME, picks, True),
            latest=self._entries(HOME, latest, True),
            updated_note=f"{len(kept)} 篇文章 · 更新于 {_fmt(newest)} · newsmirror {__version__}" if newest
            else f"newsmirror {__version__}",
        )
        by_cat: dict[str, list[StoredArticle]] = defaultdict(list)
        for a in kept:
            by_cat[a.category].append(a)
        for key, cat in self.cfg.categories.items():
            here = category_path(key)
            files[here] = self.env.get_template("category.md.j2").render(
                title=cat.title, nav=self.nav(here), articles=self._entries(here, by_cat.get(key, [])))
        files[HOT] = self._hot(kept, counts, counts_label)
        by_month: dict[str, list[StoredArticle]] = defaultdict(list)
        for a in kept:
            by_month[a.sort_date.astimezone(DISPLAY_TZ).strftime("%Y-%m")].append(a)
        months = sorted(by_month, reverse=True)
        files[ARCHIVE] = self.env.get_template("archive.md.j2").render(
            title=self.site.archive_label, nav=self.nav(ARCHIVE), articles=[],
            months=[{"label": mo, "href": rel(ARCHIVE, month_path(mo)), "count": len(by_month[mo])} for mo in months])
        for mo in months:
            here = month_path(mo)
            files[here] = self.env.get_template("archive.md.j2").render(
                title=f"{self.site.archive_label} {mo}", nav=self.nav(here), months=[],
                articles=self._entries(here, by_month[mo], True))
        return {k: v.encode("utf-8") for k, v in files.items()}

    def _hot(self, kept: list[StoredArticle], counts: dict[str, int] | None, counts_label: str) -> str:
        if counts:
            ranked = sorted(kept, key=lambda a: (counts.get(page_path(a.category, a.id), 0), a.sort_date),
                            reverse=True)
            basis = f"按阅读次数排序（{counts_label}），次数相同按时间 · ranked by views"
        else:
            ranked = kept
            basis = "未配置阅读计数，按发布时间排序 · ranked by recency (no view counts configured)"
        ranked = ranked[: self.site.hot_limit]
        entries = self._entries(HOT, ranked, True)
        if counts:
            for e, a in zip(entries, ranked, strict=True):
                e["views"] = counts.get(page_path(a.category, a.id), 0)
        return self.env.get_template("hot.md.j2").render(site=self.site, nav=self.nav(HOT), basis=basis,
                                                         articles=entries)


def heavy_work(work: tuple[str, str | None]) -> tuple[str, bytes | None]:
    """(body HTML, QR URL or None) → (Markdown, PNG or None): pure, so it can run in a worker process."""
    from .markdown import html_to_markdown
    from .qr import qr_png

    body, qr_url = work
    return html_to_markdown(body), (qr_png(qr_url) if qr_url else None)


class _ArticleView:
    """What a template sees of an article: the stored fields plus formatted dates."""

    def __init__(self, a: StoredArticle) -> None:
        self._a = a
        self.published_str = _fmt(a.published)
        self.fetched_str = a.fetched_at.strftime("%Y-%m-%d %H:%M UTC")

    def __getattr__(self, name: str) -> object:
        return getattr(self._a, name)


__all__ = ["Renderer", "page_path", "qr_path", "category_path", "rel", "HOME", "HOT", "ARCHIVE"]
