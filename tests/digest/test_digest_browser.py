"""The digests in a real browser (headless Chromium) with the network off: the one-file HTML makes no request but
for itself and shows every picture; the EPUB, unzipped as a reading system does, shows its table of contents by
category and each chapter's pictures. (Calibre is too large to install for a test: Chromium renders the book's
own XHTML.) docs/screenshots.py takes the README's screenshots with the same visit."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

from tests.browser import PHONE, Browser
from tests.digest.test_digest import ALL, demo_mirror
from tests.test_pipeline import cli_run

SHOTS = ("digest-html.png", "digest-html-article.png", "digest-epub-toc.png", "digest-epub-chapter.png")
PICTURES = "Array.from(document.images).map(i => [i.getAttribute('src').slice(0, 30), i.complete, i.naturalWidth])"


async def offline(page) -> None:
    """No network at all, as on a phone in flight mode: any request for a host fails."""
    await page.send("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1,
                    uploadThroughput=-1)


async def visit(html: Path, book: Path, shots: Path) -> dict:
    async with Browser() as browser:
        page = await browser.page()
        await offline(page)
        await page.goto(html.as_uri())
        seen: dict = {"html_pictures": await page.js(PICTURES), "html_requests": list(page.requests),
                      "html_toc": await page.js("Array.from(document.querySelectorAll('nav a')).length"),
                      "html_errors": list(page.errors)}
        await page.screenshot(shots / "digest-html.png")
        await page.js("document.getElementById('a4').scrollIntoView() || true")
        await page.screenshot(shots / "digest-html-article.png")
        # a reading system lays a book's pages out at the screen's width (they carry no viewport of their own)
        await page.send("Emulation.setDeviceMetricsOverride", **{**PHONE, "mobile": False})
        await page.goto((book / "EPUB" / "nav.xhtml").as_uri())
        seen["toc"] = await page.js("Array.from(document.querySelectorAll('nav a')).map(a => a.textContent.trim())")
        await page.screenshot(shots / "digest-epub-toc.png")
        await page.goto((book / "EPUB" / "a0004.xhtml").as_uri())
        seen["chapter_pictures"] = await page.js(PICTURES)
        await page.screenshot(shots / "digest-epub-chapter.png", full_page=True)
        seen["requests"] = list(page.requests)
        return seen


def test_the_digests_read_in_chromium_with_the_network_off(demo_server, tmp_path):
    cfg = demo_mirror(demo_server, tmp_path)
    html, epub = tmp_path / "digest.html", tmp_path / "digest.epub"
    assert cli_run(cfg, "digest", *ALL, "-o", str(html)).exit_code == 0
    assert cli_run(cfg, "digest", *ALL, "-o", str(epub)).exit_code == 0
    demo_server.stop()  # nothing left to fetch from, should the file ask
    book = tmp_path / "book"
    with zipfile.ZipFile(epub) as z:
        z.extractall(book)
    shots = tmp_path / "shots"
    shots.mkdir()
    seen = asyncio.run(visit(html, book, shots))
    # the HTML file: the only request is the file itself; every picture (lead images, the one in a body, the QR
    # codes) is inside it and decoded
    assert [u for u in seen["html_requests"] if not u.startswith("data:")] == [html.as_uri()]
    assert seen["html_errors"] == []
    pictures = seen["html_pictures"]
    assert len(pictures) == 6 + 1 + 6  # six lead images, one in a body, six QR codes
    assert all(src.startswith("data:image/") and done and width > 0 for src, done, width in pictures), pictures
    assert seen["html_toc"] == 6
    # the EPUB: its table of contents by category, and a chapter's pictures from inside the book
    assert seen["toc"][:3] == ["演示 · 2000-01-01 – 2030-12-31", "国际", seen["toc"][2]] and "文化" in seen["toc"]
    assert len(seen["toc"]) == 1 + 2 + 6
    assert len(seen["chapter_pictures"]) >= 2  # the lead image and the QR code
    assert all(src.startswith("images/") and done and width > 0 for src, done, width in seen["chapter_pictures"])
    assert all(u.startswith("file://") or u.startswith("data:") for u in seen["requests"]), seen["requests"]
    for name in SHOTS:
        assert (shots / name).stat().st_size > 5000
