"""site.variants: every article and index in Simplified and in Traditional, linked to each other."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import lxml.html
import opencc

from tests.render.test_site import SITE_EXTRA
from tests.test_pipeline import body_paragraphs, cli_run, demo_config, seed_paragraphs

HANT = opencc.OpenCC("s2tw.json")  # what zh-Hant is made with: the oracle for the seed's text
LINK = re.compile(r"\]\(([^()\s]+)\)")


def md_links(page: Path, root: Path) -> list[str]:
    """The relative link targets of a Markdown page, as paths from the tree's root."""
    out = []
    for url in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in url or url.startswith(("mailto:", "#")):
            continue
        out.append(posixpath.normpath(posixpath.join(page.parent.relative_to(root).as_posix(), url.split("?")[0])))
    return out


def test_every_page_and_index_in_both_scripts_linked_both_ways(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base, site_extra=SITE_EXTRA)
    assert cli_run(cfg, "run").exit_code == 0
    out = tmp_path / "out"
    primary = sorted(p.relative_to(out).as_posix() for p in out.glob("**/*.md")
                     if p.relative_to(out).parts[0] in ("pages", "indexes") or p.name == "README.md" and
                     p.parent == out)
    assert len(primary) > 10
    for rel_path in primary:
        assert (out / "zh-Hant" / rel_path).is_file(), rel_path
        assert (out / "site/zh-Hant" / rel_path.replace("README.md", "index.html")
                .replace(".md", ".html")).is_file(), rel_path
    # every relative link of every Markdown page, in either script, resolves; each page links to its twin
    for page in [*out.glob("*.md"), *out.glob("pages/**/*.md"), *out.glob("indexes/**/*.md"),
                 *out.glob("zh-Hant/**/*.md")]:
        rel_path = page.relative_to(out).as_posix()
        links = md_links(page, out)
        for target in links:
            assert (out / target).exists(), f"{rel_path}: {target} is a broken link"
        twin = rel_path.removeprefix("zh-Hant/") if rel_path.startswith("zh-Hant/") else "zh-Hant/" + rel_path
        assert twin in links, f"{rel_path} does not link to {twin}"

    seed = (out / "zh-Hant/pages/intl/a103612902.md").read_text(encoding="utf-8")
    assert seed.startswith("### 普京邀習近平訪俄 中國官媒隻字未提")
    assert body_paragraphs(seed, HANT.convert("手机上长按")) == [HANT.convert(p) for p in seed_paragraphs()]
    assert "习近平" not in seed and "国事访问" not in seed and "國事訪問" in seed
    assert "[简体](../../../pages/intl/a103612902.md)" in seed  # the switch link names its script in that script
    assert "[首頁](../../README.md" in seed and "原文地址（需翻牆訪問）" in seed
    # the original address and the in-body links are the source's own, unconverted
    assert f"{demo_server.base}/gb/2023/01/01/a103612902.html" in seed
    assert f"({demo_server.base}/gb/%E4%B9%A0%E8%BF%91%E5%B9%B3.htm)" in seed
    # its share link and QR code are its own
    assert "https://github.com/example/news/blob/main/zh-Hant/pages/intl/a103612902.md" in seed
    assert (out / "zh-Hant/pages/intl/a103612902.png").read_bytes().startswith(b"\x89PNG")
    assert "[繁體](../../zh-Hant/pages/intl/a103612902.md)" in (out / "pages/intl/a103612902.md").read_text("utf-8")

    html = lxml.html.document_fromstring((out / "site/zh-Hant/pages/intl/a103612902.html").read_bytes())
    assert html.get("lang") == "zh-Hant"
    assert html.findtext(".//h1") == "普京邀習近平訪俄 中國官媒隻字未提"
    assert [a.text for a in html.find(".//nav").iter("a")] == ["首頁", "國際", "熱點推薦", "简体"]
    home = (out / "zh-Hant/README.md").read_text(encoding="utf-8")
    assert "熱點推薦" in home and "[简体](../README.md)" in home

    # dropping the variant takes its pages away and the switch links with them
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('variants = ["zh-Hans", "zh-Hant"]', ""), "utf-8")
    res = cli_run(cfg, "build")
    assert res.exit_code == 0, res.output
    assert not list((out / "zh-Hant").rglob("*.md")) and not list((out / "site/zh-Hant").rglob("*.html"))
    assert "繁體" not in (out / "pages/intl/a103612902.md").read_text(encoding="utf-8")


def test_a_single_variant_converts_the_whole_mirror_in_place(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base, site_extra='variants = ["zh-Hant"]')
    assert cli_run(cfg, "run").exit_code == 0
    out = tmp_path / "out"
    seed = (out / "pages/intl/a103612902.md").read_text(encoding="utf-8")
    assert seed.startswith("### 普京邀習近平訪俄") and "[首頁](../../README.md" in seed
    assert "简体" not in seed and not (out / "zh-Hant").exists()  # no other version to link to
