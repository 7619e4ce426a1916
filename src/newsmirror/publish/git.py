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


def run_git(repo: Path, *args: str, check: bool = True, stdin: str | None = None,
            env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = git_env()
    env.update(env_extra or {})
    try:
        proc = subprocess.run([*git_command(), "-C", str(repo), *args], capture_output=True, text=True, env=env,
                              timeout=300, input=stdin)
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


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in folders)


# paths are given to git one a line on its standard input, NUL-separated and taken literally (no globs): a
# run's list can be long, and a page's name may hold a `*` or a `[`
_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")


def _stage_paths(repo: Path, paths: Iterable[str], *opts: str) -> None:
    """Stage these paths of the tree as they are now: written ones added, removed ones (files or folders) taken
    out of the index (a path never committed and gone again is no error)."""
    present, gone = [], []
    for p in sorted(set(paths)):
        (present if os.path.lexists(repo / p) else gone).append(p)
    if present:
        run_git(repo, "--literal-pathspecs", *opts, "add", "-A", *_FROM_STDIN, stdin="\0".join(present))
    if gone:
        run_git(repo, "--literal-pathspecs", "rm", "-r", "-q", "--cached", "--ignore-unmatch", *_FROM_STDIN,
                stdin="\0".join(gone))


def stage_stored(repo: Path, stored: Iterable[str], paths: Iterable[str] | None = None) -> subprocess.Popen | None:
    """Start staging folders of compressed files (images) in the background and return the git process, or
    None when there is nothing to stage. A run does this once its images are in, so that git hashes and
    packs them while the pages are rendered rather than after; `commit_all` then finds them staged. Wait for
    the process before committing. It dies with the run, like any git the run starts. `paths`: only these
    files (those the run wrote), not the whole folders."""
    as_is = [d for d in stored if (repo / d).is_dir()]
    if not as_is or not (git_folder(repo) / "HEAD").exists():
        return None
    if paths is None:
        return subprocess.Popen([*git_command(), "-C", str(repo), *_INTO_PACK, "-c", "pack.compression=0", "add",
                                 "-A", "--", *as_is], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=git_env())
    mine = sorted(p for p in set(paths) if _under(p, as_is) and (repo / p).is_file())
    if not mine:
        return None
    proc = subprocess.Popen([*git_command(), "-C", str(repo), "--literal-pathspecs", *_INTO_PACK, "-c",
                             "pack.compression=0", "add", *_FROM_STDIN], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=git_env())
    assert proc.stdin is not None
    proc.stdin.write("\0".join(mine).encode("utf-8", "surrogateescape"))
    proc.stdin.close()
    return proc


def signing_config(key_file: Path | None) -> tuple[str, ...]:
    """git options that sign a commit with the SSH key at `key_file` (OpenSSH format, mode 0600): git hands it
    to ssh-keygen (`gpg.format=ssh`), so `git verify-commit` and a code host's "Verified" mark check it."""
    if key_file is None:
        return ()
    return ("-c", "gpg.format=ssh", "-c", f"user.signingkey={key_file}", "-c", "commit.gpgsign=true")


Changes = list[tuple[str, str]]  # (git's status letter: A added, M modified, D deleted, T type changed; path)


def staged_changes(repo: Path) -> Changes:
    """What the next commit holds: each staged file with its status, against HEAD (or an empty tree)."""
    fields = run_git(repo, "diff", "--cached", "--name-status", "--no-renames", "-z").stdout.split("\0")
    return list(zip(fields[0::2], fields[1::2], strict=False))  # (the output ends with a NUL: one field over)


def leave_out(repo: Path, folders: Iterable[str]) -> None:
    """Keep these folders of the tree out of the repository's commits: listed in .git/info/exclude (so that
    `git status` and `git add -A` pass them by) and taken out of the index if an older version committed them
    (the next commit then removes them from the branch; its history keeps what it had)."""
    folders = sorted(folders)
    if not folders:
        return
    exclude = _common_folder(git_folder(repo)) / "info" / "exclude"
    try:
        lines = exclude.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    missing = [f"/{d.strip('/')}/" for d in folders if f"/{d.strip('/')}/" not in lines]
    if missing:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        tmp = exclude.with_name(f".exclude-{os.getpid()}.tmp")
        tmp.write_text("".join(x + "\n" for x in [*lines, "# newsmirror: published on the snapshot branch only",
                                                   *missing]), encoding="utf-8")
        os.replace(tmp, exclude)
    run_git(repo, "--literal-pathspecs", "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", *folders)


# git starts no gc of its own after a commit (it would run in the background, while the snapshot that follows
# prunes objects it is packing: "object … cannot be read", and a gc.log that stops every gc for a day); the run
# calls `auto_gc` once the snapshot is made
_NO_AUTO_GC = ("-c", "maintenance.auto=false", "-c", "gc.auto=0")


def auto_gc(repo: Path) -> None:
    """`git gc --auto`, in the foreground (the run waits for it: nothing else of ours touches the repository
    meanwhile), and dropping at once what nothing reaches (a replaced snapshot's search index, which it would
    otherwise keep for two weeks). It packs, with deltas, what the commits since the last one left loose or in
    small packs: the whole-tree files a run rewrites (the manifest, the folders' trees) then cost little."""
    run_git(repo, "-c", "gc.autoDetach=false", "-c", "gc.pruneExpire=now", "gc", "--auto", "--quiet")


def commit_all(repo: Path, message: str | Callable[[Changes], str], stored: Iterable[str] = (),
               paths: Iterable[str] | None = None, sign_with: Path | None = None,
               untracked: Iterable[str] = ()) -> bool:
    """Stage everything (or only `paths`: what the run wrote and removed) and commit; False (and no commit)
    when nothing changed.

    `message` may be made from the staged changes: the commit then says what it holds, which after a killed
    run is more than what the run that commits it did. `stored`: folders of files that are compressed already
    (images), packed as they are (zlib level 0): compressing them again costs much time and saves nothing.
    `sign_with`: an SSH private key file that signs the commit (`signing_config`). `untracked`: folders of the
    tree never committed (`leave_out`: the search index, published on the snapshot branch only)."""
    untracked = list(untracked)
    leave_out(repo, untracked)
    as_is = [d for d in stored if (repo / d).is_dir()]
    if paths is None:
        if as_is:
            run_git(repo, *_INTO_PACK, "-c", "pack.compression=0", "add", "-A", "--", *as_is)
        run_git(repo, *_INTO_PACK, "add", "-A")
    else:
        paths = {p for p in paths if not _under(p, untracked)}
        images = {p for p in paths if _under(p, stored)}
        _stage_paths(repo, images, *_INTO_PACK, "-c", "pack.compression=0")
        _stage_paths(repo, paths - images, *_INTO_PACK)
    changes = staged_changes(repo)
    if not changes:
        return False
    run_git(repo, *signing_config(sign_with), *_NO_AUTO_GC, "commit", "-q", "-m",
            message if isinstance(message, str) else message(changes))
    return True
