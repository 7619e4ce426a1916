"""Where each output format's files live in the tree (Markdown at the top, the HTML site in site/), and the
relative links between them: what the renderer, the build's stale-file sweep and the image store share."""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass

from ..config import Config
from ..ids import safe_id
from .formats import FORMATS, OutputFormat

HOME = "README.md"  # the Markdown layout's (see MARKDOWN)
HOT = "indexes/hot.md"
ARCHIVE = "indexes/archive/README.md"


@dataclass(frozen=True)
class Layout:
    """Where the files of one output format live in the tree (Markdown at the top, the HTML site in site/)."""

    format: str  # "markdown" or "html": also the templates' middle name (article.md.j2, article.html.j2)
    root: str
    ext: str
    home: str
    hot: str
    archive: str
    base: str = ""  # the format's own folder: its stylesheet and search index
    images: str = ""  # the folder whose assets/ holds the images, one copy for every format (see images_home)

    def in_folder(self, folder: str) -> Layout:
        """This format's layout for a script variant kept in `folder` (sharing the images and the stylesheet)."""
        root = f"{self.base}{folder}/"
        return dataclasses.replace(self, root=root, home=root + self.home.removeprefix(self.base),
                                   hot=root + self.hot.removeprefix(self.base),
                                   archive=root + self.archive.removeprefix(self.base))

    def counterpart(self, path: str, other: Layout) -> str:
        """The path of the page at `path` (one of this layout's) in another variant's layout."""
        return other.root + path.removeprefix(self.root)

    def page(self, category: str, article_id: str) -> str:
        return f"{self.root}pages/{safe_id(category)}/{safe_id(article_id)}{self.ext}"

    def qr(self, category: str, article_id: str) -> str:
        return f"{self.root}pages/{safe_id(category)}/{safe_id(article_id)}.png"

    def category(self, key: str) -> str:
        return f"{self.root}indexes/{safe_id(key)}{self.ext}"

    def month(self, month: str) -> str:
        return f"{self.root}indexes/archive/{month}{self.ext}"

    def changes(self, article_id: str) -> str:
        """An article's history page: what changed between its versions, and when the source deleted it."""
        return f"{self.root}indexes/revisits/changes/{safe_id(article_id)}{self.ext}"

    def revisits(self, which: str) -> str:
        """The index of the articles edited (`which` = "edited") or deleted ("deleted") at the source."""
        return f"{self.root}indexes/revisits/{which}{self.ext}"

    def asset(self, asset: str) -> str:
        """Where an image (`assets/ab/….jpg`) is in the tree: the same file for every format and script."""
        return self.images + asset

    @property
    def stylesheet(self) -> str:
        return self.base + "style.css"

    @property
    def output(self) -> OutputFormat:
        """What this format is (see render.formats)."""
        return FORMATS[self.format]

    @property
    def template_ext(self) -> str:
        return self.output.template_ext


MARKDOWN = Layout("markdown", "", ".md", "README.md", "indexes/hot.md", "indexes/archive/README.md")
HTML = Layout("html", "site/", ".html", "site/index.html", "site/indexes/hot.html", "site/indexes/archive/index.html",
              "site/", "site/")
LAYOUTS = {layout.format: layout for layout in (MARKDOWN, HTML)}
TEXT_FILES = (".md", ".html", ".xml", ".json")  # what a script variant converts


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
