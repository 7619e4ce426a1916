"""The tree's layout says which paths are pages, in every format and script variant's folder: the view counter,
the commit message and the renderer read it from one place."""

from __future__ import annotations

import subprocess
import sys

import pytest

from newsmirror.layout import LAYOUTS, PagePath, parse_page
from newsmirror.variants import VARIANTS


@pytest.mark.parametrize("fmt", sorted(LAYOUTS))
@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_a_page_path_parses_back_to_what_made_it(fmt, variant):
    layout = LAYOUTS[fmt] if variant is None else LAYOUTS[fmt].in_folder(variant)
    path = layout.page("intl", "a103612902")
    assert parse_page(path) == PagePath(fmt, variant, "intl", "a103612902")
    assert parse_page(layout.qr("intl", "a103612902")) is None
    assert parse_page(layout.category("intl")) is None


@pytest.mark.parametrize("path", [
    "pages/intl/a1.html",  # an HTML page outside site/
    "site/pages/intl/a1.md",  # a Markdown page inside it
    "zh-Hant/site/pages/intl/a1.html",  # no format's tree is in a variant's folder
    "zh-Hant/site/zh-Hant/pages/intl/a1.html",
    "xx/pages/intl/a1.md",  # not a variant
    "pages/a1.md", "pages/intl/x/a1.md", "pages//a1.md", "pages/intl/.md", "pages/../a1.md",
    "pages/intl/a\x001.md", "pages/intl/" + "9" * 65 + ".md", "/pages/intl/a1.md", "pages/Intl/a1.md",
])
def test_other_paths_are_no_page(path):
    assert parse_page(path) is None


def test_the_layout_needs_neither_the_renderer_nor_lxml():
    code = ("import sys, newsmirror.layout, newsmirror.counter.service; "
            "print(sorted(m for m in ('lxml', 'nh3', 'jinja2', 'newsmirror.render') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
