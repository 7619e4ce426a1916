"""Push the output repository to every configured remote, each on its own.

Each remote is pushed in its own thread, with retries and exponential backoff
for what may pass (an unreachable host, a timeout) and none for what will not
(the remote refused the push, or holds commits this mirror does not have).
One failing remote never holds up the others; a later push sends everything
it missed, because a push sends the whole branch.

No force-push unless the remote's entry says `force = true`. A `squash`
remote gets one parentless commit holding the current tree, so its history
stays one commit deep; replacing it is a push with a lease on the commit
pushed last (or, when the remote holds another squashed commit newsmirror made
for it, which a run killed before the store recorded its push left there, on
that one), so nothing someone else pushed is overwritten.

With the HTML site on, every push also replaces the remote's `snapshot` branch (the site with its search
index, one signed commit: see snapshot.py) with the mirror's, forced: newsmirror alone writes that branch.

Credentials: the URL reaches git through the environment
(GIT_CONFIG_COUNT), never argv or .git/config, and every message that
leaves this module has user:password parts, credential query parameters
and expanded ${VARIABLES} blanked out (newsmirror.redact).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from ..redact import redact
from .git import GitError, git_command, git_env, run_git
from .snapshot import SNAPSHOT_BRANCH, SNAPSHOT_REF, snapshot_commit

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PERMANENT = re.compile(r"Authentication failed|could not read (Username|Password)|Permission denied \(|"
                        r"repository '.*' not found|does not appear to be a git repository|"
                        r"returned error: 40[134]")
_PUSH_REMOTE = "newsmirror-push"  # a remote name that lives only in the push's environment
# a git credential helper (run by sh) that answers with what the remote's URL held, from the environment
_CREDENTIAL_HELPER = ('!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
                      '"$NEWSMIRROR_GIT_USERNAME" "$NEWSMIRROR_GIT_PASSWORD"; }; f')


@dataclass(frozen=True, slots=True)
class PushTarget:
    """One remote to push to, as the config gives it, with what was pushed there last."""

    name: str
    url: str  # may hold ${VARIABLES}, expanded from the environment at push time
    branch: str
    squash: bool = False
    force: bool = False
    last_pushed: str | None = None  # the commit pushed there last (the lease for a squash push)


@dataclass(frozen=True, slots=True)
class PushResult:
    name: str
    ok: bool
    commit: str | None  # what the remote's branch now holds (when ok)
    detail: str  # "pushed", "up to date", or why it failed (credentials blanked)
    attempts: int
    url: str  # the URL with credentials blanked, for messages


def expand_url(url: str, environ: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The URL with ${VAR}s filled in from the environment, and the values filled in (to blank out later)."""
    env = os.environ if environ is None else environ
    missing = [v for v in _VAR.findall(url) if v not in env]
    if missing:
        raise PushError(f"environment variable {missing[0]} is not set; export it before the run "
                        f"(the remote's url uses ${{{missing[0]}}})")
    values = [env[v] for v in _VAR.findall(url)]
    return _VAR.sub(lambda m: env[m.group(1)], url), values


class PushError(Exception):
    """A push that will not succeed by trying again (refused, non-fast-forward, bad config)."""


class _Stale(PushError):
    """A push refused by its lease: the remote's branch is not at the commit it names."""


class _Transient(Exception):
    """A push that may succeed later (unreachable host, timeout)."""


def head_commit(repo: Path) -> str | None:
    """The commit the output repository's branch points at, or None before the first commit."""
    proc = run_git(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    return proc.stdout.strip() or None


SQUASH_REFS = "refs/newsmirror/squash/"  # + a remote's name: the squashed commit made for it last (and its log)


def squash_commits(repo: Path) -> set[str]:
    """Every squashed commit made for any remote (under any name it had) that the refs and their logs still
    hold: what a run killed after pushing one, before the store recorded it, may have left on a remote."""
    refs = run_git(repo, "for-each-ref", "--format=%(refname) %(objectname)", SQUASH_REFS,
                   check=False).stdout.split()
    out = set(refs[1::2])
    for ref in refs[0::2]:
        out.update(run_git(repo, "reflog", "show", "--format=%H", ref, "--", check=False).stdout.split())
    return out


def is_current(repo: Path, commit: str | None) -> bool:
    """Whether `commit` (the last one pushed to a remote) is HEAD, or a squashed commit of HEAD's tree."""
    if not commit:
        return False
    trees = [run_git(repo, "rev-parse", "--verify", "-q", f"{c}^{{tree}}", check=False).stdout.strip()
             for c in ("HEAD", commit)]
    return bool(trees[0]) and trees[0] == trees[1]


def squashed_commit(repo: Path, name: str, message: str) -> str:
    """A parentless commit of HEAD's tree for remote `name`: the same one again while the tree is unchanged."""
    ref = SQUASH_REFS + name
    tree = run_git(repo, "rev-parse", "HEAD^{tree}").stdout.strip()
    prev = run_git(repo, "rev-parse", "--verify", "-q", ref, check=False).stdout.strip()
    if prev and run_git(repo, "rev-parse", f"{prev}^{{tree}}").stdout.strip() == tree:
        return prev
    commit = run_git(repo, "commit-tree", tree, "-m", message).stdout.strip()
    run_git(repo, "update-ref", "--create-reflog", ref, commit)  # keeps it from git gc, and logs it
    return commit


def _classify(out: str) -> str | None:
    """Why git push failed, when trying again will not help; None when it may."""
    for line in out.splitlines():
        m = re.search(r"\[remote rejected\]\s*(?:\((.*)\))?", line)
        if m:
            return f"refused by the remote ({m.group(1) or 'no reason given'}); see the remote's hooks or rules"
        if "[rejected]" in line:
            if "stale info" in line:
                return ("the remote's branch changed since newsmirror last pushed there; check what is on it, "
                        "then set force = true for this remote to replace it")
            return ("the remote's branch has commits this mirror does not have (non-fast-forward); "
                    "check what is on it, then set force = true for this remote to replace it")
    if _PERMANENT.search(out):
        lines = [x.strip() for x in out.splitlines() if x.strip().startswith(("fatal:", "remote:", "ERROR"))]
        return (lines or ["the remote refused the credentials or does not exist"])[0] + \
            "; check the remote's url and credentials"
    return None


def _remote_git(repo: Path, target: PushTarget, args: list[str], timeout: float,
                environ: dict[str, str] | None) -> tuple[int, str, str]:
    """Run `git <args>` against the target, named _PUSH_REMOTE: (exit code, stdout, stdout + stderr with
    credentials blanked); _Transient when it does not answer in time."""
    url, secrets = expand_url(target.url, environ)
    env = git_env()
    if environ is not None:
        env.update(environ)
    config = [(f"remote.{_PUSH_REMOTE}.url", url),
              # a transfer that stalls (under 1 KB/s for a minute) ends; the whole push is bounded by `timeout`
              ("http.lowSpeedLimit", "1000"), ("http.lowSpeedTime", "60")]
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.username is not None:
        # git would hand the URL, password and all, to git-remote-https on its command line, which every user
        # of the machine can read: the URL goes without them, and a credential helper reads them from the
        # environment (the only helper: none of the user's own stores them)
        host = parts.hostname or ""
        bare = urlunsplit((parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, parts.query, ""))
        config[0] = (f"remote.{_PUSH_REMOTE}.url", bare)
        config += [("credential.helper", ""), ("credential.helper", _CREDENTIAL_HELPER)]
        env["NEWSMIRROR_GIT_USERNAME"] = unquote(parts.username)
        env["NEWSMIRROR_GIT_PASSWORD"] = unquote(parts.password or "")
    n = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    for i, (key, value) in enumerate(config):
        env[f"GIT_CONFIG_KEY_{n + i}"], env[f"GIT_CONFIG_VALUE_{n + i}"] = key, value
    env["GIT_CONFIG_COUNT"] = str(n + len(config))
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30")
    # a session of its own, so a command that hangs is stopped with its helpers (git-remote-https, ssh); and
    # killed with the run (setpriv), so a push never outlives it
    proc = subprocess.Popen([*git_command(), "-C", str(repo), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise _Transient(f"no answer within {timeout:g} s") from None
    return proc.returncode, stdout, redact(stdout + "\n" + stderr, secrets)


def remote_head(repo: Path, target: PushTarget, *, timeout: float,
                environ: dict[str, str] | None = None) -> str | None:
    """The commit the target's branch holds now (None: no such branch, or the remote did not say)."""
    code, stdout, _ = _remote_git(repo, target, ["ls-remote", _PUSH_REMOTE, f"refs/heads/{target.branch}"],
                                  timeout, environ)
    return stdout.split()[0] if code == 0 and stdout.strip() else None


def push_one(repo: Path, target: PushTarget, commit: str, *, timeout: float,
             environ: dict[str, str] | None = None, lease: str | None = None, snapshot: str | None = None) -> str:
    """Push `commit` to the target's branch once: "pushed" or "up to date"; PushError or _Transient otherwise.
    A squash push replaces only the commit `lease` names (default: the one pushed last). `snapshot`: the
    snapshot branch's commit, pushed with it, always replacing the remote's (it is newsmirror's own branch,
    one commit, made anew each run)."""
    args = ["push", "--porcelain"]
    if target.force:
        args.append("--force")
    elif target.squash:
        args.append(f"--force-with-lease=refs/heads/{target.branch}:{lease or target.last_pushed or ''}")
    args += [_PUSH_REMOTE, f"{commit}:refs/heads/{target.branch}"]
    if snapshot and target.branch != SNAPSHOT_BRANCH:
        args.append(f"+{snapshot}:{SNAPSHOT_REF}")
    code, stdout, out = _remote_git(repo, target, args, timeout, environ)
    if code == 0:
        flags = re.findall(r"^(.)\t", stdout, re.M)  # one a ref: "=" up to date
        return "up to date" if flags and set(flags) == {"="} else "pushed"
    permanent = _classify(out)
    if permanent:
        raise (_Stale if re.search(r"\[rejected\].*stale info", out) else PushError)(permanent)
    lines = [x.strip() for x in out.splitlines() if x.strip() and not x.startswith(("To ", "Done"))]
    start = next((i for i, x in enumerate(lines) if x.startswith(("fatal:", "error:"))), 0)
    raise _Transient(" ".join(lines[start:start + 2])[:300] or "git push failed")


def push_all(repo: Path, targets: list[PushTarget], *, message: str, retries: int = 3, backoff: float = 5.0,
             timeout: float = 600.0, environ: dict[str, str] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> list[PushResult]:
    """Push to every target at once, each independently; one result per target, in the targets' order."""
    head = head_commit(repo)
    snapshot = snapshot_commit(repo)
    results: dict[str, PushResult] = {}
    if head is None:
        return [PushResult(t.name, False, None, "nothing to publish yet: the mirror has no commit", 0,
                           redact(t.url)) for t in targets]
    commits: dict[str, str] = {}
    for t in targets:  # squashed commits are made here, one at a time: git writes to the repository for them
        try:
            commits[t.name] = squashed_commit(repo, t.name, message) if t.squash else head
        except GitError as exc:
            results[t.name] = PushResult(t.name, False, None, redact(str(exc)), 0, redact(t.url))

    def one(t: PushTarget) -> None:
        attempt = 0
        lease = None
        while True:
            attempt += 1
            try:
                detail = push_one(repo, t, commits[t.name], timeout=timeout, environ=environ, lease=lease,
                                  snapshot=snapshot)
                results[t.name] = PushResult(t.name, True, commits[t.name], detail, attempt, redact(t.url))
                return
            except _Stale as exc:
                # the remote does not hold what the store says was pushed last; if it holds another squashed
                # commit of ours (pushed by a run killed before the store recorded it), that one is replaced
                if lease is None:
                    try:
                        theirs = remote_head(repo, t, timeout=timeout, environ=environ)
                    except _Transient:
                        theirs = None
                    if theirs and theirs in squash_commits(repo):
                        lease = theirs
                        continue
                results[t.name] = PushResult(t.name, False, None, str(exc), attempt, redact(t.url))
                return
            except PushError as exc:
                results[t.name] = PushResult(t.name, False, None, str(exc), attempt, redact(t.url))
                return
            except _Transient as exc:
                if attempt > retries:
                    results[t.name] = PushResult(t.name, False, None, f"unreachable after {attempt} attempt(s): "
                                                 f"{exc}", attempt, redact(t.url))
                    return
                sleep(backoff * 2 ** (attempt - 1))

    threads = [threading.Thread(target=one, args=(t,), name=f"push-{t.name}") for t in targets
               if t.name in commits]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return [results[t.name] for t in targets]
