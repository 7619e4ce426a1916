"""A digest's content, the same for the EPUB and the one-file HTML: its articles by category, each with its
pictures scaled for a phone, its share link and QR code, and what did not fit under the size cap.

Everything comes from the store and the tree (the mirrored pictures): a digest is made with no network.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .. import __version__
from ..config import Config
from ..models import ADDED_SOURCE, StoredArticle
from ..render import _fmt, images_home, page_path
from ..store import Store
from ..transform import apply_link_policy
from ..transform.images import ImageError, process_image, rewrite_images
from ..transform.script import VARIANTS, ScriptConverter
from .select import Range

log = logging.getLogger("newsmirror.digest")

LABELS = {  # the digest's own words (converted with the text for another script)
    "toc": "目录", "original": "原文地址", "share": "分享链接", "qr": "分享二维码",
    "left_out": "未收入本期的文章", "left_out_note": "以下文章超出本期的大小上限（{cap}），只列出标题和链接：",
    "articles": "篇文章", "made": "由 newsmirror 制作", "source": "来源",
}


@dataclass(frozen=True)
class Picture:
    """One picture as the digest carries it: a name inside the EPUB, and its bytes."""

    name: str  # images/<sha256>.jpg
    media_type: str
    data: bytes

    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode()}"


@dataclass
class Entry:
    """One article in a digest."""

    id: str
    category: str
    title: str
    meta: str  # date · source
    caption: str
    body: str  # HTML; its <img> point at Picture names (see rewrite)
    lead: Picture | None
    pictures: dict[str, Picture]  # name → picture, the lead's included
    original: str
    share: str | None
    qr: Picture | None

    def size(self, inline: bool) -> int:
        """What the article adds to a digest, in bytes: its text and its pictures (as data URIs when `inline`)."""
        pics = sum(len(p.data) for p in [*self.pictures.values(), *([self.qr] if self.qr else [])])
        return len(self.body.encode()) + 2000 + (pics * 4 // 3 if inline else pics)


@dataclass
class Left:
    """An article past the size cap: listed by title and links."""

    title: str
    original: str
    share: str | None


@dataclass
class Content:
    title: str  # the mirror's name
    range: Range
    language: str
    stamp: datetime  # the digest's timestamp: SOURCE_DATE_EPOCH, or the newest article's fetch time
    sections: list[tuple[str, list[Entry]]]  # (category title, its articles)
    left_out: list[Left] = field(default_factory=list)
    cap: int = 0
    labels: dict[str, str] = field(default_factory=lambda: dict(LABELS))
    generator: str = f"newsmirror {__version__}"

    @property
    def count(self) -> int:
        return sum(len(e) for _, e in self.sections)

    def identifier(self, fmt: str) -> str:
        """A stable id: the same articles, range and script give the same id (reproducible files)."""
        h = hashlib.sha256(f"{self.title}\x1f{self.range.label}\x1f{self.language}\x1f{fmt}".encode())
        for _, entries in self.sections:
            for e in entries:
                h.update(e.id.encode() + b"\x1e")
        d = h.hexdigest()
        return f"urn:uuid:{d[:8]}-{d[8:12]}-5{d[13:16]}-8{d[17:20]}-{d[20:32]}"


class Pictures:
    """The mirrored pictures, scaled down for a phone once each (a picture shown twice is carried once)."""

    def __init__(self, folder: Path, width: int, quality: int, max_pixels: int) -> None:
        self.folder = folder
        self.width, self.quality, self.max_pixels = width, quality, max_pixels
        self._done: dict[str, Picture | None] = {}

    def get(self, asset: str) -> Picture | None:
        if asset not in self._done:
            self._done[asset] = self._make(asset)
        return self._done[asset]

    def _make(self, asset: str) -> Picture | None:
        try:
            data = (self.folder / asset).read_bytes()
            img = process_image(data, max_width=self.width, max_pixels=self.max_pixels, quality=self.quality)
        except (OSError, ImageError) as exc:  # shown as its alt text, as on the pages
            log.warning("digest: picture %s left out (%s)", asset, exc)
            return None
        digest = hashlib.sha256(img.data).hexdigest()[:32]
        return Picture(f"images/{digest}.{img.ext}", "image/png" if img.ext == "png" else "image/jpeg", img.data)


def qr_picture(url: str) -> Picture:
    from ..render.qr import qr_png

    data = qr_png(url, scale=3)
    return Picture(f"images/qr-{hashlib.sha256(data).hexdigest()[:24]}.png", "image/png", data)


def share_url(cfg: Config, a: StoredArticle, variant: str | None) -> str | None:
    """The address of the article's page in the mirror (site.html_url, else site.base_url), in this script."""
    folder = f"{variant}/" if variant and cfg.site.variants and variant != cfg.site.variants[0] else ""
    if cfg.site.html_url and "html" in cfg.site.formats:
        return f"{cfg.site.html_url}/{folder}{page_path(a.category, a.id)[:-3]}.html"
    return f"{cfg.site.base_url}/{folder}{page_path(a.category, a.id)}" if cfg.site.base_url else None


def digest_stamp(articles: list[StoredArticle]) -> datetime:
    """SOURCE_DATE_EPOCH when set, else the newest fetch among the articles: never the clock, so that the same
    store gives the same file."""
    import os

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return max((a.fetched_at for a in articles), default=datetime(1980, 1, 1, tzinfo=UTC)).astimezone(UTC)


def build_content(cfg: Config, store: Store, out: Path, articles: list[StoredArticle], rng: Range,
                  variant: str | None, fmt: str, pictures: Pictures | None = None) -> Content:
    """The content of one digest of `articles` (in order), in `variant`'s script (None: as extracted)."""
    conv: Callable[[str], str]
    page: Callable[[str], str]
    if variant:
        cc = ScriptConverter(variant)
        conv, page = cc.text, cc.page
    else:
        conv = page = str
    d = cfg.digest
    pictures = pictures or Pictures(out / images_home(cfg), d.image_width, d.image_quality, cfg.images.max_pixels)
    assets = store.page_images([a.id for a in articles], cfg.images.max_per_article) if cfg.images.download else {}
    language = variant or cfg.site.language
    content = Content(conv(cfg.site.title), rng, language, digest_stamp(articles), [], cap=d.max_bytes,
                      labels={k: conv(v) for k, v in LABELS.items()})
    budget = d.max_bytes - 50_000  # the title page, the table of contents, the stylesheet
    by_cat: dict[str, list[Entry]] = {}
    for a in articles:
        e = _entry(cfg, a, assets.get(a.id, {}), pictures, variant, conv, page)
        size = e.size(inline=fmt == "html")
        if size > budget:  # past the cap: listed by title and links at the end (a smaller one may still fit)
            content.left_out.append(Left(e.title, e.original, e.share))
            continue
        budget -= size
        by_cat.setdefault(a.category, []).append(e)
    content.sections = [(conv(cfg.categories[k].title), v) for k, v in by_cat.items()]
    return content


def _entry(cfg: Config, a: StoredArticle, assets: dict[str, str], pictures: Pictures, variant: str | None,
           conv: Callable[[str], str], page: Callable[[str], str]) -> Entry:
    shown: dict[str, Picture] = {}

    def local(url: str) -> str | None:
        pic = pictures.get(assets[url]) if url in assets else None
        if pic is None:
            return None
        shown[pic.name] = pic
        return pic.name

    policy = cfg.site.link_policy
    body = apply_link_policy(a.body_html, policy, lambda _u: None)
    body = rewrite_images(body, local, link_missing=policy in ("mirror", "keep"))
    lead = pictures.get(assets[a.image]) if a.image and a.image in assets else None
    if lead is not None:
        shown.setdefault(lead.name, lead)
    source = cfg.site.picks_label if a.source == ADDED_SOURCE else a.source
    cat = cfg.categories[a.category].title if a.category in cfg.categories else a.category
    meta = " · ".join(x for x in (_fmt(a.published), cat, f"{LABELS['source']} {source}") if x)
    share = share_url(cfg, a, variant)
    return Entry(a.id, a.category, conv(a.title), conv(meta), conv(a.caption or ""), page(body), lead, shown,
                 a.canonical_url, share, qr_picture(share) if share else None)


def variant_label(variant: str | None) -> str:
    return VARIANTS[variant].label if variant in VARIANTS else ""
