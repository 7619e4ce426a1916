"""The output formats (site.formats): what each one is, in one object, instead of `format == …` tests.

A new format is one more OutputFormat here, its Layout (render.Layout: where its files live) and its templates
(`article<template_ext>`, …); the renderer, the worker that converts bodies and the stale-file sweep read
everything else from these objects."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    name: str  # as site.formats names it; also the Layout's `format`
    template_ext: str  # the templates' last two suffixes: article.md.j2, article.html.j2
    autoescape: bool  # whether the templates escape what they insert (HTML), or call filters for it (Markdown)
    markdown_body: bool  # the article body is converted to Markdown (else kept as sanitised HTML)
    # a web site of its own (the HTML site): it loads nothing from another host (pictures only from our copies,
    # no counter pixel, links and images named for screen readers), has a search page, feeds and files of its
    # own, links other files of the repository on the code host, and is shared at site.html_url
    standalone: bool

    def href(self, url: str) -> str:
        """A link target as the format writes it: Markdown escapes it; HTML templates escape it themselves."""
        from .markdown import md_url

        return md_url(url) if self.markdown_body else url


MARKDOWN_FORMAT = OutputFormat("markdown", ".md.j2", autoescape=False, markdown_body=True, standalone=False)
HTML_FORMAT = OutputFormat("html", ".html.j2", autoescape=True, markdown_body=False, standalone=True)
FORMATS: dict[str, OutputFormat] = {f.name: f for f in (MARKDOWN_FORMAT, HTML_FORMAT)}


def heavy_work(work: tuple[str, str | None], fmt: str = "markdown") -> tuple[str, bytes | None]:
    """(body HTML, QR URL or None) → (Markdown, or the HTML as it is for the site; PNG or None): pure, so it
    can run in a worker process."""
    from .markdown import html_to_markdown
    from .qr import qr_png

    body, qr_url = work
    return html_to_markdown(body) if FORMATS[fmt].markdown_body else body, (qr_png(qr_url) if qr_url else None)
