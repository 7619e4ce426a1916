"""The supported places where tests and benchmarks step into a run, instead of patching private names.

Each is a public attribute of SEAMS; `monkeypatch.setattr(SEAMS, name, fn)` fails loudly when a name is gone
(the class has slots), so a rename cannot silently turn a test or a benchmark timer into a no-op.
Worker-process seams (`analyse_page`, `analyse_record`, `mirror_image`) must stay module-level functions: they are
pickled by name and the forked workers see what SEAMS held when they started."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..sources import discover_source
from .analyse import analyse_page, analyse_record
from .writer import mirror_image


def _nothing(*_args: Any) -> None:
    """The default lifecycle hook: nothing happens."""


@dataclass(slots=True)
class Seams:
    # the work itself
    analyse_page: Callable[..., Any] = analyse_page  # (Response, rules, warc, cap) -> Analysis, in a worker
    analyse_record: Callable[..., Any] = analyse_record  # (html, url, rules) -> Analysis, in a worker (reextract)
    mirror_image: Callable[..., Any] = mirror_image  # (bytes, images config, out, home, tmp) -> asset, w, h, size
    discover: Callable[..., Any] = discover_source  # (source, fetcher, root, ...) -> Discovery
    clock: Callable[[], float] = time.monotonic  # what fetch.max_run_seconds is measured with
    # lifecycle hooks, called with no arguments (or the ids named)
    after_fetch: Callable[[set[str]], None] = _nothing  # the articles saved (the pages linking to them due)
    before_build: Callable[[], None] = _nothing  # everything fetched is stored; nothing is written yet
    on_listing: Callable[[], None] = _nothing  # the build reads the whole article list (not a no-op run)
    before_sign: Callable[[], None] = _nothing  # the pages and indexes are written; manifest and commit next
    before_commit: Callable[[], None] = _nothing  # the tree is written and signed; git is about to stage it


SEAMS = Seams()
