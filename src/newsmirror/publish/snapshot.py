"""The `snapshot` branch: one parentless commit of the whole servable tree, search index included.

The HTML site's search index (Pagefind's, site/pagefind) is rewritten by every run that changes a page: a few
hundred compressed files, megabytes that git cannot delta against the last ones. Committed on main, it made a
mirror's history grow by about 6× the bytes of the articles it added. So main's commits leave the index out
(`git.leave_out`), and each run makes the snapshot anew instead: main's tree plus the index, in one commit with no
parents, signed like main's, on `refs/heads/snapshot`, which every remote receives with a forced push (see
remotes.py). It has no reflog, and once it is replaced the old one's objects (its index) are pruned from the
local repository at once: the history that is kept for ever is main's, and main holds no index.

A code host's static site (GitHub Pages, Codeberg Pages, GitLab Pages) serves the snapshot branch, the only
one whose site has search; a clone of main is the same site without it. Both verify against the signed
manifest, which signs the index as one entry (manifest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .git import _common_folder, git_folder, run_git, signing_config

SNAPSHOT_BRANCH = "snapshot"
SNAPSHOT_REF = "refs/heads/" + SNAPSHOT_BRANCH


def snapshot_commit(repo: Path) -> str | None:
    """The commit the snapshot branch points at, or None when there is none."""
    return run_git(repo, "rev-parse", "--verify", "-q", SNAPSHOT_REF + "^{commit}", check=False).stdout.strip() or None


def _tree_of(repo: Path, commit: str) -> str:
    return run_git(repo, "rev-parse", "--verify", "-q", f"{commit}^{{tree}}", check=False).stdout.strip()


def make_snapshot(repo: Path, folders: Iterable[str], message: str, tmp_dir: Path,
                  sign_with: Path | None = None) -> str | None:
    """Point the snapshot branch at a parentless commit of HEAD's tree plus `folders` of the tree as they are now
    (the search index), signed with `sign_with` (an SSH private key file, as for main's commits). The same commit
    stays while that tree is unchanged. Returns the snapshot's commit, or None before main's first commit.

    The tree is made in an index file of its own (in `tmp_dir`; main's index is not touched), its new objects
    are written loose, and once the branch points at the new commit, `git prune --expire=now` removes the old
    snapshot's: nothing else refers to them (no reflog is kept for the branch). A run killed in between leaves
    them for the next new snapshot's prune; those a gc packed meanwhile go with the next gc (`git.auto_gc`)."""
    head_tree = _tree_of(repo, "HEAD")
    if not head_tree:
        return None
    present = sorted(d for d in folders if (repo / d).is_dir() and not (repo / d).is_symlink())
    tmp_dir.mkdir(parents=True, exist_ok=True)
    for left in tmp_dir.glob(".snapshot-*.index.tmp*"):  # a killed run's index file and its lock (we hold the
        left.unlink(missing_ok=True)                      # run lock: no other run is making one)
    index = tmp_dir / f".snapshot-{os.getpid()}.index.tmp"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        run_git(repo, "read-tree", "HEAD", env_extra=env)
        if present:  # -f: the folders are in .git/info/exclude (left out of main's commits)
            run_git(repo, "--literal-pathspecs", "add", "-f", "-A", "--", *present, env_extra=env)
        tree = run_git(repo, "write-tree", env_extra=env).stdout.strip()
    finally:
        index.unlink(missing_ok=True)
        Path(str(index) + ".lock").unlink(missing_ok=True)
    previous = snapshot_commit(repo)
    if previous and _tree_of(repo, previous) == tree:
        return previous
    commit = run_git(repo, *signing_config(sign_with), "commit-tree", *(("-S",) if sign_with else ()), tree,
                     "-m", message).stdout.strip()
    run_git(repo, "-c", "core.logAllRefUpdates=false", "update-ref", SNAPSHOT_REF, commit)
    _drop_log(repo)
    if previous:
        run_git(repo, "prune", "--expire=now")
    return commit


def drop_snapshot(repo: Path) -> bool:
    """Delete the snapshot branch (the HTML site was turned off: an old snapshot would go on being pushed as if it
    were current) and what only it held: a whole `git gc`, once, as a gc may have packed it. False when there was
    none."""
    if snapshot_commit(repo) is None:
        return False
    run_git(repo, "update-ref", "-d", SNAPSHOT_REF)
    _drop_log(repo)
    run_git(repo, "-c", "gc.autoDetach=false", "gc", "--prune=now", "--quiet")
    return True


def _drop_log(repo: Path) -> None:
    """Remove the branch's reflog if one was made (an operator's `core.logAllRefUpdates=always`): it would keep
    every old snapshot, and its index, from being pruned."""
    log = _common_folder(git_folder(repo)) / "logs" / SNAPSHOT_REF
    log.unlink(missing_ok=True)
