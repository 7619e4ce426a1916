"""newsmirror: keep a censorship-resistant mirror of news sites."""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Article


def extract(html: str, url: str | None = None) -> Article:
    """Extract the article of one page (the same extractor the mirror uses). Raises ExtractError."""
    from .extract import extract as _extract

    return _extract(html, url)


__all__ = ["__version__", "extract"]
