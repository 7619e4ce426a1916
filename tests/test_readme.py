"""The README's tour, pasted in order into a fresh shell, works as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def test_the_readme_opens_with_the_two_set_up_commands() -> None:
    first, second = sh_blocks(README)[:2]
    assert "newsmirror demo" in first and "pip install ." in first
    assert "pytest" in second and ".[test]" in second
    assert "--upgrade pip" in first and "--upgrade pip" in second  # Debian 12's venv pip fails on the extras


def test_the_tour_works_pasted_into_a_fresh_shell(ntd_server, tmp_path: Path) -> None:
    """Sections 1 and 2 of the tour in one fresh bash (no venv active, no PATH of ours), as a new operator pastes
    them after the install command; the only stand-in is $EDITOR, an 'editor' pointing the starter's source at
    the local copy of its site."""
    venv = Path(sys.prefix)
    if not (venv / "bin" / "activate").is_file():  # tests run outside a venv: an activate that does the same
        venv = tmp_path / "fake-venv"
        (venv / "bin").mkdir(parents=True)
        (venv / "bin" / "activate").write_text(f'PATH="{Path(sys.executable).parent}:$PATH"\n', encoding="utf-8")
    (tmp_path / ".venv").symlink_to(venv)
    tour = README.split("## A five-minute tour", 1)[1].split("### 3.", 1)[0]
    blocks = sh_blocks(tour)
    assert len(blocks) == 2 and "newsmirror init" in blocks[0] and "newsmirror run" in blocks[1]
    editor = tmp_path / "editor"
    editor.write_text(f"#!/bin/sh\nsed -i 's#http://127.0.0.1:8000#{ntd_server.base}#' \"$1\"\n", encoding="utf-8")
    editor.chmod(0o755)
    script = "set -e\n" + "\n".join(blocks)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "EDITOR": str(editor), "LANG": "C.UTF-8"}
    if "SOURCE_DATE_EPOCH" in os.environ:
        env["SOURCE_DATE_EPOCH"] = os.environ["SOURCE_DATE_EPOCH"]
    res = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    mirror = tmp_path / "my-mirror" / "mirror"
    assert (mirror / "pages" / "intl" / "a103612902.md").is_file(), res.stdout + res.stderr
    assert "ntd-intl" in res.stdout  # status ran and listed the source
