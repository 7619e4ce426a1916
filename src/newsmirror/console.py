"""What the commands share: logging and progress bars, the --config/-v/-q options, the config, the run lock,
Ctrl-C, and the one-line summary of a run with its exit code."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from .models import RunReport
from .textsafe import printable

if TYPE_CHECKING:
    from .config import Config
    from .pipeline import Mirror, Progress

# The pipeline (and the config model, the fetcher, lxml) is imported by the commands that run it, not here: a
# command that needs none of it (counter serve, verify, keygen, --help) starts in half the time

log = logging.getLogger("newsmirror")


class _PrintableFormatter(logging.Formatter):
    """Log messages quote what servers and pages sent (a reason phrase, a title, a URL): their control characters
    are shown as escapes, so none can move the cursor, erase a line or forge one (tracebacks stay as they are)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = printable(record.message)
        return super().formatMessage(record)


def setup_logging(verbose: int, quiet: int) -> None:
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


def progress_bars() -> Progress:
    """The run's progress: Rich's bars on a terminal, nothing otherwise."""
    from .pipeline import Progress

    if not sys.stdout.isatty():
        return Progress()

    class RichProgress(Progress):
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

    return RichProgress()


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
            setup_logging(state["verbose"], state["quiet"])
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
    from .config import ConfigError, load_config

    try:
        return load_config(ctx.obj["config"])
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


INTERRUPTED = 130  # the shell's code for a command ended by Ctrl-C (128 + SIGINT)
INTERRUPT_GRACE = 1.5  # seconds a run has to unwind after Ctrl-C before it is ended where it stands


class _Interrupt:
    """Ctrl-C, for the whole command: one line saying what was kept, exit 130, within INTERRUPT_GRACE seconds.

    In a run (`ctrl_c`), SIGINT first commits the articles the store holds in its open group (Store.commit_now),
    then raises KeyboardInterrupt where the run stands (asyncio's own handler would wait for the next await), so it
    unwinds through its `finally` blocks; a run that takes longer than the grace (a worker busy with a page, git at
    work, an interrupt that landed where Python swallows it) or a second Ctrl-C is ended at once, its line counting
    what another reader of the store sees committed. That is as safe as a kill, which a run survives by design
    (temp files renamed into place, the store's transactions, the next run's repairs). Outside a run there is
    nothing to keep: the command ends at once. Worker processes ignore SIGINT (see workers.py) and die with the
    run."""

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
            self.end_now()
        self.fired = True
        if self.mirror is not None:  # what the store holds is committed now, whatever the unwind does next
            self.mirror.store.commit_now()
        threading.Thread(target=self.hard_exit, daemon=True).start()
        raise KeyboardInterrupt

    def hard_exit(self) -> None:
        if not self.handled.wait(INTERRUPT_GRACE):
            self.end_now()

    def end_now(self) -> None:
        """End the process where it stands, saying what the store has committed (any thread may call it)."""
        saved = None
        if self.in_run and self.mirror is not None and self.before is not None:
            committed = self.mirror.store.committed_article_count()
            saved = None if committed is None else committed - self.before
        os.write(2, (self.line(saved) + "\n").encode())
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


INTERRUPT = _Interrupt()


@contextmanager
def ctrl_c(mirror: Mirror) -> Iterator[None]:
    """Run the block as the run that Ctrl-C interrupts (see _Interrupt)."""
    it = INTERRUPT
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


def with_mirror(ctx: click.Context, fn: Callable[[Mirror], int], lock: bool = True) -> None:
    from .config import ConfigError
    from .errors import ClusterLost
    from .pipeline import Mirror, RunLocked
    from .publish.git import GitError
    from .store import StoreError
    from .workers import EngineUnavailable

    cfg = _config(ctx)
    try:
        mirror = Mirror(cfg, progress_bars())
    except (StoreError, ConfigError) as exc:
        fail(str(exc))
    except OSError as exc:  # the store's folder cannot be made or written
        fail(f"cannot open the store: {' '.join(str(exc).split())[:300]}; check the path and its permissions", 1)
    try:
        if lock:
            mirror.lock()
        with ctrl_c(mirror):
            code = fn(mirror)
    except (RunLocked, EngineUnavailable) as exc:  # EngineUnavailable: a scheduler that does not answer
        fail(str(exc))
    except StoreError as exc:  # a row of the store that cannot be read (what was done before it is kept)
        fail(str(exc), 1)
    except ClusterLost as exc:  # the Dask scheduler gone mid-run, or a page that killed its workers
        fail(str(exc), 1)
    except BrokenProcessPool:
        fail("a worker process died (killed for lack of memory?); what was mirrored so far is kept, and the "
             "next run goes on from there: run again, or lower fetch.max_bytes or images.max_pixels", 1)
    except (OSError, GitError, sqlite3.Error) as exc:  # a full disk, a folder that cannot be written, git failing
        fail(f"stopped: {' '.join(str(exc).split())[:300]}; what was mirrored so far is kept: mend this and run "
             "again", 1)
    finally:
        mirror.close()
    sys.exit(code)


def summary(report: RunReport) -> int:
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
