"""Reproducible output: every byte newsmirror writes follows from the store and the config.

With SOURCE_DATE_EPOCH set, two builds of one store are the same, file for file, in every format (Markdown,
the HTML site with its search index and feeds, QR codes, every script, the signed manifest); a run with nothing
new commits nothing; and a commit says what it holds, even when an earlier run wrote it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from newsmirror.demo.server import DEMO_SITE, SiteServer

from .test_pipeline import cli_run, demo_config, git_count

EPOCH = "1767225600"  # 2026-01-01
# every script: both, and Taiwan's and Hong Kong's. (Pagefind listed the scripts' indexes in an order of chance:
# with two, two builds agreed half the time; with four, once in 24)
EVERY_SCRIPT = 'variants = ["zh-Hans", "zh-Hant", "zh-Hant-TW", "zh-Hant-HK"]'
EVERYTHING = ('formats = ["markdown", "html"]\nbase_url = "https://github.com/example/news/blob/main"\n'
              f'{EVERY_SCRIPT}')


def tree(root: Path) -> dict[str, bytes]:
    """Every file of an output tree but git's own, by path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def signed_config(tmp_path: Path, base: str) -> Path:
    key = tmp_path / "keys" / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    cfg = demo_config(tmp_path, base, site_extra=EVERYTHING)
    cfg.write_text(cfg.read_text(encoding="utf-8") + f'\n[signing]\nkey = "{key}"\n', encoding="utf-8")
    return cfg


def head(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_two_builds_of_one_store_are_the_same_bytes_in_every_format_and_script(demo_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    cfg = signed_config(tmp_path, demo_server.base)
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    made = tree(out)
    for part in ("pages/intl/a103612902.png", "zh-Hant-HK/pages/intl/a103612902.md", "site/feed.xml",
                 "site/zh-Hant-TW/feed.json", "site/pagefind/pagefind-entry.json", "manifest.json.sig"):
        assert part in made, part
    assert any(p.startswith("assets/") for p in made)

    builds = []
    for n in (1, 2):  # `build` into a fresh output, from the same store; only the pictures live in the tree alone
        out.rename(tmp_path / f"out-{n}")
        shutil.copytree(tmp_path / f"out-{n}" / "assets", out / "assets")
        res = cli_run(cfg, "build")
        assert res.exit_code == 0, res.output
        builds.append(tree(out))
    for built in builds:
        assert sorted(built) == sorted(made)
        assert [p for p in made if built[p] != made[p]] == []


def test_a_run_with_nothing_new_commits_nothing_though_it_indexes_the_site_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    site = tmp_path / "site"
    shutil.copytree(DEMO_SITE, site)
    (site / "images/n3002-lead.jpg").unlink()  # a picture the source lost: tried again on every run
    with SiteServer(site) as server:
        cfg = demo_config(tmp_path, server.base, site_extra=EVERYTHING)
        assert cli_run(cfg, "run").exit_code == 0
        out = tmp_path / "out"
        before = head(out)
        for _ in range(2):
            index = (out / "site/pagefind").stat().st_ino
            res = cli_run(cfg, "run")
            assert res.exit_code == 0, res.output
            assert "0 new" in res.output and "images: 0 mirrored, 1 failed" in res.output
            assert (out / "site/pagefind").stat().st_ino != index  # the search index was made again
            assert head(out) == before, subprocess.run(["git", "-C", str(out), "show", "--stat", "HEAD"],
                                                       capture_output=True, text=True).stdout
            assert "nothing to commit" in res.output


class Killed(BaseException):
    """Stands for the SIGKILL that ends a run between writing its pages and committing them."""


def test_the_commit_after_a_killed_run_counts_the_pages_it_adds(demo_server, tmp_path, monkeypatch):
    cfg = demo_config(tmp_path, demo_server.base)

    def killed(*args: object, **kwargs: object) -> bool:
        raise Killed

    monkeypatch.setattr("newsmirror.pipeline.commit_all", killed)
    with pytest.raises(Killed):
        cli_run(cfg, "run")
    out = tmp_path / "out"
    assert len(list((out / "pages").rglob("*.md"))) == 6 and git_count(out) == 0
    monkeypatch.undo()
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    assert "0 new" in res.output  # this run found nothing new ...
    log = subprocess.run(["git", "-C", str(out), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert log == "newsmirror: 6 new, 0 updated, 0 removed\n"  # ... but its commit adds six pages

