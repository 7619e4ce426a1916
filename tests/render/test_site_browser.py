"""The built HTML site in a real browser (headless Chromium), served on its own (site/ alone, as a host that
publishes only it would): nothing leaves 127.0.0.1, no console errors, every picture renders in both scripts, and
the search finds the seed article by a Chinese word from its body."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image

from newsmirror.demo.server import SiteServer
from tests.browser import PHONE, Browser
from tests.render.test_site import built_site

SEED_HTML = "pages/intl/a103612902.html"
PICTURES_HTML = "pages/culture/n3001.html"  # a lead image and one in the body
WORD = "国事访问"  # from the seed's third paragraph
WORD_HANT = "國事訪問"  # the same word on the Traditional version (site.variants)


def search_js(pagefind: str, word: str) -> str:
    """Pagefind's own API on a search page: the URLs of the first results for `word`."""
    return (f"(async () => {{ const pf = await import('{pagefind}/pagefind.js'); await pf.init();"
            f" const r = await pf.search('{word}');"
            " return Promise.all(r.results.slice(0, 5).map(x => x.data().then(d => d.url))); })()")


async def visit(base: str, shots: Path) -> dict:
    async with Browser() as browser:
        page = await browser.page()
        await page.goto(f"{base}/index.html")
        home_links = await page.js("Array.from(document.querySelectorAll('main a')).length")
        home_png = await page.screenshot(shots / "home.png")
        await page.goto(f"{base}/{SEED_HTML}")
        lead = await page.js("(() => { const i = document.querySelector('figure.lead img');"
                             " return i ? [i.complete, i.naturalWidth, i.naturalHeight] : null; })()")
        qr = await page.js("document.querySelector('img.qr').naturalWidth")
        article_png = await page.screenshot(shots / "article.png", full_page=True)
        pictures = []
        for path in (PICTURES_HTML, "zh-Hant/" + PICTURES_HTML):  # the scripts share one copy of each picture
            await page.goto(f"{base}/{path}")
            pictures.append(await page.js("Array.from(document.images).filter(i => !i.classList.contains('qr'))"
                                          ".map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"))
        await page.goto(f"{base}/search.html")
        found = await page.js(search_js("./pagefind", WORD))
        ui = await page.js("typeof window.newsmirrorSearch + ' ' + !!document.getElementById('q')")
        await page.goto(f"{base}/zh-Hant/search.html")
        found_hant = await page.js(search_js("../pagefind", WORD_HANT))
        ui_hant = await page.js("typeof window.newsmirrorSearch + ' ' + !!document.getElementById('q')")
        return {"requests": list(page.requests), "errors": list(page.errors), "lead": lead, "qr": qr,
                "pictures": pictures, "found": found, "ui": ui, "found_hant": found_hant, "ui_hant": ui_hant,
                "home_links": home_links, "home_png": home_png, "article_png": article_png}


def test_the_site_in_chromium(demo_server, tmp_path):
    out = built_site(demo_server, tmp_path)
    shots = tmp_path / "shots"
    shots.mkdir()
    with SiteServer(out / "site", origins=()) as static:
        seen = asyncio.run(visit(static.base, shots))
    assert seen["requests"], "the browser made no request at all"
    # (a data: URL, Pagefind's search icon, is inside the page: no request leaves the machine for it)
    left = [u for u in seen["requests"] if not u.startswith((static.base + "/", "data:"))]
    assert left == [], f"requests left 127.0.0.1: {left}"
    assert seen["errors"] == []
    complete, width, height = seen["lead"]
    assert complete and width > 100 and height > 50  # the lead image is there and decoded
    assert seen["qr"] > 0
    for shown in seen["pictures"]:  # the page's lead image and the one in its body, each there and decoded
        assert len(shown) == 2 and all(done and width > 100 for _, done, width in shown), shown
    assert seen["home_links"] >= 6
    assert any(u and u.endswith("a103612902.html") for u in seen["found"]), seen["found"]
    assert seen["ui"] == "undefined true"  # the search box is there, and its script ran without searching yet
    # the Traditional version's search page searches the Traditional pages
    assert seen["ui_hant"] == "undefined true"
    assert any(u and u.endswith("zh-Hant/pages/intl/a103612902.html") for u in seen["found_hant"]), \
        seen["found_hant"]
    for png in (seen["home_png"], seen["article_png"]):
        img = Image.open(io.BytesIO(png))
        assert img.width == PHONE["width"] * PHONE["deviceScaleFactor"] or img.width == PHONE["width"]
