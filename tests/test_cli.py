"""The command line as people type it: options before or after the subcommand, Ctrl-C, status in cron mail."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import threading

import pytest
from aiohttp import web
from click.testing import CliRunner

from newsmirror.cli import cli
from newsmirror.counter.db import CounterDB
from newsmirror.models import ADDED_SOURCE
from newsmirror.store import Store

from .conftest import FAST_FETCH, SEED_PATH, ServeApp, feeds_config, minimal_config


def invoke(*args: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


# -- --config, -v, -q where people put them ------------------------------------------------------------

def test_config_and_log_options_go_before_or_after_the_subcommand_or_in_the_environment(demo_server, tmp_path):
    cfg = minimal_config(tmp_path, demo_server.base, extra=FAST_FETCH, feed="/gb/prog204/feed.xml")
    path = str(cfg.path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)  # no ./newsmirror.toml here: each form below must find the config it is given
    for args, env in (
        (["run", "--config", path, "-q"], None),              # as people type it
        (["--config", path, "run"], None),                    # the old form keeps working
        (["status", "-v", "--config", path], None),
        (["status"], {"NEWSMIRROR_CONFIG": path}),
        (["--config", "nope.toml", "status", "--config", path], None),  # the one after the subcommand wins
    ):
        res = invoke(*args, env=env)
        assert res.exit_code == 0, (args, res.output)
    assert (cfg.output_dir / "README.md").is_file()
    missing = invoke("status")
    assert missing.exit_code == 2 and "newsmirror.toml" in missing.output


# -- status where no terminal reads it (cron mail) ------------------------------------------------------

def test_status_never_cuts_a_line_when_not_on_a_terminal_and_says_how_many_more(tmp_path):
    cfg = minimal_config(tmp_path, "http://127.0.0.1:9")
    store = Store(cfg.store_path)
    error = "the feed answered HTTP 503 Service Unavailable " + "and went on explaining at length " * 6 + "END"
    store.source_ran("ntd-intl", "rss", error)
    for i in range(57):
        store.mark_url(f"http://127.0.0.1:9/a/{i}.html", "ntd-intl", "failed", reason=f"reason number {i} END")
    last_run = store.sources()["ntd-intl"]["last_run"]
    store.close()
    res = invoke("--config", str(cfg.path), "status")
    assert res.exit_code == 0, res.output
    assert last_run in res.output and len(last_run) >= 19  # the whole timestamp, seconds included
    assert error in res.output  # the whole error, on one line
    assert res.output.count("END") == 1 + 50
    assert "… and 7 more" in res.output


# -- add: its own source, never a configured one ---------------------------------------------------------

def test_add_files_its_articles_apart_from_a_configured_source_named_picks(ntd_server, tmp_path):
    (tmp_path / "picks.txt").write_text("", encoding="utf-8")
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH + """
        [[sources]]
        name = "picks"
        kind = "urls"
        path = "picks.txt"
        category = "intl"
        """)
    res = invoke("--config", str(cfg.path), "add", f"{ntd_server.base}{SEED_PATH}", "--category", "intl")
    assert res.exit_code == 0, res.output
    store = Store(cfg.store_path)
    assert {a.source for a in store.articles()} == {ADDED_SOURCE}
    store.close()
    status = invoke("--config", str(cfg.path), "status").output
    rows = {line.split()[0]: line.split() for line in status.splitlines() if line.strip()}
    assert rows["picks"][2] == "0" and rows[ADDED_SOURCE][2] == "1"  # two rows, the article in one
    page = (cfg.output_dir / "pages/intl/a103612902.md").read_text(encoding="utf-8")
    assert "来源 编辑推荐" in page  # readers see the site's picks label, not an internal name


def test_articles_older_versions_added_under_picks_move_to_the_add_source(ntd_server, tmp_path):
    cfg = minimal_config(tmp_path, ntd_server.base, extra=FAST_FETCH)
    assert invoke("--config", str(cfg.path), "add", f"{ntd_server.base}{SEED_PATH}").exit_code == 0
    db = sqlite3.connect(cfg.store_path)  # as an older version left it
    with db:
        db.execute("UPDATE articles SET source='picks'")
        db.execute("UPDATE urls SET source='picks'")
        db.execute("DELETE FROM meta WHERE key='added_source'")
    db.close()
    status = invoke("--config", str(cfg.path), "status").output
    assert ADDED_SOURCE in status and "\npicks" not in status
    store = Store(cfg.store_path)
    assert {a.source for a in store.articles()} == {ADDED_SOURCE}
    store.close()


# -- the hot list with a counter that has counted nothing yet ---------------------------------------------

def test_the_hot_list_says_no_views_counted_yet_when_the_counter_has_no_finished_day(demo_server, tmp_path):
    CounterDB(tmp_path / "views.db").close()  # a counter that started today
    cfg = minimal_config(tmp_path, demo_server.base, extra_site='counter_stats = "views.db"\n', extra=FAST_FETCH,
                         feed="/gb/prog204/feed.xml")
    assert invoke("--config", str(cfg.path), "run").exit_code == 0
    hot = (cfg.output_dir / "indexes/hot.md").read_text(encoding="utf-8")
    assert "no views counted yet" in hot and "no view counts configured" not in hot


# -- Ctrl-C --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("grace", [None, 0], ids=["unwound", "ended-where-it-stood"])
def test_ctrl_c_says_what_was_kept_exits_130_and_the_next_run_finishes(tmp_path, grace):
    """Ctrl-C in a terminal reaches the whole process group (the run, its workers, git): one line, exit 130.
    With no grace the run is ended where it stands, as one that does not unwind in time (a loaded machine, an
    interrupt that Python swallowed): the articles it saved are still kept, and the line still counts them."""
    hold = threading.Event()
    asked = threading.Event()
    n_articles = 6

    async def feed(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        items = "".join(f"<item><title>t{i}</title><link>{base}/a/{i}.html</link></item>" for i in range(n_articles))
        return web.Response(text=f"<rss version='2.0'><channel><title>f</title>{items}</channel></rss>",
                            content_type="application/rss+xml")

    async def article(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        if i == n_articles - 1 and not hold.is_set():  # the last one hangs until the test lets it go
            asked.set()
            while not hold.is_set():
                await asyncio.sleep(0.05)
        body = "".join(f"<p>第{i}篇文章的第{k}段，内容足够长，用来让提取器认出这是正文而不是导航或者广告。</p>"
                       for k in range(8))
        return web.Response(text=f"<html><head><title>标题{i}</title></head><body><article><h1>标题{i}</h1>"
                                 f"{body}</article></body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/a/{i}.html", article)
    with ServeApp(app) as base:
        path = feeds_config(tmp_path, {"s": f"{base}/feed.xml"}, "obey_robots = false\n", """
            [fetch]
            per_host = 8
            concurrency = 8
            read_timeout = 300
            total_timeout = 600
            """)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSMIRROR")}
        cmd = ["-m", "newsmirror"] if grace is None else ["-c", "import newsmirror.console as c; "
                                                          f"c.INTERRUPT_GRACE = {grace}; import newsmirror.__main__"]
        proc = subprocess.Popen([sys.executable, *cmd, "--config", str(path), "run"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                start_new_session=True)
        err_lines: list[str] = []
        saved = threading.Event()

        def read_log() -> None:  # the run logs "new URL → page" as it saves each article
            for line in proc.stderr:  # type: ignore[union-attr]
                err_lines.append(line)
                if sum(" new http" in ln for ln in err_lines) >= n_articles - 1:
                    saved.set()

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        try:
            assert asked.wait(120), "the run never asked for the last article"
            assert saved.wait(120), "the other articles were never saved: " + "".join(err_lines)
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            proc.wait(timeout=60)
            reader.join(30)
        finally:
            hold.set()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        err = "".join(err_lines)
        assert proc.returncode == 130, (proc.returncode, err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert "Traceback" not in err and "Aborted" not in err, err
        assert lines[-1].startswith("newsmirror: interrupted:") and "next run" in lines[-1], err
        assert f"the {n_articles - 1} article(s) saved in this run are kept" in lines[-1], err
        with sqlite3.connect(tmp_path / "newsmirror.db") as con:  # and they are
            assert con.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == n_articles - 1
        # the next run finishes the work: every article in the tree, committed
        nxt = subprocess.run([sys.executable, "-m", "newsmirror", "--config", str(path), "-q", "run"],
                             capture_output=True, text=True, env=env, timeout=300)
        assert nxt.returncode == 0, nxt.stdout + nxt.stderr
    pages = sorted(p.name for p in (tmp_path / "mirror/pages/intl").glob("*.md"))
    assert len(pages) == n_articles, pages
    tracked = subprocess.run(["git", "-C", str(tmp_path / "mirror"), "ls-files", "pages"], capture_output=True,
                             text=True).stdout.split()
    assert len([p for p in tracked if p.endswith(".md")]) == n_articles


def test_the_command_line_starts_without_the_pipeline():
    """`newsmirror --help`, `verify`, `keygen` and `counter serve` need none of the pipeline: loading the command
    line loads neither it nor lxml, aiohttp or pydantic (a reader checking a copy; a counter its service manager
    restarts), and the commands that run it import it themselves."""
    heavy = ("import sys, newsmirror.cli; print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('lxml', 'aiohttp', 'pydantic', 'nh3') or m.startswith(('newsmirror.pipeline', 'newsmirror.config')))))")
    res = subprocess.run([sys.executable, "-c", heavy], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout + res.stderr


# -- a damaged store mid-build ---------------------------------------------------------------------------------

def test_build_over_a_store_with_a_damaged_body_ends_with_one_line_naming_it(tmp_path):
    from newsmirror.models import Article

    cfg = minimal_config(tmp_path, "http://127.0.0.1:9")
    store = Store(cfg.store_path)
    store.save_article(Article(url="http://127.0.0.1:9/a1.html", canonical_url="http://127.0.0.1:9/a1.html",
                               title="标题", id="a1", body_html="<p>正文</p>", category="intl", source="ntd-intl"),
                       "h1", False)
    store.db.execute("UPDATE articles SET body_html=? WHERE id='a1'", (b"x\x9c not zlib",))
    store.close()
    res = CliRunner().invoke(cli, ["--config", str(cfg.path), "build"])
    assert res.exit_code == 1, res.output
    assert "the body of article a1 cannot be read" in res.output and "restore it from a backup" in res.output
    assert "Traceback" not in res.output and res.output.strip().count("\n") == 0
