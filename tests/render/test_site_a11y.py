"""The HTML site in headless Chromium, checked by tools nobody here wrote: axe-core (the accessibility rules
engine, `tests/fixtures/axe/`) finds no violation on any kind of page in either script; the search box finds the
pages that hold a Chinese word (not those that hold one of its characters), speaks the page's own script, and opened
from file:// says plainly that search needs the site served over http, and how."""

from __future__ import annotations

import asyncio
import json

import pytest

from newsmirror.demo.server import SiteServer
from newsmirror.transform.script import ScriptConverter
from tests.browser import Browser
from tests.conftest import FIXTURES
from tests.render.test_outputs import mirror  # noqa: F401  (the module's mirror: the demo plus the shaped pages)
from tests.render.test_site_browser import search_js

AXE = (FIXTURES / "axe/axe.min.js").read_text(encoding="utf-8")
PAGES = ["index.html", "search.html", "indexes/intl.html", "indexes/hot.html", "indexes/archive/index.html",
         "pages/intl/a103612902.html", "pages/culture/n3001.html", "zh-Hant/index.html", "zh-Hant/search.html",
         "zh-Hant/pages/intl/a103612902.html"]

SEARCH = """(async () => {{
  const input = document.getElementById('q');
  input.value = {query};
  input.dispatchEvent(new Event('input'));
  await window.newsmirrorSearch;
  return {{status: document.getElementById('status').textContent,
          hits: Array.from(document.querySelectorAll('#results li > a')).map(a => a.href),
          text: document.querySelector('main').innerText}};
}})()"""


async def axe_violations(page) -> list[dict]:
    await page.js(AXE)
    result = await page.js("axe.run(document, {resultTypes: ['violations']})"
                           ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
                           " nodes: v.nodes.map(n => n.html.slice(0, 160))})))")
    return result


async def check(base: str, pages: list[str]) -> dict:
    async with Browser() as browser:
        page = await browser.page()
        found: dict[str, list[dict]] = {}
        for path in pages:
            await page.goto(f"{base}/{path}")
            found[path] = await axe_violations(page)
        return {"violations": found, "errors": list(page.errors)}


def test_axe_finds_no_violation_on_any_kind_of_page(mirror):  # noqa: F811
    shaped = sorted(p.relative_to(mirror / "site").as_posix() for p in (mirror / "site/pages/picks").glob("*.html"))
    with SiteServer(mirror / "site", origins=()) as static:
        seen = asyncio.run(check(static.base, PAGES + shaped))
    bad = {p: v for p, v in seen["violations"].items() if v}
    assert bad == {}, json.dumps(bad, ensure_ascii=False, indent=1)
    assert seen["errors"] == []


async def search(base: str, path: str, queries: list[str]) -> dict:
    async with Browser() as browser:
        page = await browser.page()
        await page.goto(f"{base}/{path}")
        out = {q: await page.js(SEARCH.format(query=json.dumps(q))) for q in queries}
        raw = await page.js(search_js(("../" if "/" in path else "./") + "pagefind", queries[0]).replace(
            "slice(0, 5)", "slice(0, 50)"))  # Pagefind's own results, unfiltered
        texts = {}
        for q, r in out.items():  # the text of every page found
            texts[q] = []
            for url in r["hits"]:
                await page.goto(url)
                texts[q].append(await page.js("document.querySelector('article').innerText"))
            await page.goto(f"{base}/{path}")
        return {"results": out, "texts": texts, "raw": raw, "errors": list(page.errors)}


def test_a_chinese_word_finds_the_pages_that_hold_it_not_those_with_one_of_its_characters(mirror):  # noqa: F811
    with SiteServer(mirror / "site", origins=()) as static:
        seen = asyncio.run(search(static.base, "search.html", ["普京", "习近平 访俄", "不存在的词语"]))
    assert seen["errors"] == []
    putin = seen["results"]["普京"]
    assert putin["hits"] and any(u.endswith("/pages/intl/a103612902.html") for u in putin["hits"]), putin
    for text in seen["texts"]["普京"]:
        assert "普京" in text
    # Pagefind alone also returns the page that holds only 普 (普通) and 京 (北京): the search box leaves it out
    raw = [(mirror / "site" / u.lstrip("/")).read_text(encoding="utf-8") for u in seen["raw"]]
    assert any("普京" not in t and "普通" in t for t in raw) and len(putin["hits"]) < len(raw)
    for text in seen["texts"]["习近平 访俄"]:
        assert "习近平" in text and "访俄" in text
    assert seen["results"]["习近平 访俄"]["hits"]
    none = seen["results"]["不存在的词语"]
    assert none["hits"] == [] and "没有找到" in none["status"]


def test_the_traditional_search_page_speaks_traditional(mirror):  # noqa: F811
    with SiteServer(mirror / "site", origins=()) as static:
        seen = asyncio.run(search(static.base, "zh-Hant/search.html", ["普京", "不存在的詞語"]))
    assert seen["errors"] == []
    assert all("/zh-Hant/pages/" in u for u in seen["results"]["普京"]["hits"]) and seen["results"]["普京"]["hits"]
    to_hant = ScriptConverter("zh-Hant")
    for r in seen["results"].values():  # what the interface says is already Traditional: converting changes nothing
        assert r["text"] and to_hant.page(r["text"]) == r["text"], r["text"]
    assert "沒有找到" in seen["results"]["不存在的詞語"]["status"]


async def from_file(url: str) -> dict:
    async with Browser() as browser:
        page = await browser.page()
        await page.goto(url)
        return {"status": await page.js("document.getElementById('status').textContent"),
                "disabled": await page.js("document.getElementById('q').disabled")}


@pytest.mark.parametrize("path", ["search.html", "zh-Hant/search.html"])
def test_search_opened_from_a_file_says_it_needs_http_and_how(mirror, path):  # noqa: F811
    seen = asyncio.run(from_file((mirror / "site" / path).as_uri()))
    assert "http.server" in seen["status"] and "http://localhost:8000/search.html" in seen["status"]
    assert "正在搜索" not in seen["status"] and seen["disabled"] is True


