"""The layout of the tree (see newsmirror.layout, which the counter shares) and the relative links between its
files: what the renderer, the build's stale-file sweep and the image store share."""

from __future__ import annotations

import posixpath

from ..config import Config
from ..layout import ARCHIVE, HOME, HOT, HTML, LAYOUTS, MARKDOWN, TEXT_FILES, Layout, PagePath, parse_page

__all__ = ["ARCHIVE", "HOME", "HOT", "HTML", "LAYOUTS", "MARKDOWN", "TEXT_FILES", "Layout", "PagePath",
           "category_path", "images_home", "page_path", "parse_page", "qr_path", "rel"]


def images_home(cfg: Config) -> str:
    """The folder whose `assets/` holds the images: `site/` when the HTML site is made, so that site/ stands on
    its own (served alone, added to IPFS, copied, opened from file:// on any system) and the Markdown pages link
    into it; else the top of the tree. Each image is stored once: a picture the tree holds twice is published,
    committed and pushed twice."""
    return HTML.base if "html" in cfg.site.formats else MARKDOWN.base


def page_path(category: str, article_id: str) -> str:
    return MARKDOWN.page(category, article_id)


def qr_path(category: str, article_id: str) -> str:
    return MARKDOWN.qr(category, article_id)


def category_path(category: str) -> str:
    return MARKDOWN.category(category)


def rel(from_file: str, to_file: str) -> str:
    """The relative link from one file of the tree to another."""
    here = from_file.split("/")[:-1]
    there = to_file.split("/")
    if "" in there or "." in there or ".." in there or "" in here or "." in here or ".." in here:
        return posixpath.relpath(to_file, posixpath.dirname(from_file) or ".")  # not a plain path in the tree
    common = 0  # (plain paths: no need for posixpath.relpath, which asks the OS for the working directory)
    while common < len(here) and common < len(there) and here[common] == there[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + there[common:]) or "."
