"""The pages revisits add to the mirror: each edited (or deleted, or returned) article's history page with what
changed between its versions, the index of edited articles and that of articles deleted at the source (newest
first), and, on the HTML site when it has an address, an Atom feed of each. Made only when there is something
to list: a mirror whose sources never changed anything looks as it did."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__
from ..render import Renderer, _fmt, rel, xml
from ..store import Store
from .diff import changes

if TYPE_CHECKING:
    from ..models import StoredArticle

EDITED = "已修改文章 · edited at the source"
DELETED = "原文已删除 · deleted at the source"
EVENTS = {"edited": "原网站修改 · edited", "deleted": "原文被删除 · deleted at the source",
          "back": "原文恢复 · back at the source"}


def revision_files(r: Renderer, store: Store, kept_ids: set[str]) -> dict[str, bytes]:
    """The revisit pages of one renderer (format and script), for the articles kept in the tree; sets
    `r.revision_links` for the home page."""
    lay = r.layout
    ids = sorted({*store.edited_ids(), *store.deleted_ids(), *_returned(store)} & kept_ids)
    arts = [a for a in store.articles_by_id(ids) if a.revision is not None]
    r.revision_links = []
    if not arts:
        return {}
    files: dict[str, str] = {}
    for a in arts:
        files[lay.changes(a.id)] = _history_page(r, store, a)
    edited = sorted((a for a in arts if a.revision.versions > 1), key=lambda a: (a.revision.edited_at, a.id),
                    reverse=True)
    deleted = sorted((a for a in arts if a.revision.deleted_at), key=lambda a: (a.revision.deleted_at, a.id),
                     reverse=True)
    for which, label, listed, note in (
            ("edited", EDITED, edited, lambda a: f"修改于 {_fmt(a.revision.edited_at, False)} · "
                                                 f"{a.revision.versions} 个版本"),
            ("deleted", DELETED, deleted, lambda a: f"删除于 {_fmt(a.revision.deleted_at, False)} · "
                                                    f"{a.revision.deleted_reason or ''}")):
        if not listed:
            continue
        here = lay.revisits(which)
        feed_name = f"{lay.root}{which}.xml"
        feed = rel(here, feed_name) if r.feeds else None
        entries = [{"title": a.title, "href": r._href(rel(here, lay.page(a.category, a.id))), "note": note(a),
                    "date": _fmt((a.revision.edited_at if which == "edited" else a.revision.deleted_at), False),
                    "changes": r._href(rel(here, lay.changes(a.id))), "changes_label": "修改记录 · history"}
                   for a in listed]
        files[here] = r.template("revisits").render(title=label, nav=r.nav(here), entries=entries, feed=feed,
                                                    css=rel(here, lay.stylesheet))
        r.revision_links.append((label, here))
        if r.feeds:
            files[feed_name] = _atom(r, which, label, listed, note)
    return r._convert({k: v.encode("utf-8") for k, v in files.items()})


def _returned(store: Store) -> set[str]:
    """Articles that came back after a deletion (their history says so, edited or not)."""
    return store.returned_ids()


def _history_page(r: Renderer, store: Store, a: StoredArticle) -> str:
    """What changed between each two versions, newest first, after the article's history."""
    lay = r.layout
    here = lay.changes(a.id)
    versions = store.versions(a.id)
    steps = []
    for old, new in zip(versions, versions[1:], strict=False):
        c = changes(old["title"], old["body_html"], new["title"], new["body_html"])
        steps.append({"old": old["n"], "new": new["n"], "date": _fmt(_when(new["seen"])), "title": c.title,
                      "blocks": c.blocks})
    steps.reverse()
    events = [{"date": _fmt(when), "label": EVENTS.get(kind, kind), "detail": detail}
              for when, kind, detail in reversed(a.revision.history)]
    return r.template("changes").render(
        title=a.title, nav=r.nav(here, a.category), css=rel(here, lay.stylesheet), url=a.url,
        article=r._href(rel(here, lay.page(a.category, a.id))),
        edited_index=r._href(rel(here, lay.revisits("edited"))), events=events, changes=steps)


def _when(value: str):  # noqa: ANN202
    from datetime import datetime

    return datetime.fromisoformat(value)


def _atom(r: Renderer, which: str, label: str, listed: list[StoredArticle],
          note: Callable[[StoredArticle], str]) -> str:
    """An Atom feed of the edited (or deleted) articles, newest first, every link absolute."""
    lay = r.layout
    home, feed_root, _url = r._feed_urls()
    base = feed_root or f"{r.site.base_url}/{lay.root}"
    site = home.rsplit("/", 1)[0] + "/"

    def page(path: str) -> str:
        p = path.removeprefix(lay.root)
        return site + (p if feed_root else p.removesuffix(lay.ext) + ".md")  # else: the Markdown pages

    quote = {'"': "&quot;"}
    items = listed[: r.site.feed_items]
    stamps = [(a.revision.edited_at if which == "edited" else a.revision.deleted_at) for a in items]
    updated = max((s for s in stamps if s), default=None)
    iso = (updated.isoformat() if updated else "1970-01-01T00:00:00+00:00").replace("+00:00", "Z")
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{xml(r.site.language, quote)}">',
           f"<title>{xml(r.site.title)} · {xml(label)}</title>", f"<id>{xml(base)}{which}.xml</id>",
           f"<author><name>{xml(r.site.title)}</name></author>", f"<updated>{iso}</updated>",
           f'<link rel="alternate" type="text/html" href="{xml(page(lay.revisits(which)), quote)}"/>',
           f"<generator>newsmirror {__version__}</generator>"]
    for a, when in zip(items, stamps, strict=True):
        stamp = (when.isoformat() if when else iso).replace("+00:00", "Z")
        target = page(lay.changes(a.id) if which == "edited" else lay.page(a.category, a.id))
        out += ["<entry>", f"<title>{xml(a.title)}</title>", f'<link href="{xml(target, quote)}"/>',
                f"<id>{xml(a.canonical_url)}#{which}-{stamp}</id>", f"<updated>{stamp}</updated>",
                f"<summary>{xml(note(a))} · 原文 {xml(a.url)}</summary>", "</entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"
