"""Files are written whole or not at all: a temp file beside the target, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_if_changed(path: Path, data: bytes | str) -> bool:
    """Write `data` unless the file already holds exactly that; True when written."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    atomic_write(path, data)
    return True


def remove_stale_temps(root: Path) -> int:
    """Delete temp files a killed run left behind (`.name.XXXX.tmp`)."""
    n = 0
    if root.exists():
        for p in root.rglob(".*.tmp"):
            if ".git" not in p.parts:
                p.unlink(missing_ok=True)
                n += 1
    return n
