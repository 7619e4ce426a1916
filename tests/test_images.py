"""Images end to end: downloaded from a local server, checked, re-encoded, stored content-addressed and
referenced relatively; failures keep the alt text visible, are recorded, and are tried again next run."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from newsmirror import workers
from newsmirror.demo.server import SiteServer
from newsmirror.store import Store

from .conftest import FAST_FETCH, NTD, SEED_PATH, minimal_config
from .test_pipeline import SEED_PAGE, cli_run
from .transform.test_images import jpeg, png_header_claiming

ARTICLE = """<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:image" content="https://img.example/img/big.jpg"></head><body>
<article><h1>{title}</h1><time datetime="2024-05-01T08:00:00+08:00">2024-05-01</time>
<figure><img src="https://img.example/img/big.jpg" alt="大图"><figcaption>大图的图注</figcaption></figure>
<p>第一段正文，讲述一件发生在城市里的事情，足够长以便被认作正文内容。这里还有更多的文字，让段落显得完整。</p>
<p><img src="https://img.example/img/broken.jpg" alt="坏掉的图"></p>
<p>第二段正文，继续讲述这件事情的经过与各方的反应，同样足够长。记者在现场看到了更多的细节。</p>
<p><img src="https://img.example/img/bomb.png" alt="炸弹图">
<img src="https://img.example/img/page.jpg" alt="其实是网页"></p>
<p>第三段正文，结尾处总结了事情的影响，并提到了后续的安排与计划。</p>
</article></body></html>
"""


def make_site(root: Path) -> None:
    (root / "a").mkdir(parents=True)
    (root / "img").mkdir()
    (root / "feed.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>f</title>'
        "<item><title>有图的文章</title><link>https://site.example/a/p1.html</link></item></channel></rss>",
        encoding="utf-8")
    (root / "a/p1.html").write_text(ARTICLE.format(title="有图的文章"), encoding="utf-8")
    (root / "img/big.jpg").write_bytes(jpeg(2400, 1200))
    (root / "img/broken.jpg").write_bytes(jpeg(300, 200)[:150])
    (root / "img/bomb.png").write_bytes(png_header_claiming(60_000, 60_000))
    (root / "img/page.jpg.html").write_text("<html><body>登录后查看图片</body></html>", encoding="utf-8")


def test_images_are_mirrored_and_failures_keep_their_alt_text_until_a_retry_works(tmp_path):
    site = tmp_path / "site"
    make_site(site)
    routes = {"/img/page.jpg": str(site / "img/page.jpg.html")}
    with SiteServer(site, ["https://site.example", "https://img.example"], routes=routes) as s:
        plain = s.content_type
        s.content_type = lambda p: "image/jpeg" if p.suffix == ".jpg" else plain(p)  # type: ignore[method-assign]
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH + "\n[images]\nmax_width = 800\n", feed="/feed.xml")
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 0, res.output  # a failed image does not fail the run
        assert "images: 1 mirrored, 3 failed" in res.output
        out = cfg.output_dir
        page_file = next((out / "pages").rglob("*.md"))
        page = page_file.read_text(encoding="utf-8")

        # the lead image: downloaded, scaled to images.max_width, content-addressed, linked relatively
        refs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page)
        local = [r for r in refs if "assets/" in r]
        assert local and all(not r.startswith(("http:", "https:", "/")) for r in local)
        img_file = (page_file.parent / local[0]).resolve()
        assert img_file.is_relative_to(out / "assets") and Image.open(img_file).size == (800, 400)
        assert not any("img.example" in r or s.base in r for r in refs if r.endswith((".jpg", ".png")))
        assert "大图的图注" in page

        # failures: their alt text stays visible; each is recorded with its reason
        assert "\\[图片：坏掉的图\\]" in page and "\\[图片：炸弹图\\]" in page and "\\[图片：其实是网页\\]" in page
        status = cli_run(cfg.path, "status").output
        assert "images: 1 mirrored, 3 failed" in status
        assert "broken image" in status and "images.max_pixels" in status and "Content-Type: text/html" in status
        store = Store(cfg.store_path)
        failed = {r["url"].rsplit("/", 1)[1]: r["attempts"] for r in store.image_failures()}
        store.close()
        assert failed == {"broken.jpg": 1, "bomb.png": 1, "page.jpg": 1}

        # the next run tries the failed ones again; one now works, and the page shows it
        (site / "img/broken.jpg").write_bytes(jpeg(300, 200))
        res = cli_run(cfg.path, "run")
        assert res.exit_code == 0, res.output
        page = page_file.read_text(encoding="utf-8")
        assert "\\[图片：坏掉的图\\]" not in page and "\\[图片：炸弹图\\]" in page
        assert len(list((out / "assets").rglob("*.jpg"))) == 2
        assert "images: 1 mirrored, 2 failed" in res.output


def test_the_seed_lead_image_is_served_from_the_mirror(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    assert cli_run(cfg.path, "run").exit_code == 0
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    lead = re.search(r"!\[普京邀习近平访俄 中国官媒只字未提\]\(([^)]+)\)", page)
    assert lead and lead.group(1).startswith("../../assets/")
    assert (cfg.output_dir / SEED_PAGE).parent.joinpath(lead.group(1)).resolve().is_file()
    assert "i.ntdtv.com" not in page and "GettyImages" not in page
    assert "/assets/uploads/" in " ".join(ntd_server.requests)  # fetched from the (local) image host
    assert NTD.is_dir() and SEED_PATH in ntd_server.requests


def test_pictures_waiting_for_the_workers_are_few(tmp_path, monkeypatch):
    """A downloaded picture waits for a worker holding its bytes: however many lanes fetch, no more than
    fetch.concurrency + 8 may wait at once (here: 60 pictures, fetched far faster than they are scaled)."""
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "img").mkdir()
    big = jpeg(2400, 1600)  # wider than images.max_width: decoded and scaled, slow next to a local download
    imgs = "".join(f'<p><img src="https://img.example/img/{k}.jpg" alt="图{k}"></p>' for k in range(60))
    page = re.sub(r"<figure>.*?</figure>|<p><img.*?</p>", "", ARTICLE.format(title="很多图的文章"), flags=re.S)
    (site / "a/p1.html").write_text(page.replace("</article>", imgs + "</article>"), encoding="utf-8")
    for k in range(60):
        (site / f"img/{k}.jpg").write_bytes(big)
    (site / "feed.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>f</title>'
        "<item><title>很多图的文章</title><link>https://site.example/a/p1.html</link></item></channel></rss>",
        encoding="utf-8")
    waiting = peak = 0
    real_call = workers.Calls.__call__

    async def counted(self, fn, *args):
        nonlocal waiting, peak
        if getattr(fn, "__name__", "") != "mirror_image":
            return await real_call(self, fn, *args)
        waiting += 1
        peak = max(peak, waiting)
        try:
            return await real_call(self, fn, *args)
        finally:
            waiting -= 1

    monkeypatch.setattr(workers.Calls, "__call__", counted)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 2)  # a real pool of worker processes, as a big run has
    with SiteServer(site, ["https://site.example", "https://img.example"]) as s:
        plain = s.content_type
        s.content_type = lambda p: "image/jpeg" if p.suffix == ".jpg" else plain(p)  # type: ignore[method-assign]
        extra = "\n[fetch]\nconcurrency = 4\nper_host = 4\nretries = 1\nbackoff = 0\n[images]\nmax_per_article = 100\n"
        cfg = minimal_config(tmp_path, s.base, extra=extra, feed="/feed.xml")
        res = cli_run(cfg.path, "run")
    assert res.exit_code == 0, res.output
    assert "images: 60 mirrored" in res.output
    assert 4 < peak <= 4 + 8


def test_a_picture_whose_worker_dies_counts_a_failed_attempt(ntd_server, tmp_path, monkeypatch):
    from newsmirror.pipeline.seams import SEAMS

    from .test_pipeline import die_in_worker

    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)
    monkeypatch.setattr(SEAMS, "mirror_image", die_in_worker)
    res = cli_run(cfg.path, "run")
    assert res.exit_code == 1 and "a worker process died" in res.output
    store = Store(cfg.store_path)
    failed = store.image_failures()
    store.close()
    assert failed and all("worker process died" in r["reason"] and r["attempts"] == 1 for r in failed)
    monkeypatch.undo()
    res = cli_run(cfg.path, "run")  # tried again, and this time it arrives
    assert res.exit_code == 0, res.output
    store = Store(cfg.store_path)
    assert store.image_failures() == []
    store.close()
    assert f"images: {len(failed)} mirrored" in res.output


def test_pictures_not_started_by_max_run_seconds_are_left_for_the_next_run(tmp_path):
    site = tmp_path / "site"
    make_site(site)
    with SiteServer(site, ["https://site.example", "https://img.example"]) as s:
        plain = s.content_type
        s.content_type = lambda p: "image/jpeg" if p.suffix == ".jpg" else plain(p)  # type: ignore[method-assign]
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH, feed="/feed.xml")
        assert "images: 1 mirrored, 3 failed" in cli_run(cfg.path, "run").output
        text = cfg.path.read_text(encoding="utf-8")
        cfg.path.write_text(text.replace("[fetch]", "[fetch]\nmax_run_seconds = 0.000001"), encoding="utf-8")
        res = cli_run(cfg.path, "run")
    assert "3 images left for the next run" in res.output
    store = Store(cfg.store_path)
    attempts = sorted(r["attempts"] for r in store.image_failures())
    store.close()
    assert attempts == [1, 1, 1]  # not tried, so no attempt spent
