"""The view counter as a real process on 127.0.0.1: counting, once per window, junk, stats, restarts, SIGTERM
under load, and nothing that identifies a reader in its file or its log."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict
from PIL import Image

from newsmirror.counter.db import CounterDB


@dataclass
class Running:
    proc: subprocess.Popen
    base: str
    db: Path
    log: str = ""

    def stop(self) -> int:
        """SIGTERM, then the exit code; the log is in .log."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        self.log = err
        return self.proc.returncode


@contextmanager
def counter(db: Path, *args: str) -> Iterator[Running]:
    proc = subprocess.Popen([sys.executable, "-m", "newsmirror", "counter", "serve", "--db", str(db), "--port", "0",
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # printed once it accepts connections
        assert line.startswith("listening on http://127.0.0.1:"), line + proc.stderr.read()
        yield Running(proc, line.split("listening on ")[1].strip().rstrip("/"), db)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as con:
        return {p: n for p, n in con.execute("SELECT path, SUM(views) FROM views GROUP BY path")}


def test_a_view_is_counted_and_answered_with_an_uncacheable_pixel(tmp_path):
    db = tmp_path / "views.db"
    with counter(db, "--dedupe-window", "0") as c:
        for _ in range(3):
            status, headers, body = get(f"{c.base}/pages/intl/a103612902.md")
            assert status == 200 and headers["Content-Type"] == "image/gif"
            assert "no-store" in headers["Cache-Control"] and headers["Expires"] == "0"
            assert Image.open(io.BytesIO(body)).size == (1, 1)
        # its HTML twin and its Traditional version count for the same page
        assert get(f"{c.base}/site/pages/intl/a103612902.html")[0] == 200
        assert get(f"{c.base}/zh-Hant/pages/intl/a103612902.md")[0] == 200
        assert get(f"{c.base}/pages/culture/n3001.md")[0] == 200
        assert c.stop() == 0
    assert rows(db) == {"pages/intl/a103612902.md": 5, "pages/culture/n3001.md": 1}
    day = datetime.now(UTC).date().isoformat()
    with sqlite3.connect(db) as con:
        assert {r[0] for r in con.execute("SELECT day FROM views")} == {day}


def test_repeat_views_within_the_window_count_once(tmp_path):
    db = tmp_path / "views.db"
    with counter(db, "--forwarded") as c:  # the default window, 1800 s; clients told apart by X-Forwarded-For
        for _ in range(4):
            assert get(f"{c.base}/pages/intl/a1.md", {"X-Forwarded-For": "198.51.100.1"})[0] == 200
        assert get(f"{c.base}/pages/intl/a2.md", {"X-Forwarded-For": "198.51.100.1"})[0] == 200
        assert get(f"{c.base}/pages/intl/a1.md", {"X-Forwarded-For": "198.51.100.2, 10.0.0.1"})[0] == 200
        # the client is the address the proxy added (the last): what a client writes before it is no new reader
        for forged in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
            assert get(f"{c.base}/pages/intl/a3.md", {"X-Forwarded-For": f"{forged}, 198.51.100.9"})[0] == 200
        assert c.stop() == 0
    assert rows(db) == {"pages/intl/a1.md": 2, "pages/intl/a2.md": 1, "pages/intl/a3.md": 1}


JUNK = [
    "/", "/favicon.ico", "/etc/passwd", "/pages/intl/../../etc/passwd.md", "/pages/intl/a1.txt",
    "/pages/intl/a1", "/pages/Intl/a1.md", "/pages/intl/sub/a1.md", "/site/pages/intl/a1.md",
    "/pages/intl/a1.html", "/pages/intl/a1.md%00.png", "/pages/intl/%2e%2e/a1.md", "/pages//a1.md",
    "/pages/intl/" + "a" * 400 + ".md", "/zh-CN/pages/intl/a1.md", "/pages/intl/a1.md/",
]


def test_junk_paths_are_404_and_count_nothing(tmp_path):
    db = tmp_path / "views.db"
    with counter(db, "--dedupe-window", "0") as c:
        for path in JUNK:
            assert get(c.base + path)[0] == 404, path
        assert get(c.base + "/" + "x" * 5000)[0] in (404, 414, 431)
        post = urllib.request.Request(f"{c.base}/pages/intl/a1.md", data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(post, timeout=10)
        assert exc.value.code == 405
        status, _, body = get(f"{c.base}/stats.json")
        assert status == 200 and json.loads(body)["pages"] == []
        assert c.stop() == 0
    assert rows(db) == {}


def test_only_the_mirrors_own_pages_count_with_mirror(tmp_path):
    tree = tmp_path / "mirror"
    (tree / "pages/intl").mkdir(parents=True)
    (tree / "pages/intl/a1.md").write_text("# a1\n", encoding="utf-8")
    db = tmp_path / "views.db"
    with counter(db, "--dedupe-window", "0", "--mirror", str(tree), "--prefix", "/goodnews/") as c:
        assert get(f"{c.base}/goodnews/pages/intl/a1.md")[0] == 200  # the seed's pixel has such a prefix
        assert get(f"{c.base}/goodnews/pages/intl/a2.md")[0] == 404  # not a page of this mirror
        assert get(f"{c.base}/pages/intl/a1.md")[0] == 404  # without the prefix
        assert c.stop() == 0
    assert rows(db) == {"pages/intl/a1.md": 1}


def test_stats_and_counts_that_survive_a_restart(tmp_path):
    db = tmp_path / "views.db"
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    earlier = CounterDB(db)  # what the days before counted
    earlier.add({(yesterday, "pages/intl/a1.md"): 2, (yesterday, "pages/intl/a2.md"): 2})
    earlier.close()
    with counter(db, "--dedupe-window", "0") as c:
        for page, n in (("a1", 3), ("a2", 1), ("a3", 2)):
            for _ in range(n):
                get(f"{c.base}/pages/intl/{page}.md")
        assert c.stop() == 0
    with counter(db, "--dedupe-window", "0") as c:
        get(f"{c.base}/pages/intl/a2.md")
        get(f"{c.base}/pages/intl/a2.md")
        status, headers, body = get(f"{c.base}/stats.json?days=7&limit=2")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        stats = json.loads(body)
        # finished days only: today's views, as they happen, are not shown to anyone
        assert stats["pages"] == [{"path": "pages/intl/a1.md", "views": 2}, {"path": "pages/intl/a2.md", "views": 2}]
        assert stats["days"] == 7 and stats["to"] == yesterday
        for bad in ("days=0", "days=400", "limit=0", "days=x"):
            assert get(f"{c.base}/stats.json?{bad}")[0] == 400, bad
        assert c.stop() == 0
    assert rows(db) == {"pages/intl/a1.md": 5, "pages/intl/a2.md": 5, "pages/intl/a3.md": 2}


async def hammer(base: str, stop_after: int, proc: subprocess.Popen) -> int:
    """Many clients at once; SIGTERM to the counter once `stop_after` views were answered. The views answered."""
    answered = 0
    signalled = False

    async def client(session: aiohttp.ClientSession, k: int) -> None:
        nonlocal answered, signalled
        i = 0
        while True:
            i += 1
            try:
                async with session.get(f"{base}/pages/c{k % 5}/a{i % 50}.md") as resp:
                    await resp.read()
                    if resp.status != 200:
                        return
                    answered += 1
            except aiohttp.ClientError:
                return  # the counter has stopped listening
            if answered >= stop_after and not signalled:
                signalled = True
                proc.send_signal(signal.SIGTERM)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(client(session, k) for k in range(32)))
    return answered


def test_no_count_is_lost_on_sigterm_under_load(tmp_path):
    db = tmp_path / "views.db"
    with counter(db, "--dedupe-window", "0", "--rate-limit", "0", "--flush-interval", "0.2") as c:
        answered = asyncio.run(hammer(c.base, 3000, c.proc))
        _, c.log = c.proc.communicate(timeout=30)
        assert c.proc.returncode == 0, c.log
    assert answered >= 3000
    assert sum(rows(db).values()) == answered


def test_a_client_over_the_rate_limit_is_refused_and_not_counted(tmp_path):
    db = tmp_path / "views.db"
    with counter(db, "--dedupe-window", "0", "--rate-limit", "5") as c:
        codes = [get(f"{c.base}/pages/intl/a1.md")[0] for _ in range(8)]
        assert codes == [200] * 5 + [429] * 3
        assert c.stop() == 0
    assert rows(db) == {"pages/intl/a1.md": 5}


def test_nothing_identifying_in_the_database_or_the_log(tmp_path):
    db = tmp_path / "views.db"
    who = {"X-Forwarded-For": "203.0.113.77", "User-Agent": "ReaderPhone/7.3 (secret-model-xq9)",
           "Referer": "https://forum.example/thread/88123?user=reader42"}
    with counter(db, "--forwarded", "--dedupe-window", "1800") as c:
        for path in ("/pages/intl/a1.md", "/pages/intl/a1.md", "/pages/intl/a2.md", "/etc/passwd"):
            get(c.base + path, who)
        host, port = c.base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:  # a request aiohttp cannot parse
            sock.sendall(b"GET /pages/intl/a1.md HTTP/1.1\r\nHost: x\r\nBad Header: reader42\r\n\r\n")
            sock.recv(1000)
        assert c.stop() == 0
    assert rows(db) == {"pages/intl/a1.md": 1, "pages/intl/a2.md": 1}
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("views.db*"))
    for secret in ("203.0.113.77", "ReaderPhone", "secret-model-xq9", "forum.example", "reader42", "127.0.0.1"):
        assert secret.encode() not in stored, secret
        assert secret not in c.log, secret
    assert "views counted" in c.log  # the log is there, with nothing about readers in it
    with sqlite3.connect(db) as con:  # one table: day, page, number
        assert [r[1] for r in con.execute("PRAGMA table_info(views)")] == ["day", "path", "views"]
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["views"]


@pytest.mark.parametrize("args, message", [
    (["--prefix", "goodnews"], "--prefix 'goodnews': begin and end it with /"),
])
def test_bad_options_are_one_clear_line(tmp_path, args, message):
    proc = subprocess.run([sys.executable, "-m", "newsmirror", "counter", "serve", "--db", str(tmp_path / "v.db"),
                           *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_corrupt_database_is_one_clear_line(tmp_path):
    bad = tmp_path / "views.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    proc = subprocess.run([sys.executable, "-m", "newsmirror", "counter", "serve", "--db", str(bad), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a usable counter database" in proc.stderr and str(bad) in proc.stderr


def test_a_database_whose_folder_cannot_be_made_is_one_clear_line(tmp_path):
    (tmp_path / "junk.db").write_text("a file", encoding="utf-8")
    bad = tmp_path / "junk.db" / "views.db"
    proc = subprocess.run([sys.executable, "-m", "newsmirror", "counter", "serve", "--db", str(bad), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "cannot make the counter database there" in proc.stderr
    assert "--port" not in proc.stderr and "Traceback" not in proc.stderr


async def _in_process(db: Path, check) -> None:
    """A CounterApp behind aiohttp's real server on 127.0.0.1, in this process; `check(app, base)` runs against it."""
    from aiohttp.test_utils import RawTestServer

    from newsmirror.counter.service import CounterApp, Settings

    app = CounterApp(Settings(db=db, dedupe_window=1800, forwarded=True))
    await app.start()
    server = RawTestServer(app.handle, host="127.0.0.1")
    await server.start_server()
    try:
        await check(app, f"http://127.0.0.1:{server.port}")
    finally:
        await server.close()
        await app.stop()


def test_a_proxy_header_line_of_its_own_is_the_one_believed(tmp_path):
    async def check(app, base):
        async with aiohttp.ClientSession() as session:
            for forged in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):  # the client's own line, then the proxy's
                headers = CIMultiDict([("X-Forwarded-For", forged), ("X-Forwarded-For", "198.51.100.7")])
                async with session.get(f"{base}/pages/intl/a1.md", headers=headers) as resp:
                    assert resp.status == 200
        await app.flush()

    asyncio.run(_in_process(tmp_path / "v.db", check))
    assert rows(tmp_path / "v.db") == {"pages/intl/a1.md": 1}


def test_stats_right_after_midnight_include_the_views_still_in_memory(tmp_path):
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()

    async def check(app, base):
        app.counter.pending[(yesterday, "pages/intl/late.md")] = 5  # counted at 23:59:59, not written yet
        async with aiohttp.ClientSession() as session, session.get(f"{base}/stats.json?days=1") as resp:
            stats = await resp.json()
        assert stats["pages"] == [{"path": "pages/intl/late.md", "views": 5}]

    asyncio.run(_in_process(tmp_path / "v.db", check))
