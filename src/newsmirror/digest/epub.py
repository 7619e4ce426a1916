"""A digest as an EPUB 3 book (ebooklib): a title page, a table of contents by category, one chapter per
article with its pictures, its original URL and the mirror's share link (text and QR code), and a last
chapter listing the articles past the size cap.

ebooklib stamps the zip entries with the clock and the book with a random id; the book's id here comes from
its content, its modification time is the digest's stamp, and the zip is written again with every entry at
that time, in the same order, so that one store gives one file, byte for byte.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from html import escape

from .content import Content, Entry

CSS = """body { font-family: sans-serif; line-height: 1.6; margin: 0 0.5em; }
h1 { font-size: 1.4em; line-height: 1.3; }
.meta { color: #555; font-size: 0.85em; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; }
img.qr { width: 9em; }
figcaption { color: #555; font-size: 0.85em; }
.links { font-size: 0.85em; word-break: break-all; }
.title-page { text-align: center; margin-top: 30%; }
"""


def _chapter_body(c: Content, e: Entry) -> str:
    lab = c.labels
    lead = ""
    if e.lead is not None:
        cap = f"<figcaption>{escape(e.caption)}</figcaption>" if e.caption else ""
        lead = f'<figure class="lead"><img src="{e.lead.name}" alt="{escape(e.title)}"/>{cap}</figure>'
    share = ""
    if e.share:
        share = f'<p>{escape(lab["share"])}：<a href="{escape(e.share)}">{escape(e.share)}</a></p>'
        if e.qr is not None:
            share += f'<p><img class="qr" src="{e.qr.name}" alt="{escape(lab["qr"])}：{escape(e.share)}"/></p>'
    return (f'<article><h1>{escape(e.title)}</h1><p class="meta">{escape(e.meta)}</p>{lead}'
            f'<div class="body">{e.body}</div><hr/><div class="links">'
            f'<p>{escape(lab["original"])}：<a href="{escape(e.original)}">{escape(e.original)}</a></p>'
            f"{share}</div></article>")


def left_out_body(c: Content) -> str:
    lab = c.labels
    items = "".join(
        f'<li>{escape(x.title)}<br/><a href="{escape(x.share or x.original)}">{escape(x.share or x.original)}</a>'
        + (f'<br/>{escape(lab["original"])}：<a href="{escape(x.original)}">{escape(x.original)}</a>' if x.share
           else "") + "</li>" for x in c.left_out)
    note = lab["left_out_note"].replace("{cap}", f"{c.cap / 1_000_000:g} MB")
    return f'<h1>{escape(lab["left_out"])}</h1><p>{escape(note)}</p><ol class="links">{items}</ol>'


def build_epub(c: Content) -> bytes:
    """The EPUB 3 file of a digest's content."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier(c.identifier("epub"))
    title = f"{c.title} · {c.range.label}"
    book.set_title(title)
    book.set_language(c.language)
    book.add_author(c.title)
    book.add_metadata("DC", "date", c.stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))
    book.add_metadata("DC", "publisher", c.generator)
    style = epub.EpubItem(uid="style", file_name="style.css", media_type="text/css", content=CSS.encode())
    book.add_item(style)

    def page(name: str, heading: str, body: str) -> epub.EpubHtml:
        item = epub.EpubHtml(title=heading, file_name=name, lang=c.language)
        item.content = f"<html><head><title>{escape(heading)}</title></head><body>{body}</body></html>"
        item.add_item(style)
        book.add_item(item)
        return item

    cover = page("title.xhtml", title, f'<div class="title-page"><h1>{escape(c.title)}</h1>'
                 f"<p>{escape(c.range.label)}</p><p>{c.count} {escape(c.labels['articles'])}</p>"
                 f'<p class="meta">{escape(c.labels["made"])}</p></div>')
    nav = epub.EpubNav(title=c.labels["toc"])
    book.add_item(nav)
    toc: list = [epub.Link("title.xhtml", title, "title")]
    spine: list = [cover, nav]
    pictures: dict[str, object] = {}
    n = 0
    for cat_title, entries in c.sections:
        chapters = []
        for e in entries:
            n += 1
            ch = page(f"a{n:04d}.xhtml", e.title, _chapter_body(c, e))
            chapters.append(ch)
            spine.append(ch)
            for pic in [*e.pictures.values(), *([e.qr] if e.qr else [])]:
                if pic.name not in pictures:
                    pictures[pic.name] = epub.EpubItem(uid=f"img{len(pictures) + 1}", file_name=pic.name,
                                                       media_type=pic.media_type, content=pic.data)
                    book.add_item(pictures[pic.name])
        toc.append((epub.Section(cat_title, chapters[0].file_name), chapters))
    if c.left_out:
        rest = page("left-out.xhtml", c.labels["left_out"], left_out_body(c))
        spine.append(rest)
        toc.append(rest)
    book.toc = toc
    book.spine = spine
    book.add_item(epub.EpubNcx())
    raw = io.BytesIO()
    epub.write_epub(raw, book, {"mtime": c.stamp.replace(tzinfo=None), "epub2_guide": False})
    return _fixed_zip(raw.getvalue(), c.stamp)


def _fixed_zip(data: bytes, stamp: datetime) -> bytes:
    """The same zip with every entry at `stamp` and the same attributes, in the same order (mimetype first,
    stored): a reproducible file."""
    when = stamp.timetuple()[:6] if stamp.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            fixed.create_system = 3
            dst.writestr(fixed, src.read(info.filename), compresslevel=9 if fixed.compress_type else None)
    return out.getvalue()
