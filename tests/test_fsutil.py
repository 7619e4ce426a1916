"""Files are written whole, through a temp file, with the mode any new file gets; stale temps are swept."""

from __future__ import annotations

import os
import stat

from newsmirror import fsutil
from newsmirror.fsutil import atomic_write, remove_stale_temps, write_if_changed


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_a_written_file_is_readable_as_the_umask_allows_and_no_temp_is_left(tmp_path):
    tmp = tmp_path / "tmp"
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "out" / "a.md", b"hello", tmp)  # both folders are made when missing
        os.umask(0o027)
        atomic_write(tmp_path / "out" / "b.md", b"world", tmp)
    finally:
        os.umask(old)
    assert (tmp_path / "out" / "a.md").read_bytes() == b"hello"
    assert mode(tmp_path / "out" / "a.md") == 0o644  # a web server serving site/ as another user can read it
    assert mode(tmp_path / "out" / "b.md") == 0o640
    assert [p for p in tmp.rglob("*") if p.is_file()] == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.md", "b.md"]
    assert [p.name for p in tmp.iterdir()] == [f".process-{os.getpid()}"]  # this process's own temp folder
    remove_stale_temps(tmp)  # the next run sweeps the (empty) folders of processes gone
    assert list(tmp.iterdir()) == []


def test_a_temp_name_left_by_a_killed_process_is_not_reused(tmp_path):
    n = next(fsutil._serial) + 1  # the number the next write takes
    own = tmp_path / f".process-{os.getpid()}"
    own.mkdir()
    stale = own / f".a.md.{os.getpid()}.{n}.tmp"
    stale.write_bytes(b"half-written by a killed run")
    atomic_write(tmp_path / "a.md", b"whole", tmp_path)
    assert (tmp_path / "a.md").read_bytes() == b"whole"
    assert stale.read_bytes() == b"half-written by a killed run"  # not overwritten, nor renamed into place
    assert remove_stale_temps(tmp_path) == 1 and not stale.exists() and not own.exists()


def test_write_if_changed_leaves_an_equal_file_alone(tmp_path):
    p = tmp_path / "a.md"
    assert write_if_changed(p, "一", tmp_path) is True
    before = os.stat(p).st_ino
    assert write_if_changed(p, "一", tmp_path) is False
    assert os.stat(p).st_ino == before
    assert write_if_changed(p, "二", tmp_path) is True and p.read_text(encoding="utf-8") == "二"


def test_stale_temps_are_removed_from_a_temp_folder_inside_git_but_not_from_git_itself(tmp_path):
    tmp = tmp_path / "out/.git/newsmirror-tmp"
    (tmp / ".process-123").mkdir(parents=True)
    (tmp / ".process-123/.page.md.ab12.tmp").write_bytes(b"half")
    assert remove_stale_temps(tmp) == 1
    assert not (tmp / ".process-123").exists()
    (tmp_path / "out/.git/objects").mkdir()
    (tmp_path / "out/.git/objects/.keep.tmp").write_bytes(b"git's")
    assert remove_stale_temps(tmp_path / "out") == 0
    assert (tmp_path / "out/.git/objects/.keep.tmp").exists()
