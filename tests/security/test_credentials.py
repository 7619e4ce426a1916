"""Credentials from the config never reach the WARC archive, a log line, an error, `status` or a command line."""

from __future__ import annotations

import asyncio
import base64
import gzip
import threading
from http.server import ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.config import ConfigError, Fetch, parse_config
from newsmirror.demo.server import SiteServer
from newsmirror.fetch import Fetcher
from newsmirror.fetch.warc import warc_records
from newsmirror.redact import redact
from tests.conftest import MINIMAL, write_config
from tests.fetch.test_proxy import _Proxy

PASSWORD = "s3cr3t-Pa55"


class _AuthProxy(_Proxy):
    """The forward proxy of test_proxy, which also remembers what Proxy-Authorization it was sent."""

    auth: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).auth.append(self.headers.get("Proxy-Authorization", ""))
        super().do_GET()


@pytest.fixture
def proxy():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthProxy)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield f"http://mirror-op:{PASSWORD}@127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_proxys_password_is_sent_but_never_archived(proxy):
    with SiteServer() as site:
        async def go():
            async with Fetcher(Fetch(proxy=proxy, retries=0)) as f:
                return await f.get(f"{site.base}/gb/prog204/feed.xml")

        resp = asyncio.run(go())
    token = base64.b64encode(f"mirror-op:{PASSWORD}".encode()).decode()
    assert any(token in a for a in _AuthProxy.auth)  # the proxy got it: it is really in use
    data = gzip.decompress(warc_records(resp).data)  # the records, as the WARC file holds them
    assert token.encode() not in data and PASSWORD.encode() not in data
    assert b"Proxy-Authorization: [removed by newsmirror]" in data


def test_a_run_through_an_authenticating_proxy_leaves_no_password_anywhere(proxy, tmp_path):
    with SiteServer() as site:
        cfg = write_config(tmp_path, MINIMAL + f'\n[fetch]\nproxy = "{proxy}"\nretries = 0\n',
                           base=site.base)
        cfg.write_text(cfg.read_text().replace("/gb/prog204/feed", "/gb/prog204/feed.xml"), encoding="utf-8")
        run = CliRunner().invoke(cli, ["--config", str(cfg), "-v", "run"], catch_exceptions=False)
        status = CliRunner().invoke(cli, ["--config", str(cfg), "status"], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    token = base64.b64encode(f"mirror-op:{PASSWORD}".encode())
    warcs = list((tmp_path / "warcs").glob("*.warc.gz"))
    assert warcs
    for w in warcs:
        data = gzip.decompress(w.read_bytes())
        assert token not in data and PASSWORD.encode() not in data
    for text in (run.output, status.output):
        assert PASSWORD not in text
    for f in tmp_path.rglob("*"):
        if f.is_file() and ".git" not in f.parts and f.suffix != ".toml":
            assert PASSWORD.encode() not in f.read_bytes() and token not in f.read_bytes(), f


@pytest.mark.parametrize("key, value, words", [
    ("fetch.proxy", f"ftp://op:{PASSWORD}@127.0.0.1:3128", "proxy must start with"),
    ("remotes", f"ssh://git:{PASSWORD}@127.0.0.1/news.git", "takes no password"),
    ("remotes", f"https://127.0.0.1/news.git?private_token={PASSWORD}", "user:password"),
])
def test_a_config_error_never_echoes_a_password(tmp_path, key, value, words):
    text = MINIMAL.replace("{base}", "http://127.0.0.1:9")
    if key == "fetch.proxy":
        text += f'\n[fetch]\nproxy = "{value}"\n'
    else:
        text += f'\n[[remotes]]\nname = "r"\nurl = "{value}"\n'
    with pytest.raises(ConfigError) as exc:
        parse_config(text, tmp_path / "newsmirror.toml")
    assert words in str(exc.value) and PASSWORD not in str(exc.value)


@pytest.mark.parametrize("url", [
    f"https://gitlab.example/x.git?private_token={PASSWORD}",
    f"https://h.example/x.git?a=1&access_token={PASSWORD}&b=2",
    f"https://u:{PASSWORD}@h.example/x.git",
    f"http://127.0.0.1/feed?api_key={PASSWORD}",
])
def test_redact_masks_every_credential_form(url):
    assert PASSWORD not in redact(f"push to {url} failed") and "***" in redact(url)
