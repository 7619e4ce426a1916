"""Files are written whole or not at all: a temp file beside the target, then rename."""

from __future__ import annotations

import errno
import itertools
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

_serial = itertools.count()
PROCESS_DIR = ".process-"  # + pid: a process's own folder in a temp folder


def _temp_file(folder: Path, name: str) -> tuple[int, str]:
    """A new file in `folder`, opened for writing: `.name.<pid>.<n>.tmp`, created (never reused) with the
    mode a new file gets here (0666 less the umask), so a published file is as readable as any other."""
    while True:
        tmp = f"{folder}/.{name[:100]}.{os.getpid()}.{next(_serial)}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:  # left by a killed process that had this pid: take the next number
            continue


def atomic_write(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Write whole or not at all. With `tmp_dir` (on the same file system) the temp file never appears
    beside the target, so even a SIGKILL leaves nothing half-written in the target's folder. Each process
    has a folder of its own in `tmp_dir`: processes that create files in one folder queue for its lock (on
    this machine that doubled the cost of a file for two worker processes)."""
    folder = path.parent if tmp_dir is None else tmp_dir / f"{PROCESS_DIR}{os.getpid()}"
    # the folders are made when missing, found so by the calls that need them (not asked before every file)
    try:
        fd, tmp = _temp_file(folder, path.name)
    except FileNotFoundError:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temp_file(folder, path.name)
    try:
        with open(fd, "wb") as f:
            f.write(data)
        try:
            try:
                os.replace(tmp, path)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, path)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            os.unlink(tmp)  # another file system: fall back to a temp file beside the target
            atomic_write(path, data, None)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_if_changed(path: Path, data: bytes | str, tmp_dir: Path | None = None) -> bool:
    """Write `data` unless the file already holds exactly that; True when written."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    atomic_write(path, data, tmp_dir)
    return True


def remove_stale_temps(root: Path) -> int:
    """Delete temp files a killed run left behind (`.name.XXXX.tmp`), and the processes' temp folders
    (then empty) that earlier runs left in `root`."""
    n = 0
    if root.exists():
        for p in root.rglob(".*.tmp"):
            if ".git" not in p.relative_to(root).parts:  # (root itself may be inside .git)
                p.unlink(missing_ok=True)
                n += 1
        for d in root.glob(f"{PROCESS_DIR}*"):
            try:
                d.rmdir()
            except OSError:  # not empty (someone else's), or gone
                pass
    return n


class SymlinkInTree(OSError):
    """A symbolic link where newsmirror writes or deletes inside the output: it would write (or delete) outside."""


def refuse_symlinks(root: Path, tops: Iterable[str], own: Mapping[str, str] | None = None,
                    unlisted: Callable[[str], bool] | None = None) -> None:
    """Raise SymlinkInTree, naming it, for the first symbolic link at or below the paths `tops` of `root` (the
    folders and files newsmirror writes and sweeps), except the links it made itself (`own`: path → target).
    Nothing is followed: a link is found before anything is written or deleted through it.

    `unlisted(path)`: folders that are checked themselves but not listed (those that hold only files, one per
    page or image), so that the check costs the same however many pages the tree holds; a link among their
    files is found by the full check, which runs before the first write."""
    own = own or {}
    stack = list(tops)
    while stack:
        rel = stack.pop()
        path = root / rel
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(mode):
            if own.get(rel) == os.readlink(path):
                continue
            raise SymlinkInTree(f"{path} is a symbolic link (to {os.readlink(path)}): newsmirror never writes or "
                                "deletes through one inside the output; replace it with a real folder or file")
        if stat.S_ISDIR(mode) and not (unlisted and unlisted(rel)):
            with os.scandir(path) as entries:
                stack.extend(f"{rel}/{e.name}" for e in entries if e.is_symlink() or e.is_dir(follow_symlinks=False))
