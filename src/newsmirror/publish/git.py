"""The output folder is a git repository; a run that changed anything makes one commit."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

_ENV = {
    "GIT_AUTHOR_NAME": "newsmirror",
    "GIT_AUTHOR_EMAIL": "newsmirror@localhost",
    "GIT_COMMITTER_NAME": "newsmirror",
    "GIT_COMMITTER_EMAIL": "newsmirror@localhost",
    "GIT_TERMINAL_PROMPT": "0",
}


class GitError(Exception):
    pass


def git_env() -> dict[str, str]:
    """The environment git runs in: ours, with a committer identity when none is set, and never a prompt."""
    env = dict(os.environ)
    for k, v in _ENV.items():
        env.setdefault(k, v)
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


# run by sh between setpriv and git: git only if the run that started it is still its parent ($0: the run's pid)
_IF_PARENT = 'test "$PPID" = "$0" && exec "$@"'


@functools.cache
def _programs() -> tuple[str, str | None, str | None]:
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed; install it (apt-get install git)")
    if sys.platform != "linux":
        return git, None, None
    return git, shutil.which("setpriv"), shutil.which("sh")


def git_command() -> tuple[str, ...]:
    """How git is started: on Linux through setpriv (util-linux), which asks the kernel to kill it when the run
    dies. A git left running by a killed run would still hold .git/index.lock, and would write the index
    under the next run, which takes that lock for a stale one (and `git fsck` meanwhile sees a commit's reflog
    entries before its objects: "invalid reflog entry"). setpriv asks only once it runs: a run killed between
    starting it and that moment would leave git running all the same, so a shell then checks that the run is
    still its parent before it becomes git."""
    git, setpriv, sh = _programs()
    if setpriv is None:
        return (git,)
    if sh is None:
        return (setpriv, "--pdeathsig", "KILL", "--", git)
    return (setpriv, "--pdeathsig", "KILL", "--", sh, "-c", _IF_PARENT, str(os.getpid()), git)


def run_git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = git_env()
    try:
        proc = subprocess.run([*git_command(), "-C", str(repo), *args], capture_output=True, text=True, env=env,
                              timeout=300)
    except FileNotFoundError:
        raise GitError("git is not installed; install it (apt-get install git)") from None
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])} in {repo} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ensure_repo(repo: Path) -> None:
    """Make `repo` a git repository (branch main) if it is not one yet, or finish the one a killed `git init`
    left: git makes .git first and HEAD, refs/ and objects/ after, and takes a .git without them for no
    repository at all (every later run stopped at "not a git repository"). git init fills in what is missing
    and overwrites nothing; it cannot make HEAD while a killed one's HEAD.lock is there (clear_stale_git_locks)."""
    repo.mkdir(parents=True, exist_ok=True)
    git = git_folder(repo)
    common = _common_folder(git)
    if not ((git / "HEAD").is_file() and (common / "objects").is_dir() and (common / "refs").is_dir()):
        run_git(repo, "init", "-q", "-b", "main")


def git_folder(repo: Path) -> Path:
    """The repository's git folder: `.git`, or where a `.git` file points (a worktree or a submodule)."""
    dot_git = repo / ".git"
    try:
        text = dot_git.read_text(encoding="utf-8")
    except (IsADirectoryError, FileNotFoundError, UnicodeDecodeError):
        return dot_git
    if text.startswith("gitdir:"):
        return (repo / text.removeprefix("gitdir:").strip()).resolve()
    return dot_git


def _common_folder(git: Path) -> Path:
    """Where a repository's objects and branches are: its git folder, or a worktree's main repository's."""
    if (git / "commondir").is_file():
        return (git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve()
    return git


def clear_stale_git_locks(repo: Path) -> list[str]:
    """Remove lock files a killed git left behind. Call only while holding newsmirror's run lock."""
    git = git_folder(repo)
    common = _common_folder(git)
    removed = []
    for lock in [git / "index.lock", git / "HEAD.lock", common / "config.lock", common / "packed-refs.lock",
                 *common.glob("refs/**/*.lock")]:  # branches, and the squash remotes' refs/newsmirror/squash/*
        if lock.exists():
            lock.unlink()
            removed.append(str(lock))
    return removed


# `git add` writes every file it stages straight into one pack (bulk check-in), not a loose object file each:
# far fewer files to create, and nothing for `git gc --auto` to pack later
_INTO_PACK = ("-c", "core.bigFileThreshold=1")


def stage_stored(repo: Path, stored: Iterable[str]) -> subprocess.Popen | None:
    """Start staging folders of compressed files (images) in the background and return the git process, or
    None when there is nothing to stage. A run does this once its images are in, so that git hashes and
    packs them while the pages are rendered rather than after; `commit_all` then finds them staged. Wait for
    the process before committing. It dies with the run, like any git the run starts."""
    as_is = [d for d in stored if (repo / d).is_dir()]
    if not as_is or not (git_folder(repo) / "HEAD").exists():
        return None
    return subprocess.Popen([*git_command(), "-C", str(repo), *_INTO_PACK, "-c", "pack.compression=0", "add", "-A",
                             "--", *as_is], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=git_env())


Changes = list[tuple[str, str]]  # (git's status letter: A added, M modified, D deleted, T type changed; path)


def staged_changes(repo: Path) -> Changes:
    """What the next commit holds: each staged file with its status, against HEAD (or an empty tree)."""
    fields = run_git(repo, "diff", "--cached", "--name-status", "--no-renames", "-z").stdout.split("\0")
    return list(zip(fields[0::2], fields[1::2], strict=False))  # (the output ends with a NUL: one field over)


def commit_all(repo: Path, message: str | Callable[[Changes], str], stored: Iterable[str] = ()) -> bool:
    """Stage everything and commit; False (and no commit) when nothing changed.

    `message` may be made from the staged changes: the commit then says what it holds, which after a killed
    run is more than what the run that commits it did. `stored`: folders of files that are compressed already
    (images), packed as they are (zlib level 0): compressing them again costs much time and saves nothing."""
    as_is = [d for d in stored if (repo / d).is_dir()]
    if as_is:
        run_git(repo, *_INTO_PACK, "-c", "pack.compression=0", "add", "-A", "--", *as_is)
    run_git(repo, *_INTO_PACK, "add", "-A")
    changes = staged_changes(repo)
    if not changes:
        return False
    run_git(repo, "commit", "-q", "-m", message if isinstance(message, str) else message(changes))
    return True
