"""Many remotes: independent pushes to local bare repositories and a git daemon on 127.0.0.1.

Three remotes, one unreachable (nothing listens on its port yet) and one rejecting every push (a
pre-receive hook): the good one is updated, the others are reported in the summary, the log and
`status`, and a later run catches them up once they work again.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from newsmirror.publish.remotes import PushTarget, push_all, redact
from newsmirror.store import Store
from tests.test_pipeline import cli_run, demo_config


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def commit_file(repo: Path, name: str, text: str) -> None:
    """A commit made by someone else (not newsmirror) adding one file."""
    (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", f"add {name}")


def new_repo(path: Path) -> Path:
    """A repository with one commit."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    commit_file(path, "a.md", "a\n")
    return path


def bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def ref(repo: Path, name: str = "main") -> str | None:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "-q", f"refs/heads/{name}"],
                          capture_output=True, text=True)
    return proc.stdout.strip() or None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def git_daemon(base: Path, port: int) -> Iterator[None]:
    """`git daemon` serving `base` on 127.0.0.1:port, pushes allowed; ready when it accepts a connection."""
    proc = subprocess.Popen(["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
                             "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, "git daemon did not start"
                assert time.monotonic() < deadline, "git daemon is not listening"
                time.sleep(0.05)  # polling a readiness condition, not waiting for time to pass
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def add_remotes(cfg: Path, remotes: str, publish: str = "retries = 1\nbackoff = 0") -> None:
    cfg.write_text(cfg.read_text(encoding="utf-8") + f"\n[publish]\n{publish}\n{remotes}", encoding="utf-8")


def test_three_remotes_one_unreachable_one_rejecting_then_caught_up(demo_server, tmp_path):
    good = bare(tmp_path / "remotes" / "good.git")
    closed = bare(tmp_path / "remotes" / "closed.git")
    hook = closed / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are closed for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)
    daemon_base = tmp_path / "daemon"
    away = bare(daemon_base / "away.git")
    port = free_port()  # nothing listens there until the daemon starts
    cfg = demo_config(tmp_path, demo_server.base)
    add_remotes(cfg, f'''
[[remotes]]
name = "good"
url = "{good}"

[[remotes]]
name = "closed"
url = "file://{closed}"

[[remotes]]
name = "away"
url = "git://127.0.0.1:{port}/away.git"
''')
    out = tmp_path / "out"
    res = cli_run(cfg, "run")
    assert res.exit_code == 1, res.output  # everything mirrored; two remotes failed
    first = git(out, "rev-parse", "HEAD")
    assert ref(good) == first
    assert ref(closed) is None and ref(away) is None
    assert "pushed to good" in res.output and "push failed: closed, away" in res.output
    assert "refused by the remote (pre-receive hook declined)" in res.output
    assert "remote away" in res.output and "unreachable after 2 attempt(s)" in res.output
    status = cli_run(cfg, "status").output
    assert "up to date" in status.split("good (")[1].split("closed (")[0]
    assert "FAILING since" in status.split("closed (")[1] and "pre-receive hook declined" in status

    # the remotes work again; the mirror changes (a new nav link re-renders every page) and commits
    hook.unlink()
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[site]\n", "[site]\nhome_label = \"回首页\"\n", 1),
                   encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    second = git(out, "rev-parse", "HEAD")
    assert second != first and git(out, "rev-parse", "HEAD~1") == first
    with git_daemon(daemon_base, port):
        res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    for remote in (good, closed, away):
        assert ref(remote) == second
        assert git(remote, "rev-list", "--count", "main") == git(out, "rev-list", "--count", "HEAD")  # full history
        assert "回首页" in git(remote, "show", "main:README.md")
    status = cli_run(cfg, "status").output
    assert "FAILING" not in status and status.count("up to date") == 3


def test_no_force_push_unless_the_remote_says_so(demo_server, tmp_path):
    theirs = bare(tmp_path / "theirs.git")
    other = new_repo(tmp_path / "other")  # an initial commit made on the host
    git(other, "push", "-q", str(theirs), "main")
    foreign = ref(theirs)
    cfg = demo_config(tmp_path, demo_server.base)
    add_remotes(cfg, f'[[remotes]]\nname = "host"\nurl = "{theirs}"\n')
    res = cli_run(cfg, "run")
    assert res.exit_code == 1 and ref(theirs) == foreign  # nothing overwritten
    assert "non-fast-forward" in res.output and "force = true" in res.output
    assert "unreachable" not in res.output  # a refusal is not retried as if the host were away

    cfg.write_text(cfg.read_text(encoding="utf-8").replace('url = "' + str(theirs) + '"',
                                                           f'url = "{theirs}"\nforce = true'), encoding="utf-8")
    res = cli_run(cfg, "publish")
    assert res.exit_code == 0 and "host: ok" in res.output
    assert ref(theirs) == git(tmp_path / "out", "rev-parse", "HEAD")


def squash_mirror(base: str, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A demo mirror, run once, with one squash remote (a bare repository): (remote, config, output)."""
    slim = bare(tmp_path / "slim.git")
    cfg = demo_config(tmp_path, base)
    add_remotes(cfg, f'[[remotes]]\nname = "slim"\nurl = "{slim}"\nbranch = "pages"\nsquash = true\n')
    assert cli_run(cfg, "run").exit_code == 0
    return slim, cfg, tmp_path / "out"


def test_a_squash_remote_holds_one_commit_of_the_current_tree(demo_server, tmp_path):
    slim, cfg, out = squash_mirror(demo_server.base, tmp_path)
    assert git(slim, "rev-list", "--count", "pages") == "1"
    assert git(slim, "rev-parse", "pages^{tree}") == git(out, "rev-parse", "HEAD^{tree}")
    pushed = ref(slim, "pages")
    assert cli_run(cfg, "publish").exit_code == 0 and ref(slim, "pages") == pushed  # same tree, same commit

    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[site]\n", "[site]\nhome_label = \"回首页\"\n", 1),
                   encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    res = cli_run(cfg, "publish")
    assert res.exit_code == 0, res.output
    assert git(out, "rev-list", "--count", "HEAD") == "2"  # the mirror keeps its history...
    assert git(slim, "rev-list", "--count", "pages") == "1"  # ...the squashed remote does not
    assert git(slim, "rev-parse", "pages^{tree}") == git(out, "rev-parse", "HEAD^{tree}")
    assert ref(slim, "pages") != pushed

    # someone else pushed to the squashed branch: the lease refuses to overwrite it
    other = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "pages", str(slim), str(other)], check=True)
    commit_file(other, "NOTE.md", "a note\n")
    git(other, "push", "-q", "origin", "pages")
    theirs = ref(slim, "pages")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("回首页", "首页"), encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    res = cli_run(cfg, "publish")
    assert res.exit_code == 1 and ref(slim, "pages") == theirs
    assert "changed since newsmirror last pushed" in res.output


def test_a_squash_push_the_store_did_not_record_is_recognised_as_ours(demo_server, tmp_path):
    slim, cfg, out = squash_mirror(demo_server.base, tmp_path)
    first = ref(slim, "pages")

    def change_and_publish(label: str):
        text = re.sub(r"(?m)^home_label = .*\n", "", cfg.read_text(encoding="utf-8"))
        cfg.write_text(text.replace("[site]\n", f"[site]\nhome_label = \"{label}\"\n", 1), encoding="utf-8")
        assert cli_run(cfg, "build").exit_code == 0
        return cli_run(cfg, "publish")

    assert change_and_publish("回首页").exit_code == 0
    second = ref(slim, "pages")
    assert second != first
    # a run killed after that push went through, before the store recorded it: the store still names the first
    store = Store(tmp_path / "newsmirror.db")
    store.remote_pushed("slim", first)
    store.close()
    # and the next publish does not reach the remote (a new squashed commit is made, nothing pushed)
    slim.rename(tmp_path / "away.git")
    assert change_and_publish("主页").exit_code == 1
    (tmp_path / "away.git").rename(slim)
    res = change_and_publish("返回首页")
    assert res.exit_code == 0, res.output
    assert git(slim, "rev-list", "--count", "pages") == "1"
    assert git(slim, "rev-parse", "pages^{tree}") == git(out, "rev-parse", "HEAD^{tree}")
    assert "返回首页" in git(slim, "show", "pages:README.md")
    assert "up to date" in cli_run(cfg, "status").output.split("slim (")[1]


def test_credentials_never_appear_in_output_log_or_status(demo_server, tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("MIRROR_TOKEN", "tok-9f8e7d6c5b4a")
    cfg = demo_config(tmp_path, demo_server.base)
    add_remotes(cfg, f'''
[[remotes]]
name = "inline"
url = "http://operator:pa55-w0rd-x1@127.0.0.1:{port}/mirror.git"

[[remotes]]
name = "fromenv"
url = "http://x-access-token:${{MIRROR_TOKEN}}@127.0.0.1:{port}/mirror.git"
''')
    res = cli_run(cfg, "-v", "run")
    assert res.exit_code == 1 and "push failed: inline, fromenv" in res.output
    status = cli_run(cfg, "status").output
    for text in (res.output, status, (tmp_path / "newsmirror.db").read_bytes().decode("utf-8", "replace")):
        assert "pa55-w0rd-x1" not in text and "tok-9f8e7d6c5b4a" not in text
    assert f"http://***@127.0.0.1:{port}/mirror.git" in status
    # nor does git keep the URL in the mirror's repository
    assert "127.0.0.1:" + str(port) not in (tmp_path / "out" / ".git" / "config").read_text()

    monkeypatch.delenv("MIRROR_TOKEN")
    res = cli_run(cfg, "publish", "--remote", "fromenv")
    assert res.exit_code == 1 and "environment variable MIRROR_TOKEN is not set" in res.output


def test_retries_back_off_and_a_refusal_is_not_retried(tmp_path):
    repo = new_repo(tmp_path / "repo")
    refusing = bare(tmp_path / "refusing.git")
    (refusing / "hooks" / "pre-receive").write_text("#!/bin/sh\nexit 1\n")
    (refusing / "hooks" / "pre-receive").chmod(0o755)
    waits: list[float] = []
    targets = [PushTarget("away", f"git://127.0.0.1:{free_port()}/x.git", "main"),
               PushTarget("refusing", str(refusing), "main"),
               PushTarget("good", str(bare(tmp_path / "good.git")), "main")]
    results = push_all(repo, targets, message="m", retries=3, backoff=2.0, sleep=waits.append)
    by = {r.name: r for r in results}
    assert [r.name for r in results] == ["away", "refusing", "good"]
    assert by["good"].ok and by["good"].detail == "pushed" and by["good"].attempts == 1
    assert not by["refusing"].ok and by["refusing"].attempts == 1
    assert not by["away"].ok and by["away"].attempts == 4
    assert sorted(waits) == [2.0, 4.0, 8.0]  # only the unreachable one waited, doubling each time
    again = {r.name: r for r in push_all(repo, targets[2:], message="m", retries=0, backoff=0)}
    assert again["good"].detail == "up to date"


@pytest.mark.parametrize("text, secret", [
    ("fatal: unable to access 'https://bob:s3cr3t@git.example/x.git/': timeout", "s3cr3t"),
    ("https://ghp_abcdef123456@github.com/o/r.git", "ghp_abcdef123456"),
])
def test_redact_blanks_userinfo(text, secret):
    assert secret not in redact(text)
    assert "***@" in redact(text)


def test_a_remote_that_never_answers_is_stopped_at_the_timeout(tmp_path):
    repo = new_repo(tmp_path / "repo")
    with socket.socket() as silent:  # accepts the connection (the kernel does), then says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        good = bare(tmp_path / "good.git")
        started = time.monotonic()
        results = push_all(repo, [PushTarget("silent", f"git://127.0.0.1:{port}/x.git", "main"),
                                  PushTarget("good", str(good), "main")],
                           message="m", retries=0, timeout=1)
        took = time.monotonic() - started
    assert results[0].detail == "unreachable after 1 attempt(s): no answer within 1 s"
    assert results[1].ok and ref(good) == git(repo, "rev-parse", "HEAD")  # not held up by the silent one
    assert took < 15


def _cmdlines() -> str:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                out.append((p / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace"))
            except OSError:
                pass
    return "\n".join(out)


def test_a_password_in_the_url_reaches_the_host_but_no_command_line(tmp_path):
    import base64
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: dict[str, str] = {}

    class Host(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            auth = self.headers.get("Authorization")
            if auth is None:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            seen["auth"] = base64.b64decode(auth.split()[1]).decode()
            seen["processes"] = _cmdlines()  # while git waits for this answer
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        repo = new_repo(tmp_path / "repo")
        url = f"http://operator:pa55-w0rd-x1@127.0.0.1:{server.server_address[1]}/mirror.git"
        [res] = push_all(repo, [PushTarget("host", url, "main")], message="m", retries=0)
    finally:
        server.shutdown()
    assert not res.ok and "pa55-w0rd-x1" not in res.detail
    assert seen["auth"] == "operator:pa55-w0rd-x1"  # given to the host, by the credential helper
    assert "pa55-w0rd-x1" not in seen["processes"]  # and on no process's command line meanwhile


def test_a_squash_remote_renamed_in_the_config_is_still_ours(demo_server, tmp_path):
    slim, cfg, out = squash_mirror(demo_server.base, tmp_path)
    text = cfg.read_text(encoding="utf-8").replace('name = "slim"', 'name = "pages-host"')
    cfg.write_text(text.replace("[site]\n", '[site]\nhome_label = "回首页"\n', 1), encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    res = cli_run(cfg, "publish")
    assert res.exit_code == 0, res.output
    assert git(slim, "rev-list", "--count", "pages") == "1"
    assert "回首页" in git(slim, "show", "pages:README.md")
