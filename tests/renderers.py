"""The Markdown renderers readers meet, as the tests run them: GitHub's own cmark-gfm (the `cmarkgfm` bindings,
with GitHub's extensions and raw HTML on, as github.com shows a page after its sanitiser) and markdown-it (GitLab,
many editors and static sites), with tables and strikethrough."""

from __future__ import annotations

import re

import cmarkgfm
import lxml.html
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt

_MARKDOWN_IT = MarkdownIt("gfm-like", {"linkify": False, "html": True})


def cmark_gfm(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def markdown_it(markdown: str) -> str:
    return _MARKDOWN_IT.render(markdown)


RENDERERS = {"cmark-gfm": cmark_gfm, "markdown-it": markdown_it}


def visible_text(html: str) -> str:
    """What a reader sees of rendered HTML, whitespace squashed out."""
    if not html.strip():
        return ""
    return re.sub(r"\s+", "", lxml.html.fragment_fromstring(html, create_parent="div").text_content())
