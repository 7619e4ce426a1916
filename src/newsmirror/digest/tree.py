"""The digests kept in the mirror (`[digest] enabled = true`): one per day for the last `digest.days` days that
have articles, in each format and script, in the output's digests/, with an index page (README.md for a code
host's folder view, index.html) and an Atom feed whose entries carry them as enclosures.

They are written before the manifest is signed, so `verify` covers them. A digest is made again only when what
it holds changed (its articles, their pictures, the config): the key of each is kept in the store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from html import escape
from pathlib import Path

from .. import __version__
from ..config import Config
from ..fsutil import refuse_symlinks
from ..render import images_home, xml
from ..store import Store
from .content import Pictures, digest_stamp, variant_label
from .select import day_of, day_range

log = logging.getLogger("newsmirror.digest")

FOLDER = "digests"
INDEX_FILES = ("README.md", "index.html", "feed.xml")
_OURS = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[A-Za-z-]+)?\.(epub|html)$")
MEDIA = {"epub": "application/epub+zip", "html": "text/html"}


def _name(day: str, variant: str | None, first: str | None, fmt: str) -> str:
    suffix = f".{variant}" if variant and variant != first else ""
    return f"{day}{suffix}.{fmt}"


def write_digests(cfg: Config, store: Store, out: Path, write: Callable[[str, bytes], None],
                  remove: Callable[[str], None]) -> None:
    """Make the tree's digests/ what the config and the store say (nothing, when digests are off)."""
    folder = out / FOLDER
    refuse_symlinks(out, [FOLDER])  # never written or swept through a link
    d = cfg.digest
    expected: set[str] = set()
    if d.enabled:
        expected = _write_days(cfg, store, out, write)
    if folder.is_dir():
        for entry in sorted(os.listdir(folder)):
            if entry not in expected and (_OURS.match(entry) or entry in INDEX_FILES):
                remove(f"{FOLDER}/{entry}")


def _write_days(cfg: Config, store: Store, out: Path, write: Callable[[str, bytes], None]) -> set[str]:
    from . import make_digest, select

    d = cfg.digest
    wanted = [c for c in cfg.categories if not d.categories or c in d.categories]
    lite = [a for a in store.articles(with_body=False) if a.category in wanted]
    days = sorted({day_of(a) for a in lite}, reverse=True)[: d.days]
    variants: list[str | None] = list(cfg.site.variants) or [None]
    first = variants[0]
    keys: dict[str, str] = json.loads(store.get_meta("digest_keys") or "{}")
    pictures = Pictures(out / images_home(cfg), d.image_width, d.image_quality, cfg.images.max_pixels)
    made: list[tuple[str, str, str, int, str]] = []  # (day, variant label, file, bytes, fmt)
    expected: set[str] = set()
    for day in days:
        rng = day_range(day, day)
        articles = None
        ids = sorted(a.id for a in lite if day_of(a) == day)
        for variant in variants:
            for fmt in d.formats:
                name = _name(str(day), variant, first, fmt)
                key = _key(cfg, store, ids, variant, fmt)
                path = out / FOLDER / name
                if keys.get(name) != key or not path.is_file():
                    if articles is None:
                        articles = select(store, cfg, rng, d.categories or None)
                    data, _ = make_digest(cfg, store, out, articles, rng, variant, fmt, pictures)
                    write(f"{FOLDER}/{name}", data)
                    keys[name] = key
                expected.add(name)
                made.append((str(day), variant_label(variant), name, path.stat().st_size, fmt))
    keys = {k: v for k, v in keys.items() if k in expected}
    store.set_meta("digest_keys", json.dumps(keys, sort_keys=True))
    if made:
        stamp = digest_stamp([a for a in lite if day_of(a) in set(days)])
        for index, data in _indexes(cfg, made, stamp.isoformat().replace("+00:00", "Z")).items():
            write(f"{FOLDER}/{index}", data)
            expected.add(index)
    return expected


def _key(cfg: Config, store: Store, ids: list[str], variant: str | None, fmt: str) -> str:
    """What a digest is made from: when it is unchanged, so is the file."""
    h = hashlib.sha256(json.dumps([__version__, variant, fmt, cfg.digest.model_dump(), cfg.site.model_dump(),
                                   {k: v.title for k, v in cfg.categories.items()}, cfg.images.download,
                                   cfg.images.max_per_article, os.environ.get("SOURCE_DATE_EPOCH", "")],
                                  sort_keys=True, default=str).encode())
    for a in store.articles_by_id(ids):  # (bodies read: their hash is what changes)
        h.update(f"{a.id}\x1f{a.content_hash}\x1f{a.fetched_at.isoformat()}\x1f{a.title}\x1e".encode())
    for aid, images in sorted(store.page_images(ids, cfg.images.max_per_article).items()):
        h.update(f"{aid}\x1f{sorted(images.items())}\x1e".encode())
    return h.hexdigest()


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{max(1, n // 1000)} KB"


def _indexes(cfg: Config, made: list[tuple[str, str, str, int, str]], stamp: str) -> dict[str, bytes]:
    title = cfg.site.title
    label = {"epub": "EPUB", "html": "HTML"}
    md = [f"# {title} · 每日文摘 · daily digests", "",
          "每天的文章合成一个文件，可离线阅读、转发、拷贝：EPUB 用电子书应用打开，HTML 用任何浏览器打开。", ""]
    rows = []
    for day, var, name, size, fmt in made:
        what = f"{label[fmt]}{' ' + var if var else ''}"
        md.append(f"- {day} · [{what}]({name}) ({_size(size)})")
        rows.append(f'<li>{escape(day)} · <a href="{escape(name)}">{escape(what)}</a> ({_size(size)})</li>')
    html = (f'<!DOCTYPE html>\n<html lang="{escape(cfg.site.language)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)} · 每日文摘</title><style>body{{font-family:sans-serif;line-height:1.7;"
            "max-width:40em;margin:0 auto;padding:0 1em}</style></head><body>"
            f"<h1>{escape(title)} · 每日文摘</h1><p>{escape(md[2])}</p><ul>{''.join(rows)}</ul>"
            '<p><a href="feed.xml">Atom</a></p></body></html>\n')
    base = f"{cfg.site.base_url}/{FOLDER}/" if cfg.site.base_url else ""
    atom = ['<?xml version="1.0" encoding="utf-8"?>',
            f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{xml(cfg.site.language)}">',
            f"<title>{xml(title)} · 每日文摘</title>",
            f"<id>{xml(base or 'urn:newsmirror:digests:' + hashlib.sha256(title.encode()).hexdigest()[:16])}</id>",
            f"<updated>{stamp}</updated>", '<link rel="self" href="feed.xml"/>',
            f"<generator>newsmirror {__version__}</generator>"]
    q = {'"': "&quot;"}
    for day in dict.fromkeys(m[0] for m in made):
        atom += ["<entry>", f"<title>{xml(title)} · {day}</title>", f"<id>{xml(base or 'urn:newsmirror:')}{day}</id>",
                 f"<updated>{stamp}</updated>"]
        for d, var, name, size, fmt in made:
            if d == day:
                atom.append(f'<link rel="enclosure" type="{MEDIA[fmt]}" length="{size}" href="{xml(name, q)}" '
                            f'title="{xml(label[fmt] + (" " + var if var else ""), q)}"/>')
        atom += [f"<summary>{xml(title)} · {day}</summary>", "</entry>"]
    atom.append("</feed>")
    return {"README.md": ("\n".join(md) + "\n").encode(), "index.html": html.encode(),
            "feed.xml": ("\n".join(atom) + "\n").encode()}
