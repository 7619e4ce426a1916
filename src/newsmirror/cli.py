"""The `newsmirror` command line.

Exit codes: 0 all well, 1 some articles or sources failed (the rest were
mirrored), 2 usage or config error (or another run holds the lock).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__
from .config import Config, ConfigError, load_config
from .models import ADDED_SOURCE, RunReport
from .pipeline import Mirror, Progress, RunLocked
from .publish.git import GitError
from .render import DISPLAY_TZ
from .store import StoreError
from .textsafe import printable

log = logging.getLogger("newsmirror")
PKG = Path(__file__).parent


class _PrintableFormatter(logging.Formatter):
    """Log messages quote what servers and pages sent (a reason phrase, a title, a URL): their control characters
    are shown as escapes, so none can move the cursor, erase a line or forge one (tracebacks stay as they are)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = printable(record.message)
        return super().formatMessage(record)


def _setup_logging(verbose: int, quiet: int) -> None:
    level = logging.INFO - 10 * verbose + 10 * quiet
    root = logging.getLogger("newsmirror")
    root.handlers.clear()
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, markup=False, log_time_format="%H:%M:%S")
        handler.setFormatter(_PrintableFormatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PrintableFormatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(max(logging.DEBUG, min(level, logging.CRITICAL)))
    root.propagate = False


class _RichProgress(Progress):
    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RP

        self._p = RP(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                     transient=True)
        self._task: Any = None

    def start(self, label: str, total: int) -> None:
        self._p.start()
        self._task = self._p.add_task(label, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._p.advance(self._task, n)

    def stop(self) -> None:
        self._p.stop()


def _progress() -> Progress:
    return _RichProgress() if sys.stdout.isatty() else Progress()


CONFIG_ENV = "NEWSMIRROR_CONFIG"


def _state(ctx: click.Context) -> dict[str, Any]:
    state = ctx.find_root().ensure_object(dict)
    state.setdefault("verbose", 0)
    state.setdefault("quiet", 0)
    return state


def _set_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:  # given after the subcommand: it wins over the one before it, and over the environment
        _state(ctx)["config"] = value


def _more_log(key: str) -> Callable[[click.Context, click.Parameter, int], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: int) -> None:
        if value:
            state = _state(ctx)
            state[key] += value
            _setup_logging(state["verbose"], state["quiet"])
    return callback


def common_options(config: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--config`, `-v` and `-q` after a subcommand too (`newsmirror run --config x.toml -v`), as before it."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option("-q", "--quiet", count=True, expose_value=False, callback=_more_log("quiet"),
                          help="Fewer log lines.")(fn)
        fn = click.option("-v", "--verbose", count=True, expose_value=False, callback=_more_log("verbose"),
                          help="More log lines (-vv for debug).")(fn)
        if config:
            fn = click.option("--config", type=click.Path(dir_okay=False), expose_value=False, callback=_set_config,
                              help=f"The config file (default: ${CONFIG_ENV}, else ./newsmirror.toml).")(fn)
        return fn

    return decorate


def fail(msg: str, code: int = 2) -> None:
    click.echo(f"newsmirror: {msg}", err=True)
    sys.exit(code)


def _config(ctx: click.Context) -> Config:
    try:
        return load_config(ctx.obj["config"])
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)
INTERRUPT_GRACE = 1.5  # seconds a run has to unwind after Ctrl-C before it is ended where it stands


class _Interrupt:
    """Ctrl-C, for the whole command: one line saying what was kept, exit 130, within INTERRUPT_GRACE seconds.

    In a run (`_ctrl_c`), SIGINT raises KeyboardInterrupt where the run stands (asyncio's own handler would wait
    for the next await), so it unwinds through its `finally` blocks and commits what the store holds; a run that
    takes longer than the grace (a worker busy with a page, git at work) or a second Ctrl-C is ended at once. That
    is as safe as a kill, which a run survives by design (temp files renamed into place, the store's transactions,
    the next run's repairs). Outside a run there is nothing to keep: the command ends at once. Worker processes
    ignore SIGINT (see workers.py) and die with the run."""

    def __init__(self) -> None:
        self.mirror: Mirror | None = None
        self.in_run = False
        self.fired = False
        self.handled = threading.Event()
        self.before: int | None = None

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.on_sigint)
        previous = sys.unraisablehook

        def unraisable(info: Any) -> None:  # the interrupt landed where Python ignores exceptions (a callback)
            if not (self.fired and info.exc_type is KeyboardInterrupt):
                previous(info)

        sys.unraisablehook = unraisable

    def on_sigint(self, _sig: int, _frame: object) -> None:
        if self.fired or not self.in_run:
            os.write(2, (self.line(None) + "\n").encode())
            os._exit(INTERRUPTED)
        self.fired = True
        threading.Thread(target=self.hard_exit, daemon=True).start()
        raise KeyboardInterrupt

    def hard_exit(self) -> None:
        if not self.handled.wait(INTERRUPT_GRACE):
            os.write(2, (self.line(None) + "\n").encode())
            os._exit(INTERRUPTED)

    def line(self, saved: int | None) -> str:
        if not self.in_run:
            return "newsmirror: interrupted"
        kept = f"the {saved} article(s) saved in this run are kept" if saved else "what was saved so far is kept"
        return (f"newsmirror: interrupted: {kept} in the store; the next run finishes the work (fetches the rest, "
                "writes, commits and pushes what is not yet published)")

    def finish(self) -> None:
        logging.getLogger("asyncio").disabled = True  # its "Task exception was never retrieved" for the interrupt
        saved = None
        if self.mirror is not None and self.before is not None:
            try:
                saved = self.mirror.store.article_count() - self.before
            except sqlite3.Error:
                pass
        self.handled.set()
        click.echo(self.line(saved), err=True)
        sys.exit(INTERRUPTED)


_INTERRUPT = _Interrupt()


@contextmanager
def _ctrl_c(mirror: Mirror) -> Iterator[None]:
    """Run the block as the run that Ctrl-C interrupts (see _Interrupt)."""
    it = _INTERRUPT
    if signal.getsignal(signal.SIGINT) != it.on_sigint and threading.current_thread() is threading.main_thread():
        it.install()
    it.mirror, it.before, it.in_run = mirror, mirror.store.article_count(), True
    try:
        yield
    except KeyboardInterrupt:
        it.finish()
    if it.fired:  # the interrupt landed where Python swallows it, and the run went on to its end
        it.finish()
    it.in_run = False


def _with_mirror(ctx: click.Context, fn: Callable[[Mirror], int], lock: bool = True) -> None:
    cfg = _config(ctx)
    try:
        mirror = Mirror(cfg, _progress())
    except (StoreError, ConfigError) as exc:
        fail(str(exc))
    except OSError as exc:  # the store's folder cannot be made or written
        fail(f"cannot open the store: {' '.join(str(exc).split())[:300]}; check the path and its permissions", 1)
    try:
        if lock:
            mirror.lock()
        with _ctrl_c(mirror):
            code = fn(mirror)
    except RunLocked as exc:
        fail(str(exc))
    except BrokenProcessPool:
        fail("a worker process died (killed for lack of memory?); what was mirrored so far is kept, and the "
             "next run goes on from there: run again, or lower fetch.max_bytes or images.max_pixels", 1)
    except (OSError, GitError, sqlite3.Error) as exc:  # a full disk, a folder that cannot be written, git failing
        fail(f"stopped: {' '.join(str(exc).split())[:300]}; what was mirrored so far is kept: mend this and run "
             "again", 1)
    finally:
        mirror.close()
    sys.exit(code)


def _summary(report: RunReport) -> int:
    click.echo(
        f"{report.new} new, {report.updated} updated, {report.unchanged} unchanged, {report.duplicates} duplicates, "
        f"{report.removed} removed, {report.failed} failed, {report.source_errors} source errors"
        + (f", {report.deferred} left for the next run" if report.deferred else "")
        + (f"; images: {report.images} mirrored, {report.images_failed} failed (shown as their alt text, "
           f"tried again next run)" if report.images_failed else
           (f"; images: {report.images} mirrored" if report.images else ""))
        + (f"; {report.images_deferred} images left for the next run" if report.images_deferred else "")
        + (f"; revisits: {report.revisited} revisited, {report.edits} edited, {report.deletions} deletions confirmed, "
           f"{report.deletions_pending} deletions to confirm" + (f", {report.restored} back" if report.restored else "")
           if report.revisited else "")
        + ("; committed" if report.committed else "; nothing to commit")
        + (f"; pushed to {', '.join(report.pushed)}" if report.pushed else "")
        + (f"; push failed: {', '.join(n for n, _ in report.push_failures)}" if report.push_failures else "")
    )
    for what, reason in report.failures[:20]:
        click.echo(f"  failed: {printable(what)}: {printable(reason)}")
    if len(report.failures) > 20:
        click.echo(f"  … and {len(report.failures) - 20} more (newsmirror status lists them)")
    for name, reason in report.push_failures:
        click.echo(f"  remote {name}: {reason}")
    return 0 if report.ok else 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", default="newsmirror.toml", show_default=True, type=click.Path(dir_okay=False),
              envvar=CONFIG_ENV, show_envvar=True, help="The config file (also accepted after the subcommand).")
@click.option("-v", "--verbose", count=True, help="More log lines (-vv for debug).")
@click.option("-q", "--quiet", count=True, help="Fewer log lines.")
@click.version_option(__version__, prog_name="newsmirror")
@click.pass_context
def cli(ctx: click.Context, config: str, verbose: int, quiet: int) -> None:
    """Keep a censorship-resistant mirror of news sites."""
    state = ctx.ensure_object(dict)
    state.update(config=config, verbose=verbose, quiet=quiet)
    _setup_logging(verbose, quiet)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@common_options(config=False)
def init(directory: Path) -> None:
    """Write a commented starter newsmirror.toml and a copy of the templates into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    cfg = directory / "newsmirror.toml"
    if cfg.exists():
        fail(f"{cfg} exists already; edit it, or init another folder")
    shutil.copy(PKG / "starter.toml", cfg)
    tpl = directory / "templates"
    tpl.mkdir(exist_ok=True)
    for f in (PKG / "render" / "templates").iterdir():
        if f.is_file() and not (tpl / f.name).exists():
            shutil.copy(f, tpl / f.name)
    click.echo(f"wrote {cfg} and {tpl}/ (edit a template there to change the pages; delete it to use the default)")
    click.echo(f"next: edit the sources in {cfg}, then run: newsmirror --config {cfg} run")


@cli.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.pass_context
@common_options()
def run(ctx: click.Context, sources: tuple[str, ...]) -> None:
    """Discover, fetch, extract, render, index and commit what is new."""

    def go(m: Mirror) -> int:
        unknown = [s for s in sources if s not in {x.name for x in m.cfg.sources}]
        if unknown:
            fail(f"--source {unknown[0]!r}: no such source in {m.cfg.path}; use one of: "
                 + ", ".join(s.name for s in m.cfg.sources))
        return _summary(asyncio.run(m.run(sources or None)))

    _with_mirror(ctx, go)


@cli.command()
@click.argument("urls", nargs=-1, required=True)
@click.option("--category", "-c", help="The category for these articles (needed when there are several).")
@click.pass_context
@common_options()
def add(ctx: click.Context, urls: tuple[str, ...], category: str | None) -> None:
    """Mirror the given article URLs now, as editor's picks."""

    def go(m: Mirror) -> int:
        cats = list(m.cfg.categories)
        cat = category
        if cat is None:
            if len(cats) > 1:
                fail(f"--category is needed: one of {', '.join(cats)}")
            cat = cats[0]
        if cat not in m.cfg.categories:
            fail(f"--category {cat!r}: no such category; use one of: {', '.join(cats)}")
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            fail(f"{bad[0]!r} is not an http(s) URL")
        return _summary(asyncio.run(m.add(list(urls), cat)))

    _with_mirror(ctx, go)


@cli.command()
@click.option("--reextract", is_flag=True, help="Extract every article again from its WARC record first (no network).")
@click.pass_context
@common_options()
def build(ctx: click.Context, reextract: bool) -> None:
    """Re-render every page and index from the store (no network), and commit."""

    def go(m: Mirror) -> int:
        if reextract:
            return _summary(m.reextract())
        result, committed = m.rebuild()
        click.echo(f"{len(result.written)} files written, {len(result.removed)} removed"
                   + (f", {len(result.failed)} failed to render" if result.failed else "")
                   + ("; committed" if committed else "; nothing to commit"))
        for what, reason in result.failed[:20]:
            click.echo(f"  failed: {printable(what)}: {printable(reason)}")
        if len(result.failed) > 20:
            click.echo(f"  … and {len(result.failed) - 20} more")
        return 1 if result.failed else 0

    _with_mirror(ctx, go)


@cli.command()
@click.option("--since", help="The articles of the last span of time: 1d, 12h, 2w (default: 1d).")
@click.option("--from", "from_", metavar="DATE", help="The first day (YYYY-MM-DD, as the pages date articles).")
@click.option("--to", metavar="DATE", help="The last day (default: --from's day, or today).")
@click.option("--category", "-c", "categories", multiple=True, help="Only this category (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["epub", "html"]),
              help="epub (an e-book) or html (one self-contained file); default: from -o's suffix, else epub.")
@click.option("--variant", help="The script: zh-Hans or zh-Hant (default: the mirror's first).")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write.")
@click.pass_context
@common_options()
def digest(ctx: click.Context, since: str | None, from_: str | None, to: str | None, categories: tuple[str, ...],
           fmt: str | None, variant: str | None, output: Path) -> None:
    """Write the articles of a day (or a range) as one file to read with no network: EPUB or one-file HTML."""
    from .digest import DigestError, day_range, make_digest, parse_day, parse_since, select, since_range
    from .digest.select import check_categories
    from .fsutil import atomic_write
    from .store import now
    from .transform.script import VARIANTS

    def go(m: Mirror) -> int:
        try:
            if since and (from_ or to):
                raise DigestError("--since and --from/--to both given; use one")
            if from_ or to:
                last = parse_day(to, "--to") if to else now().astimezone(DISPLAY_TZ).date()
                rng = day_range(parse_day(from_, "--from") if from_ else last, last)
            else:
                rng = since_range(parse_since(since or "1d"))
            cats = check_categories(m.cfg, list(categories))
        except DigestError as exc:
            fail(str(exc))
        if variant is not None and variant not in VARIANTS:
            fail(f"--variant {variant!r}: not a script; use one of: {', '.join(VARIANTS)}")
        form = fmt or ("html" if output.suffix.lower() in (".html", ".htm") else "epub")
        script = variant or (m.cfg.site.variants[0] if m.cfg.site.variants else None)
        articles = select(m.store, m.cfg, rng, cats)
        if not articles:
            click.echo(f"no articles between {rng.label.replace(' – ', ' and ')}"
                       + (f" in {', '.join(cats)}" if cats else "") + "; nothing written")
            return 0
        data, content = make_digest(m.cfg, m.store, m.out, articles, rng, script, form)
        try:
            atomic_write(output.resolve(), data)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}; check the folder and its permissions", 1)
        size = f"{len(data) / 1_000_000:.1f} MB" if len(data) >= 1_000_000 else f"{len(data) / 1000:.0f} KB"
        click.echo(f"wrote {output} ({form}, {content.count} articles, {size})"
                   + (f"; {len(content.left_out)} past the size cap (digest.max_bytes) listed by title and link"
                      if content.left_out else ""))
        return 0

    _with_mirror(ctx, go, lock=False)


@cli.command()
@click.option("--remote", "remotes", multiple=True, help="Only this remote (repeatable).")
@click.pass_context
@common_options()
def publish(ctx: click.Context, remotes: tuple[str, ...]) -> None:
    """Push the mirror's repository to every [[remotes]] entry, each on its own (exit 1 if any failed)."""

    def go(m: Mirror) -> int:
        names = [r.name for r in m.cfg.remotes]
        if not names:
            fail(f"no [[remotes]] in {m.cfg.path}; add one, e.g. [[remotes]] name = \"github\" "
                 f"url = \"git@github.com:you/mirror.git\"")
        unknown = [r for r in remotes if r not in names]
        if unknown:
            fail(f"--remote {unknown[0]!r}: no such remote in {m.cfg.path}; use one of: {', '.join(names)}")
        report = RunReport()
        m.publish(report, remotes or None)
        for name in report.pushed:
            click.echo(f"{name}: ok")
        for name, reason in report.push_failures:
            click.echo(f"{name}: FAILED: {reason}")
        return 0 if report.ok else 1

    _with_mirror(ctx, go)


@cli.command()
@click.pass_context
@common_options()
def status(ctx: click.Context) -> None:
    """Per source: articles, last run, failures and their reasons."""

    def go(m: Mirror) -> int:
        from rich.console import Console
        from rich.table import Table

        store = m.store
        ran = store.sources()
        counts = store.url_counts()
        arts: dict[str, int] = {}
        for a in store.articles(with_body=False):
            arts[a.source] = arts.get(a.source, 0) + 1
        tty = sys.stdout.isatty()
        # cron mail and pipes get every character: no column is cut to a terminal's width
        console = Console(soft_wrap=not tty, width=None if tty else 100_000)
        table = Table(title=f"{m.cfg.site.title} — {m.cfg.output_dir}", box=None)
        for col in ("source", "kind", "articles", "failed", "gave up", "last run", "last error"):
            table.add_column(col, overflow="fold")
        added = ADDED_SOURCE in arts or any(src == ADDED_SOURCE for src, _ in counts)
        names = [s.name for s in m.cfg.sources] + ([ADDED_SOURCE] if added else [])
        for name in names:
            row = ran.get(name)
            kind = row["kind"] if row else ("add" if name == ADDED_SOURCE else "-")
            table.add_row(name, kind, str(arts.get(name, 0)), str(counts.get((name, "failed"), 0)),
                          str(counts.get((name, "gave_up"), 0)), (row["last_run"] if row else None) or "never",
                          printable((row["last_error"] if row else None) or ""))
        console.print(table)
        n_failed = sum(n for (_, st), n in counts.items() if st in ("failed", "gave_up"))
        fails = store.failures(limit=50)
        if fails:
            console.print("\nfailures (newest first):")
            for r in fails:
                console.print(f"  {r['source']}: {printable(r['url'])}\n    {r['status']} after {r['attempts']} "
                              f"attempt(s): {printable(r['reason'])}", markup=False)
            _and_more(console, n_failed - len(fails))
        images = store.image_counts()
        if images:
            console.print(f"\nimages: {images.get('ok', 0)} mirrored, {images.get('failed', 0)} failed")
            shown = store.image_failures(limit=20)
            for r in shown:
                console.print(f"  {printable(r['url'])}\n    failed {r['attempts']} time(s): {printable(r['reason'])}",
                              markup=False)
            _and_more(console, images.get("failed", 0) - len(shown))
        _remote_status(console, m)
        revisits = store.revisit_counts()
        if revisits:
            console.print("\nrevisits (per source):")
            for name, c in sorted(revisits.items()):
                console.print(f"  {name}: {c['revisits']} revisits, {c['edits']} edits found, "
                              f"{c['deleted']} deleted at source, {c['pending']} deletions to confirm", markup=False)
        warned = store.warnings(limit=20)
        if warned:
            console.print("\nwarnings:")
            for r in warned:
                console.print(f"  {r['source']}: {printable(r['url'])}\n    {printable(r['reason'])}", markup=False)
            _and_more(console, store.warning_count() - len(warned))
        return 0

    _with_mirror(ctx, go, lock=False)


def _and_more(console: Any, more: int) -> None:
    if more > 0:
        console.print(f"  … and {more} more", markup=False)


def _remote_status(console: Any, m: Mirror) -> None:
    from .publish.remotes import is_current
    from .redact import redact

    if not m.cfg.remotes:
        return
    known = m.store.remotes()
    console.print("\nremotes:")
    for r in m.cfg.remotes:
        row = known.get(r.name)
        mode = "squashed" if r.squash else "history"
        where = f"{r.name} ({redact(r.url)}, branch {r.branch or 'main'}, {mode})"
        if row is None:
            state = "never pushed"
        elif row["error"]:
            state = f"FAILING since {row['failed_since']} ({row['failures']} time(s)): {printable(row['error'])}"
        elif (m.out / ".git").exists() and is_current(m.out, row["pushed_commit"]):
            state = f"up to date, pushed {row['pushed_at']}"
        else:
            state = f"behind: last pushed {row['pushed_at']}"
        console.print(f"  {where}\n    {state}", markup=False)


@cli.command()
@click.option("--dir", "directory", default="newsmirror-demo", show_default=True, type=click.Path(path_type=Path),
              help="Where the demo mirror and its config go.")
@click.option("--port", default=8765, show_default=True, help="Port of the demo site on 127.0.0.1 (0: any).")
@click.option("--day", default=1, show_default=True, type=click.IntRange(1, 2),
              help="2: the site a day later, one article edited and one deleted; the mirror revisits them (two "
                   "checks an hour apart, in simulated time) and shows both.")
@common_options(config=False)
def demo(directory: Path, port: int, day: int) -> None:
    """Serve the bundled demo news site on 127.0.0.1 and mirror it into --dir."""
    from .config import parse_config
    from .demo.server import DAY2_ROUTES, SiteServer

    try:
        server = SiteServer(port=port)
    except OSError:
        server = SiteServer(port=0)
        log.warning("port %d is busy; the demo site uses port %d", port, server.port)
    with server:
        directory.mkdir(parents=True, exist_ok=True)
        cfg_path = directory / "newsmirror.toml"
        text = (PKG / "demo" / "newsmirror.toml").read_text(encoding="utf-8").replace("{base}", server.base)
        cfg_path.write_text(text, encoding="utf-8")
        cfg = parse_config(text, cfg_path)
        click.echo(f"demo site: {server.base}/gb/prog204/feed.xml and {server.base}/news/culture/index.html")
        mirror = Mirror(cfg, _progress())
        try:
            mirror.lock()
            with _ctrl_c(mirror):
                code = 0
                if day == 1 or mirror.store.article_count() == 0:  # day 2 starts from day 1's mirror
                    code = _summary(asyncio.run(mirror.run()))
                if day == 2:
                    server.routes.update(DAY2_ROUTES)
                    code = max(code, _demo_day2(mirror))
        except RunLocked as exc:
            fail(str(exc))
        finally:
            mirror.close()
    out = cfg.output_dir
    click.echo(f"\nthe mirror (a git repository): {out}")
    click.echo(f"  home page:  {out / 'README.md'}")
    pages = sorted((out / "pages").rglob("*.md")) if (out / "pages").exists() else []
    for p in pages:
        click.echo(f"  page:       {p}")
    revisits = out / "indexes" / "revisits"
    for name, label in (("edited.md", "edited:    "), ("deleted.md", "deleted:   ")):
        if (revisits / name).is_file():
            click.echo(f"  {label} {revisits / name}")
    click.echo(f"  history:    git -C {out} log --stat")
    click.echo(f"  config:     {cfg_path}  (run `newsmirror --config {cfg_path} status`)")
    sys.exit(code)


def _demo_day2(mirror: Mirror) -> int:
    """The demo's second day: revisit a day later, when one article was edited and another deleted, then an hour
    later again, the check that confirms the deletion. The clock is moved, not waited for."""
    from datetime import timedelta

    from .store import now

    code = 0
    for later in (timedelta(days=1), timedelta(days=1, hours=1, minutes=1)):
        mirror.clock = lambda later=later: now() + later
        click.echo(f"day 2: revisiting as at {mirror.clock():%Y-%m-%d %H:%M} UTC")
        code = max(code, _summary(asyncio.run(mirror.run())))
    return code


@cli.group()
def counter() -> None:
    """The view counter behind the pages' pixel (counter_url), and the numbers for the hot list."""


@counter.command("serve")
@click.option("--db", "db", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The SQLite file of counts (made if missing).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--dedupe-window", default=1800.0, show_default=True, type=click.FloatRange(0),
              help="Seconds in which one client's repeat views of a page count once (0: count every view).")
@click.option("--rate-limit", default=120, show_default=True, type=click.IntRange(0),
              help="Requests a minute one client may make (0: no limit).")
@click.option("--flush-interval", default=2.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between two writes of the counts.")
@click.option("--prefix", default="/", show_default=True,
              help="The part of the pixel's path before the page path (counter_url = https://host/PREFIX{path}).")
@click.option("--mirror", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The mirror's output tree: only its pages are counted (read again every minute).")
@click.option("--forwarded", is_flag=True,
              help="Behind a reverse proxy: the client is the last X-Forwarded-For address (the one it added).")
@common_options(config=False)
def counter_serve(db: Path, host: str, port: int, dedupe_window: float, rate_limit: int, flush_interval: float,
                  prefix: str, mirror: Path | None, forwarded: bool) -> None:
    """Count page views: GET /<page path> answers a 1×1 GIF; GET /stats.json?days=7&limit=50 lists the top pages.

    No address, user agent or referrer is stored or logged."""
    from .counter.db import CounterDBError
    from .counter.service import Settings, serve

    if not prefix.startswith("/") or not prefix.endswith("/"):
        fail(f"--prefix {prefix!r}: begin and end it with /, e.g. /goodnews/")
    try:
        serve(Settings(db=db, dedupe_window=dedupe_window, rate_limit=rate_limit, flush_interval=flush_interval,
                       prefix=prefix, mirror=mirror, forwarded=forwarded), host=host, port=port)
    except CounterDBError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another --port")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@common_options(config=False)
def keygen(path: Path) -> None:
    """Make an Ed25519 key pair for signing the mirror (OpenSSH formats): PATH (private, keep it) and PATH.pub
    (publish it)."""
    from .publish.manifest import SigningError
    from .publish.manifest import keygen as make_key

    try:
        priv, pub, fp = make_key(path)
    except (SigningError, OSError) as exc:
        fail(str(exc))
    click.echo(f"wrote {priv} (private: keep it off the published repo) and {pub} (public)")
    click.echo(f"fingerprint: {fp}")
    click.echo(f'next: add to newsmirror.toml:  [signing]  key = "{priv}"')


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--pubkey", help="The operator's public key (ssh-ed25519 AAAA…, or base64, or a .pub file), trusted for "
                               "this check.")
@click.option("--trust", metavar="FINGERPRINT",
              help="Pin the key with this fingerprint (check it out of band, not from this copy): if the copy's "
                   "signature verifies with it, it is trusted from now on without --pubkey.")
@click.option("--max-age", "max_age", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="Refuse a copy signed more than DAYS days ago (the mirror signs when its content changes).")
@common_options(config=False)
def verify(directory: Path, pubkey: str | None, trust: str | None, max_age: float | None) -> None:
    """Check a clone or downloaded copy of a mirror against its signed manifest.json.

    Trusted: only a key you give (--pubkey) or pinned earlier (--trust FINGERPRINT, kept in
    $XDG_CONFIG_HOME/newsmirror/trusted.json, else ~/.config/newsmirror/trusted.json), never the key a copy
    names. Refused (exit 1): a signature by an unknown key (valid or not), a copy older than one seen for that
    key (a lower serial: a stale or replayed copy), one signed more than --max-age days ago, and any file
    added, changed, missing or not a regular file. Exit 0 when all is well, 2 for a bad option or trust store.
    """
    from .publish.manifest import verify as check
    from .publish.trust import TrustStore, TrustStoreError, normalize_fingerprint

    if trust and normalize_fingerprint(trust) is None:
        fail(f"--trust {printable(trust)}: not a key fingerprint; give the 32 hex digits the operator publishes "
             "(abcd:ef01:… as `verify` and the mirror's home page show them)")
    try:
        store = TrustStore()
    except TrustStoreError as exc:
        fail(printable(exc))
    v = check(directory, pubkey, trust=trust, max_age_days=max_age, store=store,
              label=directory.resolve().name)
    fp = printable(v.fingerprint)
    if v.signature != "ok":
        click.echo(f"signature: {printable(v.signature)}")
    elif v.trusted:
        click.echo(f"signature: ok (key fingerprint {fp}, {v.trusted})")
    else:
        click.echo(f"signature: valid for an UNKNOWN key {fp}: pin it with --trust {fp} after checking the "
                   "fingerprint out of band (from the operator, not from this copy)")
    if v.signature == "ok":
        when = f"signed {printable(v.signed_at)}" if v.signed_at else "no signing time"
        click.echo(f"{when}, serial {v.serial}" if v.serial is not None else
                   f"{when}, no serial (made by an older version)")
    for label, paths in (("added", v.added), ("changed", v.changed), ("missing", v.missing)):
        for p in paths:
            click.echo(f"  {label}: {printable(p)}")
    for p, kind in v.special.items():
        click.echo(f"  unexpected: {printable(p)} ({printable(kind)}: not checked, never read)")
    for reason in v.refused:
        click.echo(f"refused: {printable(reason)}")
    if store.changed:
        try:
            store.save()
        except TrustStoreError as exc:
            if v.pinned:
                fail(printable(exc))
            click.echo(f"warning: {printable(exc)} (the serial seen was not recorded)", err=True)
        else:
            if v.pinned:
                click.echo(f"pinned: key {fp} in {printable(store.path)}")
    if v.ok:
        click.echo("ok: every file is as signed")
        sys.exit(0)
    counts = f"{len(v.added)} added, {len(v.changed)} changed, {len(v.missing)} missing"
    counts += f", {len(v.special)} unexpected" if v.special else ""
    why = [counts] + (["the key is not trusted"] if v.signature == "ok" and not v.trusted else []) + \
        (["refused"] if v.refused else [])
    click.echo("NOT OK: " + "; ".join(why))
    sys.exit(1)


@cli.command("extract")
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option("--url", help="The address a saved file came from (resolves its relative links).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "jsonl"]), default="text",
              show_default=True)
@common_options(config=False)
def extract_command(inputs: tuple[str, ...], url: str | None, fmt: str) -> None:
    """Run the mirror's extractor on saved pages (.html or .html.gz) or URLs.

    One result per input, in input order; a bad input gets an error and the rest go on.
    Exit 1 when any input could not be read or fetched.
    """
    from .config import Fetch
    from .extract_cmd import load_inputs, render, result

    results = [result(src) for src in load_inputs(list(inputs), url, Fetch())]
    click.echo(render(results, fmt), nl=False)
    sys.exit(1 if any(r["error"] for r in results) else 0)


def main() -> None:
    _INTERRUPT.install()
    cli(prog_name="newsmirror")


if __name__ == "__main__":
    main()
