"""Client-side search for the HTML site: Pagefind's extended build (it segments Chinese) indexes site/.

The index is made in a temp folder and swapped in whole, so a killed run never leaves half of one.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("newsmirror.render")

INDEX_DIR = "pagefind"


def remove_stale_indexes(tmp_dir: Path) -> None:
    """The half-made indexes a killed run left in the temp folder (call only while holding the run lock)."""
    for d in tmp_dir.glob("pagefind-*"):
        shutil.rmtree(d, ignore_errors=True)


def build_search_index(site_dir: Path, tmp_dir: Path, timeout: float = 600) -> bool:
    """(Re)make `site_dir/pagefind`. False, with a one-line warning, when Pagefind is missing or fails."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fresh = tmp_dir / f"pagefind-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    cmd = [sys.executable, "-m", "pagefind", "--site", str(site_dir), "--output-path", str(fresh), "--silent"]
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
    target = site_dir / INDEX_DIR
    old = tmp_dir / f"pagefind-old-{os.getpid()}"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
    return True
