"""A page full of pictures cannot fill the mirror: an article shows at most images.max_per_article of them (the
rest are never downloaded), a run takes at most images.max_bytes_per_run of them (the rest wait for the next run),
and the tree holds each picture once, however many formats and scripts show it."""

from __future__ import annotations

import hashlib
import io
import os
import random
import shutil
import subprocess
from pathlib import Path

import lxml.html
import pytest
from PIL import Image

from newsmirror.config import ConfigError, parse_config
from newsmirror.demo.server import SiteServer
from newsmirror.store import Store
from tests.conftest import FAST_FETCH, MINIMAL, minimal_config
from tests.test_pipeline import cli_run, demo_config, relative_links

PARA = "<p>第{k}段正文，讲述一件发生在城市里的事情，足够长以便被认作正文内容。这里还有更多的文字，让段落显得完整。</p>"


def noise_jpeg(seed: int, size: int = 48) -> bytes:
    """A small picture of its own (random pixels: every one differs, none compresses away)."""
    rnd = random.Random(seed)
    img = Image.frombytes("RGB", (size, size), bytes(rnd.getrandbits(8) for _ in range(size * size * 3)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def picture_site(root: Path, n: int) -> None:
    """One article showing `n` distinct pictures (the first is also its og:image, its lead), and its feed."""
    (root / "a").mkdir(parents=True)
    (root / "img").mkdir()
    imgs = "".join(f'<p><img src="https://img.example/img/{k}.jpg" alt="图{k}"></p>'
                   + (PARA.format(k=k) if k % 10 == 0 else "") for k in range(n))
    (root / "a/p1.html").write_text(
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>满是图片的文章</title>'
        '<meta property="og:image" content="https://img.example/img/0.jpg"></head><body><article>'
        f"<h1>满是图片的文章</h1>{PARA.format(k='一')}{imgs}{PARA.format(k='末')}</article></body></html>",
        encoding="utf-8")
    for k in range(n):
        (root / f"img/{k}.jpg").write_bytes(noise_jpeg(k))
    (root / "feed.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>f</title>'
        "<item><title>满是图片的文章</title><link>https://site.example/a/p1.html</link></item></channel></rss>",
        encoding="utf-8")


def serve(site: Path) -> SiteServer:
    s = SiteServer(site, ["https://site.example", "https://img.example"])
    plain = s.content_type
    s.content_type = lambda p: "image/jpeg" if p.suffix == ".jpg" else plain(p)  # type: ignore[method-assign]
    return s


def image_requests(server: SiteServer) -> list[str]:
    return [p for p in server.requests if p.startswith("/img/")]


def tree_files(out: Path) -> dict[str, list[str]]:
    """Every file of the tree but git's own, by the SHA-256 of its content."""
    by_hash: dict[str, list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(out):
        dirnames[:] = [d for d in dirnames if not (dirpath == str(out) and d == ".git")]
        for name in filenames:
            p = Path(dirpath) / name
            by_hash.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), []).append(p.relative_to(out).as_posix())
    return by_hash


def image_files(out: Path) -> list[str]:
    return sorted(p for paths in tree_files(out).values() for p in paths if "assets/" in p)


def test_an_article_of_sixty_pictures_mirrors_the_first_forty_once_and_names_the_rest(tmp_path):
    site = tmp_path / "site"
    picture_site(site, 60)
    with serve(site) as s:
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH, feed="/feed.xml",
                             extra_site='formats = ["markdown", "html"]\nvariants = ["zh-Hans", "zh-Hant"]')
        res = cli_run(cfg.path, "run")
        requested = image_requests(s)
    assert res.exit_code == 0, res.output
    assert "images: 40 mirrored" in res.output
    # images.max_per_article (default 40): the lead image, then the body's in order; the rest never asked for
    assert sorted(requested) == sorted(f"/img/{k}.jpg" for k in range(40))
    out = cfg.output_dir

    md_file = next((out / "pages").rglob("*.md"))
    md = md_file.read_text(encoding="utf-8")
    local = {link for link in relative_links(md) if "assets/" in link}
    assert len(local) == 40 and all((md_file.parent / link).is_file() for link in local)
    for k in range(40, 60):  # shown as their alt text, as a picture that could not be mirrored is
        assert f"\\[图片：图{k}\\]" in md
    assert "另有 20 张图片未镜像（每篇最多 40 张）" in md and "20 more images not mirrored" in md

    html_file = out / "site" / md_file.relative_to(out).with_suffix(".html")
    doc = lxml.html.document_fromstring(html_file.read_text(encoding="utf-8"))
    srcs = {img.get("src") for img in doc.iter("img") if "assets/" in img.get("src", "")}
    assert len(srcs) == 40 and all((html_file.parent / src).resolve().is_relative_to(out / "site") for src in srcs)
    assert all((html_file.parent / src).is_file() for src in srcs)
    text = doc.text_content()
    assert all(f"[图片：图{k}]" in text for k in range(40, 60)) and "另有 20 张图片未镜像" in text

    # each picture is in the tree once, though two formats in two scripts show it: not in assets/ and again
    # in site/assets/ (the HTML site's folder, which the Markdown pages link into, so that site/ stands alone)
    twice = {h: paths for h, paths in tree_files(out).items() if len(paths) > 1 and any("assets/" in p for p in paths)}
    assert twice == {}
    assert len(image_files(out)) == 40 and all(p.startswith("site/assets/") for p in image_files(out))
    tracked = subprocess.run(["git", "-C", str(out), "ls-files"], capture_output=True, text=True).stdout.split()
    assert len([p for p in tracked if "assets/" in p]) == 40


def test_a_run_takes_at_most_max_bytes_per_run_of_pictures_and_the_next_runs_take_the_rest(tmp_path):
    site = tmp_path / "site"
    picture_site(site, 24)
    sizes = [len(noise_jpeg(k)) for k in range(24)]
    cap = 4 * max(sizes)
    extra = FAST_FETCH + f"concurrency = 1\nper_host = 1\n\n[images]\nmax_bytes_per_run = {cap}\n"
    with serve(site) as s:
        cfg = minimal_config(tmp_path, s.base, extra=extra, feed="/feed.xml")
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 0, res.output  # left for later is not a failure
        store = Store(cfg.store_path)
        first = store.image_counts()
        store.close()
        got = first.get("ok", 0)
        assert 4 <= got < 24 and "failed" not in first  # a deferred picture counts no failed attempt
        assert f"{24 - got} images left for the next run" in res.output and "images.max_bytes_per_run" in res.output
        assert len(image_requests(s)) == got  # those left were not asked for
        page_file = next((cfg.output_dir / "pages").rglob("*.md"))
        assert "\\[图片：图23\\]" in page_file.read_text(encoding="utf-8")  # taken in the page's order
        runs = 1
        while got < 24 and runs < 10:
            res = cli_run(cfg.path, "run")
            assert res.exit_code == 0, res.output
            store = Store(cfg.store_path)
            now = store.image_counts()
            store.close()
            assert now.get("ok", 0) > got and "failed" not in now
            got, runs = now["ok"], runs + 1
        requested = image_requests(s)
    assert got == 24 and runs >= 2
    assert sorted(requested) == sorted(f"/img/{k}.jpg" for k in range(24))  # each fetched once, none again
    page = page_file.read_text(encoding="utf-8")
    assert "[图片" not in page and len({link for link in relative_links(page) if "assets/" in link}) == 24


def test_an_older_tree_with_two_copies_of_each_picture_keeps_one_and_formats_move_it(demo_server, tmp_path):
    """Turning the HTML site on moves the pictures into site/ (the Markdown pages link there); a tree an older
    version left with a copy in assets/ and another in site/assets/ keeps one; turning the site off moves them
    back. Nothing is lost on the way: every page's every picture is there after each build."""
    out = tmp_path / "out"

    def pictures() -> set[str]:
        """The SHA-256 of every picture in the tree, after checking that each is there once."""
        by_hash = {h: paths for h, paths in tree_files(out).items() if any("assets/" in p for p in paths)}
        assert all(len(paths) == 1 for paths in by_hash.values()), by_hash
        return set(by_hash)

    def check(home: str) -> None:
        files = image_files(out)
        assert files and all(p.startswith(home + "assets/") for p in files), files
        shown = set()
        for page in (out / "pages").rglob("*.md"):
            for link in relative_links(page.read_text(encoding="utf-8")):
                if "assets/" in link:
                    target = page.parent / link
                    assert target.is_file() and target.resolve().is_relative_to((out / home / "assets").resolve())
                    shown.add(target.resolve())
        assert len(shown) == len(files) == len(pictures())
        assert subprocess.run(["git", "-C", str(out), "status", "--porcelain"], capture_output=True,
                              text=True).stdout == ""  # and committed

    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "run").exit_code == 0
    check("")
    first = pictures()
    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["markdown", "html"]')
    assert cli_run(cfg, "build").exit_code == 0
    check("site/")
    assert not [p for p in (out / "assets").rglob("*") if p.is_file()]  # (an empty folder git does not see)

    for p in image_files(out):  # as older versions left it: the HTML site's own copy beside the Markdown's
        (out / p.removeprefix("site/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / p, out / p.removeprefix("site/"))
    store = Store(cfg.parent / "newsmirror.db")
    store.set_meta("render_fingerprint", "an older version's")
    store.close()
    assert cli_run(cfg, "build").exit_code == 0
    check("site/")
    assert not [p for p in (out / "assets").rglob("*") if p.is_file()]  # (an empty folder git does not see)

    cfg = demo_config(tmp_path, demo_server.base)
    assert cli_run(cfg, "build").exit_code == 0
    check("")
    assert not [p for p in (out / "site").rglob("*") if p.is_file()]
    assert pictures() == first  # the same pictures, byte for byte


@pytest.mark.parametrize("line, key", [
    ("max_per_article = 0", "images.max_per_article = 0"),
    ("max_bytes_per_run = 10", "images.max_bytes_per_run = 10"),
])
def test_the_caps_are_checked(line, key):
    with pytest.raises(ConfigError) as exc:
        parse_config(MINIMAL.replace("{base}", "http://127.0.0.1:8000") + f"\n[images]\n{line}\n",
                     Path("/tmp/x/newsmirror.toml"))
    assert key in str(exc.value) and "greater than or equal" in str(exc.value)


def test_a_lower_cap_takes_the_pictures_past_it_out_and_a_higher_one_brings_them_back(tmp_path):
    site = tmp_path / "site"
    picture_site(site, 12)
    with serve(site) as s:
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH + "\n[images]\nmax_per_article = 8\n",
                             feed="/feed.xml")
        assert "images: 8 mirrored" in cli_run(cfg.path, "run").output
        out = cfg.output_dir
        page_file = next((out / "pages").rglob("*.md"))
        cfg.path.write_text(cfg.path.read_text(encoding="utf-8").replace("max_per_article = 8", "max_per_article = 3"),
                            encoding="utf-8")
        assert cli_run(cfg.path, "build").exit_code == 0
        page = page_file.read_text(encoding="utf-8")
        assert len(image_files(out)) == 3 and "另有 9 张图片未镜像（每篇最多 3 张）" in page
        assert all((page_file.parent / link).is_file() for link in relative_links(page))
        cfg.path.write_text(cfg.path.read_text(encoding="utf-8").replace("max_per_article = 3", "max_per_article = 12"),
                            encoding="utf-8")
        assert cli_run(cfg.path, "build").exit_code == 0  # no network: those it no longer holds show their alt text
        page = page_file.read_text(encoding="utf-8")
        assert all((page_file.parent / link).is_file() for link in relative_links(page))
        assert "\\[图片：图5\\]" in page and "未镜像" not in page
        res = cli_run(cfg.path, "run")  # and the next run fetches them again
        assert "images: 9 mirrored" in res.output, res.output
    page = page_file.read_text(encoding="utf-8")
    assert len(image_files(out)) == 12 and "[图片" not in page
    assert all((page_file.parent / link).is_file() for link in relative_links(page))


def test_a_store_from_before_keeps_the_order_of_each_articles_pictures(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.db")  # no pos column yet: an article's pictures were inserted in order
    db.execute("CREATE TABLE article_images (article_id TEXT NOT NULL, url TEXT NOT NULL, "
               "PRIMARY KEY (article_id, url))")
    rows = [("a", f"https://img.example/{49 - k:02d}.jpg") for k in range(50)]  # not in the order of their names
    lead_b = ("b", "https://img.example/b.jpg")
    db.executemany("INSERT INTO article_images VALUES(?,?)", rows[:1] + [lead_b] + rows[1:])
    db.commit()
    db.close()
    store = Store(tmp_path / "old.db")
    try:
        due = store.images_due(max_attempts=3, per_article=40)
    finally:
        store.close()
    assert due[:2] == ["https://img.example/49.jpg", "https://img.example/b.jpg"]  # the lead images first
    assert sorted(due) == sorted(url for _, url in [*rows[:40], lead_b])  # the first 40 as the page had them
