"""digest: the articles of a day (or any range) as files a reader carries and opens with no network — an
EPUB 3 book and one self-contained HTML file — made from the store and the mirrored pictures.

`newsmirror digest` writes one; with `[digest] enabled = true`, run and build keep a digest per day in the
output's digests/, with an index page and an Atom feed that carries them as enclosures.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..models import StoredArticle
from ..store import Store
from .content import Content, Pictures, build_content
from .select import DigestError, Range, day_range, parse_day, parse_since, select, since_range

FORMATS = ("epub", "html")


def make_digest(cfg: Config, store: Store, out: Path, articles: list[StoredArticle], rng: Range,
                variant: str | None, fmt: str, pictures: Pictures | None = None) -> tuple[bytes, Content]:
    """The bytes of one digest file (`fmt`: "epub" or "html"), and the content it holds."""
    from .epub import build_epub
    from .onefile import build_html

    content = build_content(cfg, store, out, articles, rng, variant, fmt, pictures)
    return (build_epub(content) if fmt == "epub" else build_html(content)), content


__all__ = ["DigestError", "FORMATS", "Range", "day_range", "make_digest", "parse_day", "parse_since", "select",
           "since_range"]
