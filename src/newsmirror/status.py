"""`newsmirror status`: per source, articles, last run, failures and why; images, remotes and warnings."""

from __future__ import annotations

import sys
from typing import Any

from .models import ADDED_SOURCE
from .pipeline import Mirror
from .textsafe import printable


def show_status(m: Mirror) -> int:
    """Print the status of the mirror `m` (read only: no lock needed); the exit code (0)."""
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
