"""A symbolic link inside the output is never written or deleted through: the run stops, naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmirror.cli import cli
from tests.conftest import FAST_FETCH, minimal_config

DEMO = ("html", "zh-Hant")


def run(cfg_path: Path, *args: str):  # noqa: ANN201
    return CliRunner().invoke(cli, ["--config", str(cfg_path), *args], catch_exceptions=False)


@pytest.fixture
def mirrored(demo_server, tmp_path):
    cfg = minimal_config(tmp_path, demo_server.base, feed="/gb/prog204/feed.xml",
                         extra_site='formats = ["markdown", "html"]\nvariants = ["zh-Hans", "zh-Hant"]\n',
                         extra=FAST_FETCH)
    assert run(cfg.path, "run").exit_code == 0
    return cfg


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
