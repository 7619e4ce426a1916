"""A page speaks for its own site only: a forged canonical link cannot take over another site's article."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.demo.server import SiteServer
from newsmirror.ids import same_site
from newsmirror.store import Store
from tests.conftest import FAST_FETCH, feeds_config

LEGIT = "据多名目击者讲述，当天下午的集会和平进行，警方没有干预，参加者在傍晚时分陆续散去。"
FORGED = "官方消息称，当天下午没有任何集会发生，所谓目击者的说法纯属捏造，请勿相信境外媒体。"


@pytest.mark.parametrize("a, b, same", [
    ("https://www.bbc.co.uk/news/1", "https://news.bbc.co.uk/2", True),
    ("https://www.ntdtv.com/gb/a.html", "https://i.ntdtv.com/x.jpg", True),
    ("https://alice.github.io/a", "https://mallory.github.io/a", False),  # a public suffix: each its own site
    ("https://example.com/a", "https://example.org/a", False),
    ("http://127.0.0.1:8000/a", "http://127.0.0.2:8000/a", False),
    ("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b", True),
    ("https://example.co.uk/a", "https://evil-example.co.uk/a", False),
])
def test_same_site_is_the_registrable_domain(a, b, same):
    assert same_site(a, b) is same


def article(title: str, text: str, canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{text}（第{k}段）</p>" for k in range(6))
    return (f"<html><head><meta charset='utf-8'><title>{title}</title>{link}</head><body><article><h1>{title}</h1>"
            f"{body}</article></body></html>")


def make_site(root: Path, pages: dict[str, str]) -> None:
    for path, html in pages.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(html, encoding="utf-8")


def feed(root: Path, base: str, paths: list[str]) -> None:
    items = "".join(f"<item><title>t</title><link>{base}/{p}</link></item>" for p in paths)
    (root / "feed.xml").write_text(f"<rss version='2.0'><channel><title>f</title>{items}</channel></rss>",
                                   encoding="utf-8")


@pytest.mark.parametrize("attacker_first", [False, True])
def test_a_forged_canonical_link_never_replaces_another_sites_article(tmp_path, attacker_first):
    legit_root, evil_root = tmp_path / "legit", tmp_path / "evil"
    with SiteServer(legit_root, host="127.0.0.1") as legit, SiteServer(evil_root, host="127.0.0.2") as evil:
        target = f"{legit.base}/news/l1.html"
        make_site(legit_root, {"news/l1.html": article("集会和平进行", LEGIT)})
        make_site(evil_root, {"e/x9.html": article("集会和平进行", FORGED, canonical=target)})
        feed(legit_root, legit.base, ["news/l1.html"])
        feed(evil_root, evil.base, ["e/x9.html"])
        cfg = feeds_config(tmp_path, {"legit": f"{legit.base}/feed.xml", "evil": f"{evil.base}/feed.xml"},
                           extra=FAST_FETCH)
        first, second = ("evil", "legit") if attacker_first else ("legit", "evil")
        for name in (first, second):
            res = CliRunner().invoke(cli, ["--config", str(cfg), "run", "--source", name], catch_exceptions=False)
            assert res.exit_code == 0, res.output
        assert "/news/l1.html" in legit.requests  # the legitimate URL was fetched
    store = Store(tmp_path / "newsmirror.db")
    arts = {a.canonical_url: a for a in store.articles()}
    store.close()
    assert LEGIT in arts[target].body_html and FORGED not in arts[target].body_html
    assert arts[target].source == "legit"
    page = (tmp_path / "mirror/pages/intl/l1.md").read_text(encoding="utf-8")
    assert LEGIT in page and FORGED not in page
    forged = [a for a in arts.values() if a.source == "evil"]
    assert len(forged) == 1 and forged[0].canonical_url.startswith(evil.base)  # kept as what it is: its own page


def test_a_stored_url_that_now_redirects_to_another_site_keeps_its_article(tmp_path):
    """The article's own URL answers, on a later run, with a redirect to another site's page (a hijacked or
    seized domain): that page does not replace the article stored from the first site."""
    from aiohttp import web

    from tests.conftest import ServeApp

    evil_root = tmp_path / "evil"
    make_site(evil_root, {"e/x9.html": article("集会和平进行", FORGED)})
    hijacked: dict[str, str] = {}

    async def page(request: web.Request) -> web.StreamResponse:
        if "to" in hijacked:
            raise web.HTTPFound(hijacked["to"])
        return web.Response(text=article("集会和平进行", LEGIT), content_type="text/html")

    async def feed_xml(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        return web.Response(text=f"<rss version='2.0'><channel><title>f</title><item><title>t</title>"
                                f"<link>{base}/news/l1.html</link></item></channel></rss>",
                            content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/news/l1.html", page)
    app.router.add_get("/feed.xml", feed_xml)
    with ServeApp(app) as base, SiteServer(evil_root, host="127.0.0.2") as evil:
        public = FAST_FETCH.replace("[fetch]", '[fetch]\nallow_hosts = ["127.0.0.2"]  # as a public host would be')
        cfg = feeds_config(tmp_path, {"legit": f"{base}/feed.xml"}, extra=public)
        assert CliRunner().invoke(cli, ["--config", str(cfg), "run"]).exit_code == 0
        hijacked["to"] = f"{evil.base}/e/x9.html"
        store = Store(tmp_path / "newsmirror.db")
        store.db.execute("UPDATE articles SET content_hash='stale'")  # so that a fetch would count as an update
        store.close()
        res = CliRunner().invoke(cli, ["--config", str(cfg), "add", f"{base}/news/l1.html"], catch_exceptions=False)
        assert res.exit_code == 1 and "another site: refused" in res.output, res.output
    page_md = (tmp_path / "mirror/pages/intl/l1.md").read_text(encoding="utf-8")
    assert LEGIT in page_md and FORGED not in page_md
