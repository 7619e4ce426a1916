"""No request into the operator's network that the config does not name (links, redirects, images)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.config import Fetch
from newsmirror.demo.server import DEMO_SITE, SiteServer
from newsmirror.fetch import Fetcher, FetchError
from newsmirror.fetch.netguard import not_public
from newsmirror.store import Store
from tests.conftest import FAST_FETCH, feeds_config

TEXT = "多名目击者讲述了事情的经过，和官方通报的说法并不一致，记者在现场也看到了同样的情形。"
JPEG = (DEMO_SITE / "images/n2001-lead.jpg").read_bytes()


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.2", True), ("10.1.2.3", True), ("172.16.0.1", True), ("192.168.1.1", True), ("169.254.169.254", True),
    ("100.64.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True), ("240.0.0.1", True), ("::1", True),
    ("fe80::1", True), ("fc00::1", True), ("::ffff:127.0.0.1", True), ("ff02::1", True),
    ("93.184.216.34", False), ("2606:4700:4700::1111", False),
])
def test_what_counts_as_the_operators_network(address, refused):
    assert (not_public(address) is not None) is refused


def article(i: int, img: str = "") -> str:
    body = "".join(f"<p>第{i}篇，第{k}段：{TEXT}</p>" for k in range(6))
    return (f"<html><head><meta charset='utf-8'><title>报道{i}</title></head><body><article><h1>报道{i}</h1>"
            f"{img}{body}</article></body></html>")


def test_links_and_images_on_unnamed_internal_hosts_are_refused(tmp_path):
    inside, outside = tmp_path / "named", tmp_path / "internal"
    (inside / "a").mkdir(parents=True)
    (outside / "a").mkdir(parents=True)
    (outside / "a/secret.html").write_text(article(9), encoding="utf-8")
    (outside / "pic.jpg").write_bytes(JPEG)
    with SiteServer(inside, host="127.0.0.1") as site, SiteServer(outside, host="127.0.0.2") as internal:
        (inside / "a/g1.html").write_text(article(1, f'<img src="{internal.base}/pic.jpg" alt="图">'),
                                            encoding="utf-8")
        local = f"http://localhost:{site.port}/a/g2.html"  # a name that resolves to loopback: the resolver's
        (inside / "a/g2.html").write_text(article(2), encoding="utf-8")
        links = [f"{site.base}/a/g1.html", f"{internal.base}/a/secret.html", local]
        items = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in links)
        (inside / "feed.xml").write_text(f"<rss version='2.0'><channel><title>f</title>{items}</channel></rss>",
                                         encoding="utf-8")
        cfg = feeds_config(tmp_path, {"s": f"{site.base}/feed.xml"}, extra=FAST_FETCH)
        res = CliRunner().invoke(cli, ["--config", str(cfg), "run"], catch_exceptions=False)
        assert res.exit_code == 1, res.output
        assert internal.requests == []  # not one request reached the internal host
        assert "/a/g2.html" not in site.requests  # nor the loopback reached by a name
        store = Store(tmp_path / "newsmirror.db")
        failures = {r["url"]: r["reason"] for r in store.failures(limit=10)}
        image_failures = {r["url"]: r["reason"] for r in store.image_failures()}
        store.close()
        assert "127.0.0.2 is a loopback address" in failures[f"{internal.base}/a/secret.html"]
        assert "localhost (127.0.0.1) is a loopback address" in failures[local]
        assert "fetch.allow_hosts" in image_failures[f"{internal.base}/pic.jpg"]
        assert (tmp_path / "mirror/pages/intl/g1.md").is_file()
        # named in the config, the same host is fetched from
        cfg.write_text(cfg.read_text().replace("[fetch]", '[fetch]\nallow_hosts = ["127.0.0.2", "localhost"]'),
                       encoding="utf-8")
        res = CliRunner().invoke(cli, ["--config", str(cfg), "run"], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        assert "/a/secret.html" in internal.requests and "/pic.jpg" in internal.requests


def test_a_redirect_into_the_operators_network_is_refused(tmp_path):
    from aiohttp import web

    from tests.conftest import ServeApp

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    app = web.Application()
    app.router.add_get("/go", hop)
    with SiteServer(Path(DEMO_SITE), host="127.0.0.3") as internal, ServeApp(app) as base:
        async def go(target: str) -> str:
            async with Fetcher(Fetch(retries=0), frozenset({"127.0.0.1"})) as f:
                try:
                    await f.get(f"{base}/go?to={target}")
                except FetchError as exc:
                    return exc.reason
            return "fetched"

        reason = asyncio.run(go(f"{internal.base}/robots.txt"))
        assert "redirected to" in reason and "127.0.0.3 is a loopback address" in reason
        assert internal.requests == []
