"""Make docs/home.png and docs/article.png (the demo mirror's HTML site at phone width, in headless Chromium) and
docs/digest-*.png (a digest of the demo's articles, the one-file HTML and the EPUB, with the network off).

    python docs/screenshots.py      (needs `pip install -e '.[test]'` and Debian's chromium)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from click.testing import CliRunner  # noqa: E402

from newsmirror.cli import cli  # noqa: E402
from newsmirror.demo.server import DEMO_SITE, SiteServer  # noqa: E402
from tests.browser import Browser  # noqa: E402

CONFIG = (Path(__file__).resolve().parents[1] / "src/newsmirror/demo/newsmirror.toml")


async def shoot(base: str) -> None:
    async with Browser() as browser:
        page = await browser.page()
        await page.goto(f"{base}/site/index.html")
        await page.screenshot(HERE / "home.png")
        await page.goto(f"{base}/site/pages/intl/a103612902.html")
        await page.screenshot(HERE / "article.png", full_page=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, SiteServer(DEMO_SITE) as demo:
        cfg = Path(tmp) / "newsmirror.toml"
        text = CONFIG.read_text(encoding="utf-8").replace("{base}", demo.base)
        cfg.write_text(text, encoding="utf-8")
        res = CliRunner().invoke(cli, ["--config", str(cfg), "-q", "run"])
        if res.exit_code:
            raise SystemExit(res.output)
        out = Path(tmp) / "mirror"
        with SiteServer(out, origins=()) as static:
            asyncio.run(shoot(static.base))
        digest(cfg, Path(tmp))
    print(f"wrote {HERE / 'home.png'}, {HERE / 'article.png'} and {HERE}/digest-*.png")


def digest(cfg: Path, tmp: Path) -> None:
    import zipfile

    from tests.digest.test_digest_browser import visit

    html, epub = tmp / "digest.html", tmp / "digest.epub"
    for path in (html, epub):
        res = CliRunner().invoke(cli, ["--config", str(cfg), "digest", "--from", "2000-01-01", "-o", str(path)])
        if res.exit_code:
            raise SystemExit(res.output)
    with zipfile.ZipFile(epub) as z:
        z.extractall(tmp / "book")
    asyncio.run(visit(html, tmp / "book", HERE))
    from PIL import Image

    from tests.digest.test_digest_browser import SHOTS

    for name in SHOTS:  # one phone screen each, in 256 colours: small files for the README
        with Image.open(HERE / name) as im:
            shot = im.crop((0, 0, im.width, min(im.height, 1688))).convert("RGB")
        shot.quantize(256).save(HERE / name, optimize=True)


if __name__ == "__main__":
    main()
