"""A sanitised HTML body → clean Markdown (paragraphs, headings, lists, quotes, images, links).

HTML stays only where Markdown cannot say it (tables with spans, <sub>/<sup>).
"""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md_text(text: str | None) -> str:
    """Plain text made safe to stand inside Markdown (link text, headings, emphasis)."""
    if not text:
        return ""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_url(url: str) -> str:
    """A URL made safe inside Markdown's (…) link target."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


_CONVERTER: type | None = None


def _converter() -> type:
    """The Markdown converter class, built on first use (markdownify pulls in BeautifulSoup, slow to import)."""
    global _CONVERTER
    if _CONVERTER is None:
        from markdownify import MarkdownConverter

        class _Converter(MarkdownConverter):
            def escape(self, text, parent_tags):  # type: ignore[override]
                # text that reads "<script>" in the page must not become raw HTML in the Markdown
                return super().escape(text, parent_tags).replace("<", "\\<")

            def convert_img(self, el, text, parent_tags):  # type: ignore[override]
                src = el.get("src") or ""
                if not src:
                    return ""
                alt = md_text(el.get("alt") or "")
                return f"![{alt}]({md_url(src)})"

            def convert_figure(self, el, text, parent_tags):  # type: ignore[override]
                return f"\n\n{text.strip()}\n\n"

            def convert_figcaption(self, el, text, parent_tags):  # type: ignore[override]
                caption = " ".join(text.split())
                return f"\n\n_{caption}_\n\n" if caption else ""

            def convert_a(self, el, text, parent_tags):  # type: ignore[override]
                href = el.get("href")
                text = text.strip()
                if not href:
                    return text
                if not text:
                    return ""
                return f"[{text}]({md_url(href)})"

            def convert_sub(self, el, text, parent_tags):  # type: ignore[override]
                return f"<sub>{text}</sub>" if text.strip() else ""

            def convert_sup(self, el, text, parent_tags):  # type: ignore[override]
                return f"<sup>{text}</sup>" if text.strip() else ""

        _CONVERTER = _Converter
    return _CONVERTER


def html_to_markdown(body_html: str) -> str:
    md = _converter()(
        heading_style="ATX",
        bullets="-",
        strong_em_symbol="*",
        escape_underscores=True,
        escape_asterisks=True,
        escape_misc=False,
        newline_style="BACKSLASH",
        strip=["span", "time", "abbr", "cite", "small", "mark", "u", "ins"],
    ).convert(body_html)
    md = re.sub(r"[ \t]+\n", "\n", md)
    md = re.sub(r"\n{3,}", "\n\n", md)
    return md.strip() + "\n"
