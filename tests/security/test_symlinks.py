"""A symbolic link inside the output is never written or deleted through: the run stops, naming it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.config import Config, load_config
from newsmirror.demo.server import DEMO_SITE, SiteServer
from tests.conftest import FAST_FETCH, minimal_config

DEMO = ("html", "zh-Hant")


def run(cfg_path: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, ["--config", str(cfg_path), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def mirrored_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One mirror in both formats and scripts, made once for the module (its site served as long as it lasts):
    each test changes a copy of it."""
    folder = tmp_path_factory.mktemp("mirrored")
    with SiteServer(DEMO_SITE) as server:
        cfg = minimal_config(folder, server.base, feed="/gb/prog204/feed.xml",
                             extra_site='formats = ["markdown", "html"]\nvariants = ["zh-Hans", "zh-Hant"]\n',
                             extra=FAST_FETCH)
        assert run(cfg.path, "run").exit_code == 0
        yield folder


@pytest.fixture
def mirrored(mirrored_once: Path, tmp_path: Path) -> Config:
    """A copy of the module's mirror (config, store and output with its git repository) of this test's own."""
    folder = tmp_path / "mirrored"
    shutil.copytree(mirrored_once, folder, symlinks=True)
    return load_config(folder / "newsmirror.toml")


@pytest.mark.parametrize("link", ["pages/intl", "pages", "site/assets", "zh-Hant", "site/pages", "indexes",
                                  "README.md"])
def test_a_symlink_in_the_output_stops_the_run_and_nothing_outside_is_touched(mirrored, tmp_path, link):
    out = mirrored.output_dir
    elsewhere = tmp_path / "elsewhere"
    real = out / link
    # what the link points at: a copy of what was there (so a run that followed it would write and sweep there)
    # plus a file of someone else's that a stale-file sweep through the link would delete
    os.rename(real, elsewhere)
    if elsewhere.is_dir():
        (elsewhere / "someone-elses.md").write_text("not ours", encoding="utf-8")
    os.symlink(elsewhere, real)
    before = {p: p.read_bytes() for p in ([elsewhere] if elsewhere.is_file() else elsewhere.rglob("*"))
              if p.is_file()}
    for args in (["run"], ["build"]):
        res = run(mirrored.path, *args)
        assert res.exit_code == 1, res.output
        lines = [ln for ln in res.output.splitlines() if "symbolic link" in ln]
        assert len(lines) == 1 and str(real) in lines[0], res.output
    after = {p: p.read_bytes() for p in ([elsewhere] if elsewhere.is_file() else elsewhere.rglob("*"))
             if p.is_file()}
    assert after == before  # nothing written, changed or deleted through the link
