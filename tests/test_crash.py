"""Crash safety: a `run` killed with SIGKILL at any moment loses nothing and corrupts nothing.

After each kill: no temp or partial file in the output tree, `git fsck` clean, the SQLite store
passes its integrity check. After 10 kills at moments spread evenly over a run (startup, discovery,
fetching, rendering, committing), one more run completes the work and the tree equals that of a run
never interrupted (the WARC record ids in the pages' provenance
comments are unique per capture, so they are compared as placeholders). Timestamps are fixed
with SOURCE_DATE_EPOCH, as for reproducible builds.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from newsmirror.demo.server import SiteServer

from .conftest import write_config
from .test_pipeline import cli_run

N_ARTICLES = 120
KILLS = 10
EPOCH = "1767225600"  # 2026-01-01
SENTENCES = ["市政部门表示，新的公交线路将于下月开通，沿线居民出行将更加方便。",
             "专家认为，这一措施有助于缓解早晚高峰的交通压力，但仍需配套政策支持。",
             "据了解，项目总投资约三亿元，预计明年年底前全部完工并投入使用。",
             "不少市民在采访中表示支持，同时希望施工期间尽量减少对生活的影响。",
             "相关负责人介绍，下一步将继续听取各方意见，及时调整实施方案。"]


def make_site(root: Path, n: int, listed: int | None = None, pages: bool = True) -> None:
    """n article pages (unless `pages` is false: the feed alone is written again), and a feed listing the first
    `listed` of them."""
    rnd = random.Random(7)
    (root / "a").mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(n):
        paras = "".join(f"<p>第{i}号报道：{rnd.choice(SENTENCES)}{rnd.choice(SENTENCES)}</p>"
                        for _ in range(rnd.randint(3, 8)))
        day = 1 + i % 28
        if pages:
            (root / "a" / f"n{i}.html").write_text(
                f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>城市新闻第{i}号 - 示例</title>'
                f'<meta property="og:title" content="城市新闻第{i}号">'
                f'<meta property="article:published_time" content="2025-12-{day:02d}T08:00:00+08:00"></head>'
                f'<body><nav><a href="/">首页</a> <a href="/city/">城市</a></nav><article><h1>城市新闻第{i}号</h1>'
                f'{paras}</article><footer>© 示例</footer></body></html>', encoding="utf-8")
        if listed is None or i < listed:
            items.append(f"<item><title>城市新闻第{i}号</title><link>https://site.example/a/n{i}.html</link></item>")
    (root / "feed.xml").write_text('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>f'
                                   f'</title>{"".join(items)}</channel></rss>', encoding="utf-8")


CONFIG = """
[site]
title = "镜像"
base_url = "https://github.com/example/news/blob/main"

[fetch]
retries = 0
concurrency = 8
per_host = 8

[categories.city]
title = "城市"

[[sources]]
name = "city"
kind = "rss"
url = "{base}/feed.xml"
limit = 1000
category = "city"
"""


# Each run is a process of its own, killed with SIGKILL: forked from a server process that has imported the
# command line and the pipeline once (multiprocessing's forkserver), so that a run starts as an operator's does
# after its imports, and a dozen runs do not each spend ~0.6 s of CPU importing lxml, aiohttp and pydantic anew
RUNS = multiprocessing.get_context("forkserver")
RUNS.set_forkserver_preload(["tests.test_crash", "newsmirror.cli", "newsmirror.pipeline.mirror"])


def _run_process(cfg: str) -> None:
    """`newsmirror --config cfg -q run`, in the forked process: its output goes nowhere, its exit code is the run's."""
    from newsmirror.cli import main

    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.argv = ["newsmirror", "--config", cfg, "-q", "run"]
    main()


class Run:
    """A run in its own process: wait() as Popen's (TimeoutExpired when it is still running), kill() with SIGKILL."""

    def __init__(self, cfg: Path) -> None:
        self.proc = RUNS.Process(target=_run_process, args=(str(cfg),), daemon=False)  # (it has workers of its own)
        self.proc.start()

    def wait(self, timeout: float | None = None) -> int:
        self.proc.join(timeout)
        if self.proc.exitcode is None:
            raise subprocess.TimeoutExpired("newsmirror run", timeout or 0)
        return self.proc.exitcode

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join()


def start_run(cfg: Path) -> Run:
    return Run(cfg)


def tree(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".git" not in p.relative_to(root).parts:
            data = p.read_bytes()
            if p.suffix == ".md":
                data = re.sub(rb'"warc_record_id": "<urn:uuid:[0-9a-f-]+>"', b'"warc_record_id": "ID"', data)
            out[p.relative_to(root).as_posix()] = data
    return out


def check_consistent(folder: Path) -> None:
    out = folder / "mirror"
    if out.exists():
        leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp") and ".git" not in p.parts]
        assert leftovers == [], f"temp files in the output tree: {leftovers}"
        if (out / ".git" / "HEAD").exists() and subprocess.run(["git", "-C", str(out), "rev-parse", "HEAD"],
                                                               capture_output=True).returncode == 0:
            fsck = subprocess.run(["git", "-C", str(out), "fsck", "--no-progress"], capture_output=True, text=True)
            assert fsck.returncode == 0, fsck.stderr
    db = folder / "newsmirror.db"
    if db.exists():
        con = sqlite3.connect(db)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            con.close()


def test_sigkill_at_moments_all_over_a_run_then_a_run_finishes_the_same_tree(tmp_path):
    site = tmp_path / "site"
    make_site(site, N_ARTICLES)
    with SiteServer(site, ["https://site.example"]) as server:
        ref_dir, crash_dir = tmp_path / "ref", tmp_path / "crash"
        ref_dir.mkdir()
        crash_dir.mkdir()
        ref_cfg = write_config(ref_dir, CONFIG, base=server.base)
        crash_cfg = write_config(crash_dir, CONFIG, base=server.base)

        # the feed grows by a chunk per run, so every run has new work to be killed in the middle of; the reference
        # mirror's first run, of one chunk (startup, discovery, fetching, rendering, committing), sets the kill
        # moments: spread evenly from its start to its end, so each phase of a run gets its kills (a run that ends
        # before its moment is followed by one with the next chunk, at that moment or at 9/10 of the run that ended)
        chunk = N_ARTICLES // (2 * KILLS)
        make_site(site, N_ARTICLES, listed=chunk, pages=False)
        t0 = time.monotonic()
        assert start_run(ref_cfg).wait(timeout=300) == 0
        work = time.monotonic() - t0
        make_site(site, N_ARTICLES, pages=False)
        assert start_run(ref_cfg).wait(timeout=300) == 0
        reference = tree(ref_dir / "mirror")
        assert sum(1 for k in reference if k.startswith("pages/")) == 2 * N_ARTICLES  # page + QR each

        moments = [0.05 + (0.9 * work - 0.05) * i / (KILLS - 1) for i in range(KILLS)]
        kills = runs = 0
        while kills < KILLS and runs < 3 * KILLS:
            runs += 1
            make_site(site, N_ARTICLES, listed=min(N_ARTICLES, runs * chunk), pages=False)
            proc = start_run(crash_cfg)
            started = time.monotonic()
            try:
                proc.wait(timeout=moments[kills])
                # it ended first (runs are quicker now than the one measured): the next try is within its length
                moments[kills] = min(moments[kills], 0.9 * (time.monotonic() - started))
            except subprocess.TimeoutExpired:
                proc.kill()
                kills += 1
            check_consistent(crash_dir)
        assert kills == KILLS
        make_site(site, N_ARTICLES, pages=False)
        assert start_run(crash_cfg).wait(timeout=300) == 0
        check_consistent(crash_dir)
        assert tree(crash_dir / "mirror") == reference
        status = subprocess.run(["git", "-C", str(crash_dir / "mirror"), "status", "--porcelain"],
                                capture_output=True, text=True)
        assert status.stdout == ""  # everything the runs wrote is committed
        # and a further run has nothing to do
        head = subprocess.run(["git", "-C", str(crash_dir / "mirror"), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout
        assert start_run(crash_cfg).wait(timeout=300) == 0
        assert subprocess.run(["git", "-C", str(crash_dir / "mirror"), "rev-parse", "HEAD"], capture_output=True,
                              text=True).stdout == head


def test_a_run_finishes_the_repository_a_killed_git_init_left_half_made(tmp_path):
    """git init makes .git, then (in this order) the templates, refs/, HEAD (through HEAD.lock), config and
    objects/; git takes a .git without all of them for no repository, so a run killed during the first run's
    git init left every later run stopped at "not a git repository". Each state such a kill leaves is made
    here, and the next run must make a repository `git fsck` accepts, with the run's commit in it."""
    site = tmp_path / "site"
    make_site(site, 3)
    states = {"templates only": (["refs", "HEAD", "config", "objects"], None),
              "refs made": (["HEAD", "config", "objects"], None),
              "killed writing HEAD": (["HEAD", "config", "objects"], "HEAD.lock"),
              "all but objects": (["objects"], None)}
    with SiteServer(site, ["https://site.example"]) as server:
        for name, (missing, lock) in states.items():
            folder = tmp_path / name.replace(" ", "-")
            folder.mkdir()
            cfg = write_config(folder, CONFIG, base=server.base)
            git = folder / "mirror" / ".git"
            subprocess.run(["git", "init", "-q", "-b", "main", str(git.parent)], check=True)
            for part in missing:
                p = git / part
                shutil.rmtree(p) if p.is_dir() else p.unlink()
            if lock:
                (git / lock).write_text("ref: refs/heads/ma", encoding="utf-8")
            res = cli_run(cfg, "run")  # in this process: nothing is killed here, the states are made by hand
            assert res.exit_code == 0, (name, res.output)
            log = subprocess.run(["git", "-C", str(git.parent), "log", "--format=%s"], capture_output=True,
                                 text=True)
            assert log.stdout == "newsmirror: 3 new, 0 updated, 0 removed\n", (name, log.stderr)
            fsck = subprocess.run(["git", "-C", str(git.parent), "fsck", "--strict", "--no-progress"],
                                  capture_output=True, text=True)
            assert fsck.returncode == 0, (name, fsck.stderr)
