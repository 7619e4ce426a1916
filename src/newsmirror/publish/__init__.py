"""publish: commit the output tree to its git repository (pushing comes later)."""

from .git import GitError, commit_all, ensure_repo

__all__ = ["GitError", "commit_all", "ensure_repo"]
