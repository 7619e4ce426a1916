"""The run as a sequence of phases, one module each (see mirror.Mirror.run for the order):

discover → select → fetching (fetch and analyse) → ingest (store) → images → plan → build (with writer: the
tree) → publishing (commit, push). context holds what they share; seams where tests and benchmarks step in."""

from .context import Progress, RunLocked
from .mirror import Mirror

__all__ = ["Mirror", "Progress", "RunLocked"]
