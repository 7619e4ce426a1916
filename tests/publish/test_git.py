from __future__ import annotations

import subprocess

from newsmirror.publish import commit_all, ensure_repo


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
