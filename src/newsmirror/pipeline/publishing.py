"""The last phases: commit what the run changed in the tree, then push it to every remote."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..models import RunReport
from ..publish import commit_all
from ..publish.git import Changes, auto_gc, git_folder
from ..render import HTML
from ..render.search import INDEX_DIR
from ..store import now
from .context import Context
from .images import image_dirs
from .seams import SEAMS

log = logging.getLogger("newsmirror")

SEARCH_INDEX = HTML.root + INDEX_DIR  # the HTML site's search index: on the snapshot branch, never on main


def commit(ctx: Context, message: str | Callable[[Changes], str], changed: set[str] | None) -> str | None:
    """git commit when this or an earlier (killed) build changed the tree; git is not asked otherwise.
    `message` may be made from the staged changes. `changed`: the paths this run wrote and removed, all that is
    staged; None when an earlier run may have left changes nobody knows of (then the whole tree is). Returns
    the commit's message, or None: no commit."""
    state = ctx.store.state()
    if not state.uncommitted and (git_folder(ctx.out) / "HEAD").exists() and state.committed_once:
        return None
    said: list[str] = []

    def say(changes: Changes) -> str:
        said.append(message if isinstance(message, str) else message(changes))
        return said[0]

    SEAMS.before_commit()
    with _commit_key(ctx) as key_file:
        committed = commit_all(ctx.out, say, stored=image_dirs(ctx), paths=changed, sign_with=key_file,
                               untracked=(SEARCH_INDEX,))
    with ctx.store.tx():
        ctx.store.set_state(uncommitted=False, committed_once=True)
    return said[0] if committed else None


def after_commit(ctx: Context) -> None:
    """The snapshot branch (see `snapshot`), then git's housekeeping (`auto_gc`), which it must not run beside."""
    try:
        snapshot(ctx)
    finally:
        auto_gc(ctx.out)


def snapshot(ctx: Context) -> str | None:
    """With the HTML site on: the snapshot branch made anew (main's tree and the search index, one commit,
    signed like main's; see publish.snapshot), when main or the index changed; without it, no snapshot branch
    (one left from when it was on would be pushed as current for ever). Returns its commit, or None."""
    from ..publish.snapshot import drop_snapshot, make_snapshot

    if "html" not in ctx.cfg.site.formats:
        if drop_snapshot(ctx.out):
            log.info("the HTML site is off: the snapshot branch is deleted here (remotes keep theirs until you "
                     "delete it there)")
        return None
    message = (f"{ctx.cfg.site.title}: the site with its search index, as of {now():%Y-%m-%d %H:%M} UTC "
               f"(one commit, replaced by the next run; the history is on main)")
    with _commit_key(ctx) as key_file:
        return make_snapshot(ctx.out, (SEARCH_INDEX,), message, ctx.tmp_dir, sign_with=key_file)


def page_counts(ctx: Context) -> Callable[[Changes], str]:
    """A run's commit message: the articles whose page (the first script's Markdown) the commit adds, changes
    and removes."""
    layout = ctx.renderers[0].layout

    def describe(changes: Changes) -> str:
        new = updated = removed = 0
        for status, path in changes:
            if layout.page_of(path) is not None:
                new += status == "A"
                removed += status == "D"
                updated += status not in ("A", "D")
        return f"newsmirror: {new} new, {updated} updated, {removed} removed"

    return describe


@contextmanager
def _commit_key(ctx: Context) -> Iterator[Path | None]:
    """With signing.key: the key in OpenSSH format in a file of its own (mode 0600, removed after), for git
    to sign the commit with through ssh-keygen, which reads neither PKCS#8 keys of older versions reliably
    nor a key file others can read. None without signing.key."""
    if ctx.cfg.signing_key is None:
        yield None
        return
    from ..publish.keys import load_private, openssh_private_key

    ctx.tmp_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.tmp_dir / f".signing-{os.getpid()}.key.tmp"  # a killed run's is swept (remove_stale_temps)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(openssh_private_key(load_private(ctx.cfg.signing_key)))
        yield path
    finally:
        path.unlink(missing_ok=True)


def publish(ctx: Context, report: RunReport, names: Iterable[str] | None = None) -> None:
    """Push the output repository to every remote (or those named), each independently; record each outcome."""
    from ..publish.remotes import PushTarget, push_all

    wanted = set(names) if names is not None else None
    known = ctx.store.remotes()
    targets = [PushTarget(r.name, r.url, r.branch or "main", r.squash, r.force,
                          known[r.name].pushed_commit if r.name in known else None)
               for r in ctx.cfg.remotes if wanted is None or r.name in wanted]
    p = ctx.cfg.publish
    squash_msg = f"{ctx.cfg.site.title}: the mirror as of {now():%Y-%m-%d %H:%M} UTC (one commit, replaced " \
                 f"by the next publish)"
    results = push_all(ctx.out, targets, message=squash_msg, retries=p.retries, backoff=p.backoff,
                       timeout=p.timeout)
    for res in results:
        if res.ok and res.commit:
            ctx.store.remote_pushed(res.name, res.commit)
            report.pushed.append(res.name)
            log.info("remote %s (%s): %s", res.name, res.url, res.detail)
        else:
            ctx.store.remote_failed(res.name, res.detail)
            report.push_failures.append((res.name, res.detail))
            log.warning("remote %s (%s): push failed: %s; the next run or `newsmirror publish` tries again",
                        res.name, res.url, res.detail)
