"""What a server sends never reaches the operator's terminal as escape codes: the log, the summary, status."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from click.testing import CliRunner

from newsmirror.cli import cli
from tests.conftest import FAST_FETCH, feeds_config

FORGED = "\x1b[2K\x1b[1G\x1b]0;owned\x07 0 failed"  # erase the line, go to its start, retitle the window, lie


class _Handler(BaseHTTPRequestHandler):
    """A server that puts escape codes in its reason phrase (aiohttp's own server refuses to send them)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/feed.xml":
            status, reason = 200, "OK"
            body = (f"<rss version='2.0'><channel><title>f</title><item><title>t</title>"
                    f"<link>http://{self.headers['Host']}/a/1.html</link></item></channel></rss>").encode()
        else:
            status, reason, body = 404, f"Not Found{FORGED}", b"gone"
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/rss+xml" if status == 200 else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_escape_codes_in_a_reason_phrase_are_shown_as_text(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        cfg = feeds_config(tmp_path, {"s": f"{base}/feed.xml"}, "obey_robots = false\n", FAST_FETCH)
        runner = CliRunner()
        run = runner.invoke(cli, ["--config", str(cfg), "run"], color=True, catch_exceptions=False)
        status = runner.invoke(cli, ["--config", str(cfg), "status"], color=True, catch_exceptions=False)
    finally:
        server.shutdown()
        server.server_close()
    assert run.exit_code == 1
    for out in (run.output, status.output):
        assert "Not Found" in out  # the reason is there
        assert "\x1b" not in out and "\x07" not in out, repr(out)  # as text only
        assert "\\x1b[2K" in out
