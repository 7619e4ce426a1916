"""Where each output format's files live in the tree (Markdown at the top, the HTML site in site/, each script
variant but the first in a folder of its own), and which page a path is: what the renderer, the build's
stale-file sweep, the commit message and the view counter share. Light (no lxml, no templates): the counter
imports it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .ids import KEY_RE, is_safe_id, safe_id
from .variants import VARIANTS

if TYPE_CHECKING:
    from .render.formats import OutputFormat

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

    @property
    def pages(self) -> str:
        """The folder of the pages' category folders."""
        return f"{self.root}pages/"

    def page(self, category: str, article_id: str) -> str:
        return f"{self.pages}{safe_id(category)}/{safe_id(article_id)}{self.ext}"

    def page_of(self, path: str) -> tuple[str, str] | None:
        """The (category, id) of the page at `path` (as page() writes it), or None for any other path."""
        if not (path.startswith(self.pages) and path.endswith(self.ext)):
            return None
        parts = path[len(self.pages):len(path) - len(self.ext)].split("/")
        if len(parts) != 2 or not (KEY_RE.match(parts[0]) and is_safe_id(parts[1])):  # a category is a key
            return None
        return parts[0], parts[1]

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
        """What this format is (see render.formats; imported here when asked for, to keep this module light)."""
        from .render.formats import FORMATS

        return FORMATS[self.format]

    @property
    def template_ext(self) -> str:
        return self.output.template_ext


MARKDOWN = Layout("markdown", "", ".md", "README.md", "indexes/hot.md", "indexes/archive/README.md")
HTML = Layout("html", "site/", ".html", "site/index.html", "site/indexes/hot.html", "site/indexes/archive/index.html",
              "site/", "site/")
LAYOUTS = {layout.format: layout for layout in (MARKDOWN, HTML)}
TEXT_FILES = (".md", ".html", ".xml", ".json")  # what a script variant converts




class PagePath(NamedTuple):
    """What a page's path says: its format, its script variant's folder (None: the first script, at the top of
    the format's tree), its category and its id."""

    format: str
    variant: str | None
    category: str
    id: str


# every format's layout in every script variant's folder (a variant's folder is its code: see Layout.in_folder)
_PAGE_LAYOUTS = [(layout, variant, layout if variant is None else layout.in_folder(variant))
                 for layout in LAYOUTS.values() for variant in (None, *VARIANTS)]


def parse_page(path: str) -> PagePath | None:
    """The page at `path` (relative to the tree, as Layout.page() writes it, in any format and script variant's
    folder), or None for any other path: the inverse of Layout.page()."""
    for layout, variant, placed in _PAGE_LAYOUTS:
        if (found := placed.page_of(path)) is not None:
            return PagePath(layout.format, variant, *found)
    return None
