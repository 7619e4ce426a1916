"""Make docs/home.png and docs/article.png: the demo mirror's HTML site at phone width, in headless Chromium.

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
    print(f"wrote {HERE / 'home.png'} and {HERE / 'article.png'}")


if __name__ == "__main__":
    main()
