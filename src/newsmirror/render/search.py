"""Client-side search for the HTML site: Pagefind's extended build (it segments Chinese) indexes site/.

The index is made in a temp folder and swapped in whole, so a killed run never leaves half of one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("newsmirror.render")

INDEX_DIR = "pagefind"
ENTRY = "pagefind-entry.json"


def remove_stale_indexes(tmp_dir: Path) -> None:
    """The half-made indexes a killed run left in the temp folder (call only while holding the run lock)."""
    for d in tmp_dir.glob("pagefind-*"):
        shutil.rmtree(d, ignore_errors=True)


def pagefind_command() -> list[str]:
    """Pagefind's own binary, as `python -m pagefind` finds it (PAGEFIND_BINARY_PATH, the extended build, the plain
    one, PATH), started directly: a Python process just to find it costs each build 50 ms. If the package cannot
    say, `python -m pagefind` (which then fails with its own message)."""
    try:
        from pagefind.service import get_executable

        found = get_executable()
    except Exception:  # noqa: BLE001 (not installed, or a version without it: the module route says why)
        found = None
    return [str(found)] if found is not None else [sys.executable, "-m", "pagefind"]


def build_search_index(site_dir: Path, tmp_dir: Path, timeout: float = 600) -> bool:
    """(Re)make `site_dir/pagefind`. False, with a one-line warning, when Pagefind is missing or fails."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fresh = tmp_dir / f"pagefind-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    cmd = [*pagefind_command(), "--site", str(site_dir), "--output-path", str(fresh), "--silent"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("site search: Pagefind did not run (%s); the site works without search", exc)
        return False
    if proc.returncode != 0 or not (fresh / "pagefind.js").is_file():
        why = " ".join((proc.stderr or proc.stdout or f"exit {proc.returncode}").split())[:300]
        log.warning("site search: Pagefind failed (%s); install it with pip install 'pagefind[extended]'", why)
        shutil.rmtree(fresh, ignore_errors=True)
        return False
    canonical_entry(fresh / ENTRY)
    target = site_dir / INDEX_DIR
    old = tmp_dir / f"pagefind-old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
    return True


def canonical_entry(path: Path) -> None:
    """Rewrite Pagefind's entry file with its languages in sorted order. Pagefind keeps them in a hash map
    seeded at random in each process, so with two scripts on, two builds of the same site listed them in either
    order, and a run that changed nothing committed a new index. Nothing we give Pagefind fixes that order;
    every other file it writes is named and filled from the pages alone. Done in the temp folder, before the
    index is swapped in. An entry file that is not what we expect is left as Pagefind wrote it."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        entry["languages"] = dict(sorted(entry["languages"].items()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("site search: %s not rewritten in a fixed order (%s)", path.name, exc)
        return
    data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.write_bytes(data)  # (the whole folder is a temp one: a killed run's is removed, never swapped in)
