"""The snapshot branch: main's history never holds the search index; one signed parentless commit of the whole
site (index included) is made anew each run, pushed to the remotes, and the one it replaced is pruned locally."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from newsmirror.publish.keys import keygen
from newsmirror.publish.manifest import MANIFEST, allowed_signers_line, public_raw, verify, write_manifest
from newsmirror.publish.snapshot import SNAPSHOT_REF
from tests.publish.test_remotes import add_remotes, bare, git
from tests.test_pipeline import cli_run, demo_config

INDEX = "site/pagefind"


def _mirror(demo_server, tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A signed demo mirror with the HTML site on and one remote (a local bare repository): (config, key, output,
    remote). Not run yet."""
    key = tmp_path / "keys" / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    remote = bare(tmp_path / "remotes" / "origin.git")
    cfg = demo_config(tmp_path, demo_server.base, site_extra='formats = ["markdown", "html"]')
    cfg.write_text(cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n', encoding="utf-8")
    add_remotes(cfg, f'[[remotes]]\nname = "origin"\nurl = "{remote}"\n')
    return cfg, key, tmp_path / "out", remote


def _files(repo: Path, rev: str) -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()


def _blobs(repo: Path, rev: str, folder: str) -> set[str]:
    return {line.split()[2] for line in git(repo, "ls-tree", "-r", rev, "--", folder).splitlines()}


def _exists(repo: Path, obj: str) -> bool:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "-e", obj], capture_output=True).returncode == 0


def test_main_has_no_index_and_the_snapshot_is_one_signed_commit_pushed_and_replaced(demo_server, tmp_path):
    if shutil.which("ssh-keygen") is None:
        pytest.skip("OpenSSH's ssh-keygen is not installed (apt-get install openssh-client)")
    cfg, key, out, remote = _mirror(demo_server, tmp_path)
    res = cli_run(cfg, "run", "--source", "culture")
    assert res.exit_code == 0, res.output
    assert (out / INDEX / "pagefind.js").is_file()  # the tree on disk has the index, for the site it serves
    first = git(out, "rev-parse", SNAPSHOT_REF)
    first_index = _blobs(out, first, INDEX)
    assert first_index

    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    snap = git(out, "rev-parse", SNAPSHOT_REF)
    assert snap != first and git(out, "rev-list", "--count", "HEAD") == "2"

    # main: no commit of its history has ever held an index file; `git status` is clean all the same
    assert git(out, "log", "--format=%H", "--name-only", "HEAD", "--", INDEX) == ""
    assert not any(p.startswith(INDEX + "/") for p in _files(out, "HEAD"))
    assert git(out, "status", "--porcelain") == ""

    # the snapshot: one parentless commit of main's tree plus the index
    assert git(out, "rev-list", "--count", SNAPSHOT_REF) == "1"
    files = _files(out, SNAPSHOT_REF)
    assert f"{INDEX}/pagefind.js" in files
    assert [p for p in files if not p.startswith(INDEX + "/")] == _files(out, "HEAD")
    assert not (out / ".git/logs" / SNAPSHOT_REF).exists()  # no reflog keeps old snapshots

    # signed like main's commits: `git verify-commit` with the mirror's key
    signers = tmp_path / "allowed_signers"
    signers.write_text(allowed_signers_line(public_raw(key)) + "\n", encoding="ascii")
    for rev in ("HEAD", SNAPSHOT_REF):
        check = subprocess.run(["git", "-C", str(out), "-c", f"gpg.ssh.allowedSignersFile={signers}",
                                "verify-commit", rev], capture_output=True, text=True)
        assert check.returncode == 0 and 'Good "git" signature' in check.stderr, (rev, check.stderr)

    # pushed to the remote beside main
    assert git(remote, "rev-parse", SNAPSHOT_REF) == snap
    assert git(remote, "rev-parse", "refs/heads/main") == git(out, "rev-parse", "HEAD")

    # the replaced snapshot and the index files only it held are gone from the local repository
    only_first = first_index - _blobs(out, snap, INDEX) - _blobs(out, "HEAD", ".")
    assert only_first and not _exists(out, first)
    assert not any(_exists(out, b) for b in only_first)
    git(out, "fsck", "--no-progress")  # and nothing that is reachable went with them

    # nothing new: the same snapshot, and the remote is up to date
    assert cli_run(cfg, "build").exit_code == 0
    assert cli_run(cfg, "publish").exit_code == 0
    assert git(out, "rev-parse", SNAPSHOT_REF) == snap == git(remote, "rev-parse", SNAPSHOT_REF)

    # a clone of main (no index) and a clone of the snapshot (with it) both verify; a changed index file does not
    pub = str(key.with_name("mirror.key.pub"))
    for branch, says in (("main", "not in this copy"), ("snapshot", "checked as one signed entry")):
        clone = tmp_path / f"clone-{branch}"
        subprocess.run(["git", "clone", "-q", "-b", branch, str(remote), str(clone)], check=True)
        assert (clone / INDEX).is_dir() == (branch == "snapshot")
        res = cli_run(cfg, "verify", str(clone), "--pubkey", pub)
        assert res.exit_code == 0 and "ok: every file is as signed" in res.output and says in res.output, res.output
    manifest = json.loads((clone / MANIFEST).read_text(encoding="utf-8"))
    assert not any(p.startswith(INDEX + "/") for p in manifest["files"])
    # a reader checks the index with coreutils alone, as the README says
    shell = subprocess.run(["bash", "-c", f"find {INDEX} -type f | LC_ALL=C sort | xargs sha256sum | sha256sum"],
                           cwd=clone, capture_output=True, text=True, check=True).stdout.split()[0]
    assert shell == manifest["search_index"]["sha256"]
    entry = clone / INDEX / "pagefind-entry.json"
    entry.write_bytes(entry.read_bytes().replace(b"{", b"{ ", 1))
    res = cli_run(cfg, "verify", str(clone), "--pubkey", pub)
    assert res.exit_code == 1 and f"changed: {INDEX}/" in res.output, res.output


def test_an_index_an_older_version_committed_leaves_main_with_the_next_commit(demo_server, tmp_path):
    cfg, _key, out, _remote = _mirror(demo_server, tmp_path)
    assert cli_run(cfg, "run", "--source", "culture").exit_code == 0
    # what an older version did: the index committed on main
    git(out, "add", "-f", INDEX)
    git(out, "-c", "user.name=x", "-c", "user.email=x@x", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "old")
    assert any(p.startswith(INDEX + "/") for p in _files(out, "HEAD"))
    git(out, "config", "gc.autoPackLimit", "2")  # git's housekeeping is due after the next commit
    assert cli_run(cfg, "run").exit_code == 0
    # it ran, after the snapshot was made, not beside it: one pack, nothing broken, no gc.log that stops the next
    assert len(list((out / ".git/objects/pack").glob("*.pack"))) == 1
    assert not (out / ".git/gc.log").exists()
    git(out, "fsck", "--no-progress")
    assert not any(p.startswith(INDEX + "/") for p in _files(out, "HEAD"))
    assert f"{INDEX}/pagefind.js" in _files(out, SNAPSHOT_REF)
    assert git(out, "status", "--porcelain") == ""
    snap = git(out, "rev-parse", SNAPSHOT_REF)

    # the HTML site turned off: no snapshot branch any more (an old one would be pushed as current)
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('formats = ["markdown", "html"]', ""), encoding="utf-8")
    res = cli_run(cfg, "build")
    assert res.exit_code == 0, res.output
    assert subprocess.run(["git", "-C", str(out), "rev-parse", "--verify", "-q", SNAPSHOT_REF]).returncode != 0
    assert not _exists(out, snap)


def test_the_manifest_signs_the_index_whole_and_accepts_a_copy_without_it(tmp_path):
    key = tmp_path / "mirror.key"
    keygen(key)
    tree = tmp_path / "tree"
    (tree / INDEX / "index").mkdir(parents=True)
    (tree / "pages").mkdir()
    (tree / "pages/a.md").write_text("a\n", encoding="utf-8")
    (tree / INDEX / "pagefind.js").write_text("js\n", encoding="utf-8")
    (tree / INDEX / "index/zh_1.pf_index").write_bytes(b"\x00\x01")

    def sign() -> dict:
        for name, data in write_manifest(tree, key, "test", index=INDEX).items():
            (tree / name).write_bytes(data)
        return json.loads((tree / MANIFEST).read_text(encoding="utf-8"))

    manifest = sign()
    assert sorted(manifest["files"]) == ["pages/a.md"] and manifest["search_index"]["files"] == 2
    pub = str(key) + ".pub"
    v = verify(tree, pub)
    assert v.ok and v.search_index == "checked"
    (tree / INDEX / "index/zh_2.pf_index").write_bytes(b"\x02")  # a file added to the index
    v = verify(tree, pub)
    assert not v.ok and v.changed == [f"{INDEX}/"]
    (tree / INDEX / "index/zh_2.pf_index").unlink()
    shutil.rmtree(tree / INDEX)  # a copy without the index (main's)
    v = verify(tree, pub)
    assert v.ok and v.search_index == "absent"
    (tree / INDEX).symlink_to(tmp_path, target_is_directory=True)  # never followed
    v = verify(tree, pub)
    assert not v.ok and INDEX in v.special

    # a manifest signed without the index (HTML site off) lists nothing apart: an index put there is added files
    (tree / INDEX).unlink()
    for name, data in write_manifest(tree, key, "test").items():
        (tree / name).write_bytes(data)
    (tree / INDEX).mkdir()
    (tree / INDEX / "pagefind.js").write_text("js\n", encoding="utf-8")
    v = verify(tree, pub)
    assert not v.ok and v.added == [f"{INDEX}/pagefind.js"]
