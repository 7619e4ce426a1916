"""Revisits: mirrored articles fetched again on a schedule, every version kept, deletions at the source marked.

schedule: what is due; evidence: what a revisit says; diff: what changed between versions; render: the
banners' words, change pages, the indexes of edited and deleted articles and their feeds; phase: the run's
revisit step.
"""

from .phase import revisit

__all__ = ["revisit"]
