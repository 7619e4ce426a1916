"""A digest as one self-contained HTML file, for readers without an e-book app: every picture inlined as a data
URI, its own small stylesheet, no script, and a Content-Security-Policy that lets it load nothing from any host,
so that it opens from a chat app's download folder with the network off."""

from __future__ import annotations

from html import escape

from .content import Content
from .epub import _chapter_body, left_out_body

CSS = """body{font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;
line-height:1.7;margin:0 auto;max-width:42em;padding:0 1em 3em;color:#222;background:#fff}
h1{font-size:1.35em;line-height:1.35}header{text-align:center;padding:1.5em 0;border-bottom:1px solid #ddd}
header h1{font-size:1.6em;margin:0}.meta,figcaption{color:#666;font-size:.85em}
img{max-width:100%;height:auto}img.qr{width:9em;image-rendering:pixelated}figure{margin:1em 0}
nav ol{padding-left:1.2em}nav li{margin:.2em 0}article{border-bottom:1px solid #ddd;padding-bottom:1em}
.links{font-size:.85em;word-break:break-all}a{color:#0645ad}h2{margin-top:1.5em;font-size:1.2em}
@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}a{color:#8ab4f8}}
"""

# nothing but the file itself: pictures are data: URIs, the stylesheet is inline, no script at all
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def build_html(c: Content) -> bytes:
    """The one-file HTML of a digest's content."""
    lab = c.labels
    toc, parts = [], []
    n = 0
    for cat_title, entries in c.sections:
        items = []
        chapters = []
        for e in entries:
            n += 1
            body = _chapter_body(c, e)
            for pic in [*e.pictures.values(), *([e.qr] if e.qr else [])]:
                body = body.replace(f'src="{pic.name}"', f'src="{pic.data_uri()}"')
            chapters.append(body.replace("<article>", f'<article id="a{n}">', 1))
            items.append(f'<li><a href="#a{n}">{escape(e.title)}</a></li>')
        toc.append(f"<li>{escape(cat_title)}<ol>{''.join(items)}</ol></li>")
        parts.append(f'<section><h2 class="category">{escape(cat_title)}</h2>{"".join(chapters)}</section>')
    if c.left_out:
        toc.append(f'<li><a href="#left-out">{escape(lab["left_out"])}</a></li>')
        parts.append(f'<section id="left-out">{left_out_body(c)}</section>')
    title = f"{c.title} · {c.range.label}"
    doc = (f'<!DOCTYPE html>\n<html lang="{escape(c.language)}"><head><meta charset="utf-8">'
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
           '<meta name="viewport" content="width=device-width, initial-scale=1">'
           f'<meta name="generator" content="{escape(c.generator)}"><title>{escape(title)}</title>'
           f"<style>{CSS}</style></head><body><header><h1>{escape(c.title)}</h1><p>{escape(c.range.label)} · "
           f"{c.count} {escape(lab['articles'])}</p></header>"
           f'<nav><h2>{escape(lab["toc"])}</h2><ol>{"".join(toc)}</ol></nav>'
           f'<main>{"".join(parts)}</main><footer class="meta"><p>{escape(lab["made"])} · '
           f'{c.stamp.strftime("%Y-%m-%d %H:%M UTC")}</p></footer></body></html>\n')
    return doc.encode("utf-8")
