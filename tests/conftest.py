"""Shared test fixtures: real HTTP servers on 127.0.0.1, configs written to tmp folders."""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from newsmirror.config import Config, Source, load_config
from newsmirror.demo.server import DEMO_SITE, SiteServer
from newsmirror.fetch import Fetcher
from newsmirror.models import Candidate
from newsmirror.sources import Discovery, discover_source

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"  # everything a test reads: a clone is whole by itself
NTD = FIXTURES / "ntd"
SEED_MD = FIXTURES / "seed" / "a103612902.md"
SEED_PATH = "/gb/2023/01/01/a103612902.html"
SEED_IMAGE = "/assets/uploads/2023/01/GettyImages-1245879927-800x450.jpg"  # the seed's lead image, on i.ntdtv.com
NTD_ROUTES = {"/gb/prog204/feed": "feed.xml", SEED_PATH: "a103612902.html",
              SEED_IMAGE: str(DEMO_SITE / SEED_IMAGE.lstrip("/"))}  # our own picture stands in for it
NTD_ORIGINS = ["https://www.ntdtv.com", "https://i.ntdtv.com"]


@pytest.fixture(autouse=True)
def no_network_but_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the internet: a connection to anything but 127.0.0.0/8 fails at once, naming it."""
    import socket

    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def loopback(host: object) -> bool:
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host in (None, "localhost"):
            return True
        try:
            return ipaddress.ip_address(str(host)).is_loopback
        except ValueError:
            return False

    def check(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not loopback(host):
            raise OSError(f"test tried to reach {address!r}: only 127.0.0.0/8 is allowed in tests")

    def connect(self: socket.socket, address: object) -> None:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kw):  # noqa: ANN001, ANN002, ANN003
        if not loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, f"test tried to resolve {host!r}: only 127.0.0.0/8 is allowed")
        return real_getaddrinfo(host, *args, **kw)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def own_config_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has a user config folder of its own (`verify`'s trusted keys live there): never the real one."""
    folder = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder


@pytest.fixture
def ntd_server() -> Iterator[SiteServer]:
    """The seed article and its feed, as the source site served them, on 127.0.0.1."""
    with SiteServer(NTD, NTD_ORIGINS, routes=NTD_ROUTES) as s:
        yield s


@pytest.fixture
def demo_server() -> Iterator[SiteServer]:
    with SiteServer(DEMO_SITE) as s:
        yield s


MINIMAL = """\
[site]
title = "新闻镜像"
output = "mirror"                 # the git repository that gets published
base_url = "https://github.com/example/news/blob/main"   # optional: absolute share links + QR

[categories.intl]
title = "国际"

[[sources]]
name = "ntd-intl"
kind = "rss"
url = "{base}/gb/prog204/feed"
category = "intl"
"""


def write_config(folder: Path, text: str, **fmt: str) -> Path:
    """Write a newsmirror.toml (dedented, with {base}-style fields filled) and return its path."""
    p = folder / "newsmirror.toml"
    body = textwrap.dedent(text)
    for k, v in fmt.items():
        body = body.replace("{" + k + "}", v)
    p.write_text(body, encoding="utf-8")
    return p


def minimal_config(folder: Path, base: str, extra_site: str = "", extra: str = "", feed: str | None = None) -> Config:
    """The README's minimal config pointed at `base`, plus optional extra [site] keys and tables; `feed`: the
    source's feed at another path of `base` than the seed's."""
    text = MINIMAL.replace("{base}", base)
    if feed is not None:
        text = text.replace("/gb/prog204/feed", feed)
    if extra_site:
        text = text.replace('[categories.intl]', textwrap.dedent(extra_site) + "\n[categories.intl]", 1)
    text += textwrap.dedent(extra)
    return load_config(write_config(folder, text))


def feeds_config(folder: Path, feeds: dict[str, str], source_extra: str = "", extra: str = "") -> Path:
    """A small config (one category, `intl`) with an RSS source per `feeds` entry (name → feed URL), each with
    `source_extra` keys; `extra` tables after them. Returns its path."""
    sources = "".join(f'[[sources]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\ncategory = "intl"\n'
                      f"{textwrap.dedent(source_extra)}" for name, url in feeds.items())
    return write_config(folder, '[site]\ntitle = "t"\noutput = "mirror"\n[categories.intl]\ntitle = "国际"\n'
                        + sources + textwrap.dedent(extra))


FAST_FETCH = """
[fetch]
retries = 1
backoff = 0
connect_timeout = 2
read_timeout = 5
"""


@asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[TestServer]:
    """A real aiohttp server for `app` on 127.0.0.1 (any free port), for the test's event loop."""
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


@asynccontextmanager
async def serve_base(app: web.Application) -> AsyncIterator[str]:
    """Like serve_app, yielding the server's base URL (no trailing slash)."""
    async with serve_app(app) as server:
        yield str(server.make_url("")).rstrip("/")


class ServeApp:
    """`with ServeApp(app, host) as base:` an aiohttp app on a loopback address, in a thread of its own (for a
    run under test in another process, or in the test's own thread through the CLI)."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host

    def __enter__(self) -> str:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(self.app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, self.host, 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        return f"http://{self.host}:{port}"

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


class SuccessiveRuns:
    """One source discovered run after run as the pipeline sees it: what a run took is mirrored by the next, and
    the validators a run kept (not those it cleared) are sent the next time."""

    def __init__(self, source: Source, fetcher: Fetcher, root: Path = Path(".")) -> None:
        self.source, self.fetcher, self.root = source, fetcher, root
        self.mirrored: set[str] = set()
        self.kept: dict[str, tuple[str | None, str | None]] = {}

    def needs_work(self, batch: list[Candidate]) -> list[Candidate]:
        return [c for c in batch if c.url not in self.mirrored]

    async def next(self) -> Discovery:
        found = await discover_source(self.source, self.fetcher, self.root,
                                      lambda key: self.kept.get(key, (None, None)), None, self.needs_work)
        for key, validators in found.validators.items():
            if any(validators):
                self.kept[key] = validators
            else:
                self.kept.pop(key, None)
        self.mirrored.update(c.url for c in found.candidates)
        return found


def conditional(request: web.Request, text: str, version: int, content_type: str, asked: list[bool]) -> web.Response:
    """A page that says when it changed, by ETag and by Last-Modified (both derived from `version`), answered 304
    to either as a web server does; `asked` gets, for each request, whether it was conditional at all."""
    etag, modified = f'"v{version}"', email.utils.formatdate(1_700_000_000 + version * 60, usegmt=True)
    asked.append("If-None-Match" in request.headers or "If-Modified-Since" in request.headers)
    if request.headers.get("If-None-Match") == etag or request.headers.get("If-Modified-Since") == modified:
        return web.Response(status=304)
    return web.Response(text=text, content_type=content_type, headers={"ETag": etag, "Last-Modified": modified})
