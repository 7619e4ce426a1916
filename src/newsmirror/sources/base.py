"""What every source kind shares: its error, its result, and how the store is asked which URLs need work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..models import Candidate
from .http import Validators


class SourceError(Exception):
    """A source that gave no URLs this time; one line saying why and what to do."""


# how many candidates `needs_work` is asked about at once: a few statements of the store a batch, not one a URL
BATCH = 500

NeedsWork = Callable[[list[Candidate]], list[Candidate]]


@dataclass
class Discovery:
    candidates: list[Candidate]
    validators: dict[str, Validators] = field(default_factory=dict)  # to save with the candidates
    not_modified: list[str] = field(default_factory=list)  # pages that answered 304 (nothing parsed)
    more: bool = False  # more URLs need work than `limit` took: the rest is for the next runs


@dataclass(frozen=True)
class Reading:
    """What a source kind's discover() may need besides its source and HTTP: the config's folder (for a list
    kept beside it) and which URLs still need work (for a kind that streams, to hold only the newest few)."""

    root: Path
    needs_work: NeedsWork | None = None
