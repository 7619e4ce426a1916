"""Page names a source cannot break: over-long ids, names Windows reserves, names that differ only in case.

A hostile (or merely odd) source decides the URLs a mirror names its pages after. Whatever it sends, every
article gets a short, path-safe page name that is distinct from every other one on a case-insensitive file
system (macOS, Windows) and not a device name on Windows; and nothing it sends can leave a row in the store that
stops later runs.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.demo.server import SiteServer
from newsmirror.ids import article_id, is_portable_id, url_id
from tests.conftest import FAST_FETCH, minimal_config

LONG = {
    "id": "/news/a.html?id=" + "7" * 63,
    "articleid": "/news/b.html?articleid=" + "8" * 56,
    "docid": "/news/c.html?docid=" + "x" * 60 + "1234",
}
ODD = {"com1": "/news/com1.html", "lpt9": "/news/LPT9.html", "upper": "/news/A1.html", "lower": "/news/a1.html"}


def page(i: int) -> str:
    text = "记者在现场看到，事情的经过比官方通报复杂得多，多名目击者讲述了不同的细节。"
    paras = "".join(f"<p>第{i}篇报道的第{k}段：{text}</p>" for k in range(6))
    return (f"<html><head><meta charset='utf-8'><title>报道{i}</title></head><body><article><h1>报道{i}</h1>"
            f"{paras}</article></body></html>")


def site(tmp_path: Path, paths: list[str]) -> Path:
    root = tmp_path / "site"
    (root / "news").mkdir(parents=True)
    for i, p in enumerate(paths):
        (root / p.split("?")[0].lstrip("/")).write_text(page(i), encoding="utf-8")
    return root


def feed(root: Path, base: str, paths: list[str]) -> None:
    items = "".join(f"<item><title>t{i}</title><link>{base}{p.replace('&', '&amp;')}</link></item>"
                    for i, p in enumerate(paths))
    (root / "feed.xml").write_text(f"<rss version='2.0'><channel><title>f</title>{items}</channel></rss>",
                                   encoding="utf-8")


def run(cfg_path: Path, *args: str) -> int:
    res = CliRunner().invoke(cli, ["--config", str(cfg_path), *args], catch_exceptions=False)
    return res.exit_code


def page_names(out: Path) -> list[str]:
    return sorted(p.stem for p in (out / "pages" / "intl").glob("*.md"))


def assert_portable(names: list[str], expected: int) -> None:
    assert len(names) == expected, names
    assert all(is_portable_id(n) for n in names), names
    assert len({n.lower() for n in names}) == len(names), names  # one file each on macOS and Windows


@pytest.mark.parametrize("url", [f"https://x.example{p}" for p in LONG.values()])
def test_an_id_taken_from_a_url_is_always_safe(url):
    assert url_id(url) is None  # too long to be a page name: the short hash stands in
    for taken in (lambda _i: False, lambda _i: True):
        assert is_portable_id(article_id(url, taken))


@pytest.mark.parametrize("name", ["con", "PRN", "aux", "Nul", "com1", "COM9", "lpt1", "LPT9"])
def test_names_windows_reserves_are_never_page_names(name):
    assert url_id(f"https://x.example/news/{name}.html") is None
    assert is_portable_id(article_id(f"https://x.example/news/{name}.html"))


def test_odd_ids_from_a_feed_never_stop_the_mirror(tmp_path):
    paths = ["/news/g1.html", *LONG.values(), *ODD.values()]
    root = site(tmp_path, paths)
    with SiteServer(root) as server:
        feed(root, server.base, paths)
        cfg = minimal_config(tmp_path, server.base, extra=FAST_FETCH, feed="/feed.xml")
        assert run(cfg.path, "run") == 0
        names = page_names(cfg.output_dir)
        assert_portable(names, len(paths))
        assert "g1" in names and ("A1" in names) != ("a1" in names)  # one keeps its name, the other a suffix
        assert run(cfg.path, "run") == 0  # and the next run goes as well
        assert run(cfg.path, "build") == 0


def test_a_store_older_versions_left_with_bad_ids_is_mended(tmp_path):
    paths = ["/news/g1.html", "/news/g2.html", "/news/g3.html", "/news/g4.html"]
    root = site(tmp_path, paths)
    with SiteServer(root) as server:
        feed(root, server.base, paths)
        cfg = minimal_config(tmp_path, server.base, extra=FAST_FETCH, feed="/feed.xml")
        assert run(cfg.path, "run") == 0
    bad = {"g2": "id" + "7" * 63, "g3": "CON", "g4": "G1"}  # what older versions could store
    db = sqlite3.connect(cfg.store_path)
    with db:
        for old, new in bad.items():
            db.execute("UPDATE articles SET id=? WHERE id=?", (new, old))
            for table in ("urls", "links", "article_images"):
                db.execute(f"UPDATE {table} SET article_id=? WHERE article_id=?", (new, old))
        db.execute("DELETE FROM meta WHERE key='ids_mended'")
    db.close()
    assert run(cfg.path, "build") == 0
    names = page_names(cfg.output_dir)
    assert_portable(names, 4)
    assert names == ["g1", "g2", "g3", "g4"]  # the first to hold a name keeps it; the others get their own
    tracked = subprocess.run(["git", "-C", str(cfg.output_dir), "ls-files", "pages"], capture_output=True,
                             text=True, check=True).stdout.split()
    assert sorted(Path(p).stem for p in tracked if p.endswith(".md")) == names
