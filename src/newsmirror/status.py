"""`newsmirror status`: per source, articles, last run, failures and why; images, remotes and warnings."""

from __future__ import annotations

import sys
from typing import Any

from .pipeline import Mirror
from .textsafe import printable


def show_status(m: Mirror) -> int:
    """Print the status of the mirror `m` (read only: no lock needed); the exit code (0)."""
    from rich.console import Console
    from rich.table import Table

    run = m.store.summary([s.name for s in m.cfg.sources])
    tty = sys.stdout.isatty()
    # cron mail and pipes get every character: no column is cut to a terminal's width
    console = Console(soft_wrap=not tty, width=None if tty else 100_000)
    table = Table(title=f"{m.cfg.site.title} — {m.cfg.output_dir}", box=None)
    for col in ("source", "kind", "articles", "failed", "gave up", "last run", "last error"):
        table.add_column(col, overflow="fold")
    for src in run.sources:
        table.add_row(src.name, src.kind or "-", str(src.articles), str(src.failed), str(src.gave_up),
                      src.last_run or "never", printable(src.last_error or ""))
    console.print(table)
    if run.failures:
        console.print("\nfailures (newest first):")
        for f in run.failures:
            console.print(f"  {f.source}: {printable(f.url)}\n    {f.status} after {f.attempts} "
                          f"attempt(s): {printable(f.reason or '')}", markup=False)
        _and_more(console, run.failures_total - len(run.failures))
    if run.images_ok or run.images_failed:
        console.print(f"\nimages: {run.images_ok} mirrored, {run.images_failed} failed")
        for f in run.image_failures:
            console.print(f"  {printable(f.url)}\n    failed {f.attempts} time(s): {printable(f.reason or '')}",
                          markup=False)
        _and_more(console, run.images_failed - len(run.image_failures))
    _remote_status(console, m)
    if run.revisits:
        console.print("\nrevisits (per source):")
        for name, c in sorted(run.revisits.items()):
            console.print(f"  {name}: {c.revisits} revisits, {c.edits} edits found, "
                          f"{c.deleted} deleted at source, {c.pending} deletions to confirm", markup=False)
    if run.warnings:
        console.print("\nwarnings:")
        for w in run.warnings:
            console.print(f"  {w.source}: {printable(w.url)}\n    {printable(w.reason or '')}", markup=False)
        _and_more(console, run.warnings_total - len(run.warnings))
    return 0


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
        elif row.error:
            state = f"FAILING since {row.failed_since} ({row.failures} time(s)): {printable(row.error)}"
        elif (m.out / ".git").exists() and is_current(m.out, row.pushed_commit):
            state = f"up to date, pushed {row.pushed_at}"
        else:
            state = f"behind: last pushed {row.pushed_at}"
        console.print(f"  {where}\n    {state}", markup=False)
