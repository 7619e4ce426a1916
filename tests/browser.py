"""A real browser for tests: headless Chromium (Debian's `chromium`) driven over the DevTools protocol.

Only what the site checks need: open a page at phone size, record every request and every console or page
error, evaluate JavaScript, take a screenshot. The protocol is spoken with aiohttp's websocket client, which
the product already depends on.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-domain-reliability", "--disable-features=Translate,OptimizationHints,MediaRouter",
         "--metrics-recording-only", "--password-store=basic", "--use-mock-keychain", "--hide-scrollbars",
         "--remote-debugging-port=0"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@dataclass
class Page:
    ws: aiohttp.ClientWebSocketResponse
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future] = field(default_factory=dict)
    _events: dict[str, asyncio.Event] = field(default_factory=dict)

    async def send(self, method: str, **params: Any) -> dict:
        i = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._waiting[i] = fut
        await self.ws.send_str(json.dumps({"id": i, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 60)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _on(self, msg: dict) -> None:
        if "id" in msg:
            fut = self._waiting.pop(msg["id"], None)
            if fut and not fut.done():
                fut.set_result(msg)
            return
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append("exception: " + p["exceptionDetails"].get("text", "") + " " +
                               str(p["exceptionDetails"].get("exception", {}).get("description", "")))
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Page.loadEventFired":
            self._events.setdefault("load", asyncio.Event()).set()

    async def goto(self, url: str) -> None:
        self._events["load"] = asyncio.Event()
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(self._events["load"].wait(), 30)

    async def js(self, expression: str) -> Any:
        out = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression[:80]}: {out['exceptionDetails']}")
        return out["result"].get("value")

    async def screenshot(self, path: Path, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = await self.js("document.documentElement.scrollHeight")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": PHONE["width"], "height": min(height, 6000), "scale": 1})
        data = base64.b64decode((await self.send("Page.captureScreenshot", **params))["data"])
        path.write_bytes(data)
        return data


class Browser:
    """`async with Browser() as b: page = await b.page()` — one headless Chromium, gone at the end."""

    def __init__(self) -> None:
        exe = chromium_path()
        if exe is None:
            raise RuntimeError("chromium is not installed: apt-get install chromium (.ci/run does)")
        self.exe = exe
        self.profile = Path(tempfile.mkdtemp(prefix="nm-chromium-"))
        self.proc: subprocess.Popen | None = None
        self.session: aiohttp.ClientSession | None = None
        self._readers: list[asyncio.Task] = []

    async def __aenter__(self) -> Browser:
        self.proc = subprocess.Popen([self.exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr = self.proc.stderr
        assert stderr is not None

        def listening() -> int:  # Chromium says where its DevTools endpoint is, on stderr, once it is up
            for line in stderr:
                m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
                if m:
                    return int(m.group(1))
            raise RuntimeError("chromium exited before it was ready")

        self.port = await asyncio.wait_for(asyncio.to_thread(listening), 60)
        self._drain = asyncio.create_task(asyncio.to_thread(lambda: stderr.read()))  # keep its pipe from filling
        self.session = aiohttp.ClientSession()
        return self

    async def page(self) -> Page:
        assert self.session is not None
        async with self.session.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as r:
            target = await r.json(content_type=None)
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)

        async def read() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    page._on(json.loads(msg.data))

        self._readers.append(asyncio.create_task(read()))
        for domain in ("Network", "Runtime", "Log", "Page"):
            await page.send(f"{domain}.enable")
        await page.send("Emulation.setDeviceMetricsOverride", **PHONE)
        return page

    async def __aexit__(self, *exc: object) -> None:
        for t in self._readers:
            t.cancel()
        if self.session:
            await self.session.close()
        if self.proc:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
