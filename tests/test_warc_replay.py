"""The WARC files as third-party tools take them: `warcio check` passes them, and pywb replays an archived article
with its picture, each reached through the redirect the site answered with."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsmirror.demo.server import SiteServer

from .conftest import FAST_FETCH, NTD, NTD_ORIGINS, NTD_ROUTES, SEED_IMAGE, SEED_PATH, minimal_config
from .test_pipeline import cli_run

MOVED_PAGE = "/old/seed.html"  # 301 → SEED_PATH
MOVED_IMAGE = "/images/lead-moved.jpg"  # where SEED_IMAGE now answers, after a 301


def _tool(name: str) -> str | None:
    """A console script: from $PYWB_BIN (pywb lives in an environment of its own, as it pins old libraries), beside
    this Python, or on PATH."""
    for folder in (os.environ.get("PYWB_BIN", ""), str(Path(sys.executable).parent)):
        if folder and (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    return shutil.which(name)


def _mirror_with_redirects(tmp_path: Path) -> tuple[Path, str, bytes]:
    """Mirror the seed article, asked for at a moved address, whose picture moved too: (the run's WARC file, the
    site's base URL, the picture's bytes)."""
    routes = {**NTD_ROUTES, MOVED_IMAGE: NTD_ROUTES[SEED_IMAGE]}
    with SiteServer(NTD, NTD_ORIGINS, routes=routes, redirects={MOVED_PAGE: SEED_PATH, SEED_IMAGE: MOVED_IMAGE}) as s:
        cfg = minimal_config(tmp_path, s.base, extra=FAST_FETCH)
        res = cli_run(cfg.path, "add", s.base + MOVED_PAGE, "--category", "intl")
        assert res.exit_code == 0, res.output
        base = s.base
    (warc,) = (tmp_path / "warcs").glob("*.warc.gz")
    return warc, base, Path(NTD_ROUTES[SEED_IMAGE]).read_bytes()


def test_the_warc_holds_the_picture_and_the_redirects_one_date_a_capture_and_passes_warcio_check(tmp_path):
    warc, base, image = _mirror_with_redirects(tmp_path)
    check = subprocess.run([_tool("warcio") or "warcio", "check", "-v", str(warc)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    responses: dict[str, tuple[str, str, str, bytes]] = {}  # uri → (status, date, ip, body)
    requests: dict[str, str] = {}  # the response record it goes with → date
    with open(warc, "rb") as fh:
        for rec in ArchiveIterator(fh):
            h = rec.rec_headers
            if rec.rec_type == "response":
                responses[h.get_header("WARC-Target-URI")] = (
                    rec.http_headers.get_statuscode(), h.get_header("WARC-Date"), h.get_header("WARC-IP-Address"),
                    rec.content_stream().read())
                responses[h.get_header("WARC-Record-ID")] = responses[h.get_header("WARC-Target-URI")]
            elif rec.rec_type == "request":
                requests[h.get_header("WARC-Concurrent-To")] = h.get_header("WARC-Date")
    assert responses[base + MOVED_PAGE][0] == "301" and responses[base + SEED_PATH][0] == "200"
    assert responses[base + SEED_IMAGE][0] == "301"
    assert responses[base + MOVED_IMAGE][0] == "200" and responses[base + MOVED_IMAGE][3] == image
    assert len(requests) == 4  # one request a response, each with the very date of its response
    for record_id, date in requests.items():
        assert responses[record_id][1] == date
    assert {r[2] for r in responses.values()} == {"127.0.0.1"}
    res = cli_run(tmp_path / "newsmirror.toml", "build", "--reextract")  # the article's reference still points right
    assert res.exit_code == 0, res.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (127.0.0.1)
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_pywb_replays_the_article_with_its_picture(tmp_path):
    wayback, manager = _tool("wayback"), _tool("wb-manager")
    if wayback is None or manager is None:
        pytest.skip("pywb is not installed (pip install pywb, in an environment of its own; set PYWB_BIN)")
    warc, base, image = _mirror_with_redirects(tmp_path)
    home = tmp_path / "pywb"
    home.mkdir()
    subprocess.run([manager, "init", "mirror"], cwd=home, check=True, capture_output=True)
    subprocess.run([manager, "add", "mirror", str(warc)], cwd=home, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([wayback, "-p", str(port), "-b", "127.0.0.1"], cwd=home, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        root = f"http://127.0.0.1:{port}/mirror/"
        deadline = time.monotonic() + 60
        while True:  # until pywb answers (it starts in a few seconds)
            try:
                _get(root)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "pywb did not start"
                time.sleep(0.2)
        status, page = _get(root + "mp_/" + base + MOVED_PAGE)  # the moved address leads to the article
        text = page.decode("utf-8")
        assert status == 200 and "普京邀习近平访俄" in text
        src = re.search(r'/mirror/\d*im_/' + re.escape(base + SEED_IMAGE), text)
        assert src is not None, "the page's picture is not rewritten into the archive"
        status, body = _get(f"http://127.0.0.1:{port}{src.group(0)}")  # through the picture's own redirect
        assert status == 200 and body == image
    finally:
        server.terminate()
        server.wait(30)
