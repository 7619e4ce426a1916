from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from newsmirror.publish import commit_all, ensure_repo
from newsmirror.publish.git import git_env, run_git, stage_stored


def log(repo) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True)
    return out.stdout.split("\n")[:-1]


def test_commit_only_when_something_changed(tmp_path):
    repo = tmp_path / "out"
    ensure_repo(repo)
    ensure_repo(repo)  # idempotent
    assert not commit_all(repo, "nothing")
    (repo / "a.md").write_text("x")
    assert commit_all(repo, "newsmirror: 1 new, 0 updated, 0 removed")
    assert not commit_all(repo, "again")
    (repo / "a.md").unlink()
    assert commit_all(repo, "newsmirror: 0 new, 0 updated, 1 removed")
    assert log(repo) == ["newsmirror: 0 new, 0 updated, 1 removed", "newsmirror: 1 new, 0 updated, 0 removed"]
    fsck = subprocess.run(["git", "-C", str(repo), "fsck"], capture_output=True, text=True)
    assert fsck.returncode == 0


def test_files_go_into_packs_and_stored_folders_are_kept_as_they_are(tmp_path):
    repo = tmp_path / "out"
    ensure_repo(repo)
    (repo / "assets" / "ab").mkdir(parents=True)
    picture = bytes(range(256)) * 64  # incompressible enough: stored as it is
    (repo / "assets" / "ab" / "ab12.jpg").write_bytes(picture)
    (repo / "a.md").write_text("正文 " * 500, encoding="utf-8")
    assert commit_all(repo, "newsmirror: 1 new, 0 updated, 0 removed", stored=["assets", "site/assets"])

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout

    assert git("status", "--porcelain") == ""
    assert git("show", "HEAD:a.md") == "正文 " * 500
    assert subprocess.run(["git", "-C", str(repo), "show", "HEAD:assets/ab/ab12.jpg"], capture_output=True,
                          check=True).stdout == picture
    assert not [h for h in _loose_ids(repo) if git("cat-file", "-t", h).strip() == "blob"]  # the files are packed
    (repo / "assets" / "ab" / "ab12.jpg").unlink()  # a removed image is removed from the tree too
    assert commit_all(repo, "newsmirror: 0 new, 0 updated, 1 removed", stored=["assets"])
    assert git("status", "--porcelain") == "" and "assets" not in git("ls-files")
    assert subprocess.run(["git", "-C", str(repo), "fsck"], capture_output=True, text=True).returncode == 0


def _loose_ids(repo) -> list[str]:
    objects = repo / ".git" / "objects"
    return [d.name + f.name for d in objects.iterdir() if len(d.name) == 2 for f in d.iterdir()]


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except OSError:
        return False


def _until(cond, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)  # polling a condition, not waiting for time to pass
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel's parent-death signal is Linux's")
def test_a_git_the_run_started_dies_with_the_run(tmp_path):
    """A run killed mid-commit must not leave git running: it would hold index.lock and then write the index
    under the next run. Here git waits forever (cat-file --batch on a stdin this test holds open)."""
    repo = tmp_path / "out"
    ensure_repo(repo)
    code = f"from newsmirror.publish.git import run_git; run_git({str(repo)!r}, 'cat-file', '--batch')"
    run = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        assert _until(lambda: any(_alive(c) for c in _children(run.pid))), "git never started"
        git = _children(run.pid)[0]
        assert "git" in open(f"/proc/{git}/cmdline").read()
        run.kill()
        run.wait()
        assert _until(lambda: not _alive(git), timeout=10), "git outlived the run that started it"
    finally:
        run.stdin.close()
        run.kill()
        run.wait()


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("setpriv") is None,
                    reason="the kernel's parent-death signal is Linux's, asked for by util-linux's setpriv")
def test_a_git_whose_run_died_before_it_started_never_runs(tmp_path):
    """The kernel kills git with the run only once setpriv has asked it to: a run killed between starting git
    and that moment (a window a busy machine widens) left a git commit going on its own, which `git fsck` then
    caught halfway ("HEAD: invalid reflog entry") and the next run would have raced. That moment is made here
    for certain: the command is made by a run that is gone, and started by another process."""
    repo = tmp_path / "out"
    ensure_repo(repo)
    (repo / "a.md").write_text("a page")
    made = subprocess.run([sys.executable, "-c", "import json; from newsmirror.publish.git import git_command; "
                           "print(json.dumps(git_command()))"], capture_output=True, text=True, check=True)
    command = json.loads(made.stdout)  # the run that made it has exited
    orphan = subprocess.run([*command, "-C", str(repo), "add", "-A"], capture_output=True, env=git_env())
    assert orphan.returncode != 0
    staged = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True)
    assert staged.stdout == ""  # git never ran
    assert run_git(repo, "add", "-A").returncode == 0  # from the run itself, it does
    assert subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True).stdout == "a.md\n"


def test_image_folders_staged_in_the_background_are_committed_with_the_rest(tmp_path):
    repo = tmp_path / "out"
    ensure_repo(repo)
    assert stage_stored(repo, ["assets"]) is None  # no such folder: nothing to start
    (repo / "assets" / "ab").mkdir(parents=True)
    (repo / "assets" / "ab" / "ab12.jpg").write_bytes(b"\xff\xd8 a picture")
    (repo / "pages").mkdir()
    (repo / "pages" / "a.md").write_text("a page")
    staging = stage_stored(repo, ["assets", "site/assets"])
    assert staging is not None and staging.wait(timeout=60) == 0
    staged = subprocess.run(["git", "-C", str(repo), "diff", "--cached", "--name-only"], capture_output=True, text=True)
    assert staged.stdout.split() == ["assets/ab/ab12.jpg"]  # the images only: pages are staged at the commit
    assert commit_all(repo, "one commit", stored=["assets"])
    files = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True).stdout.split()
    assert files == ["assets/ab/ab12.jpg", "pages/a.md"]


def test_the_locks_a_killed_git_left_are_cleared_and_nothing_else(tmp_path):
    from newsmirror.publish.git import clear_stale_git_locks, ensure_repo

    ensure_repo(tmp_path)
    git = tmp_path / ".git"
    (git / "refs/newsmirror/squash").mkdir(parents=True)
    stale = [git / "index.lock", git / "refs/heads/main.lock", git / "refs/newsmirror/squash/slim.lock",
             git / "packed-refs.lock"]
    for lock in stale:
        lock.write_text("", encoding="utf-8")
    (git / "refs/newsmirror/squash/slim").write_text("0" * 40 + "\n", encoding="utf-8")
    removed = clear_stale_git_locks(tmp_path)
    assert sorted(removed) == sorted(str(p) for p in stale)
    assert not any(p.exists() for p in stale) and (git / "refs/newsmirror/squash/slim").is_file()
