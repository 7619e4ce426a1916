"""The run, top to bottom: discover → select → fetch and analyse → store → images → plan the build → write the
tree → sign and index → commit → push.

Each phase is a module of this package with the rules it needs; this one only says in which order they come,
holds the run lock, and keeps the books (what is new, updated, failed, removed) for the log, the commit
message and the exit code."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..config import Config, ConfigError, Rules
from ..fetch import Fetcher
from ..fetch.warc import WarcWriter
from ..fsutil import refuse_symlinks, remove_stale_temps
from ..ids import normalise_url
from ..models import ADDED_SOURCE, Candidate, RunReport
from ..publish import ensure_repo
from ..publish.git import clear_stale_git_locks, stage_stored
from ..render import images_home, renderers_for
from ..revisit import revisit
from ..store import Store, now
from ..workers import LOCK_FDS, Calls, check_engine
from . import build as build_phase
from .build import BuildResult, file_folder, guarded
from .context import Context, Progress, RunLocked
from .discover import config_hosts, discover_all, sources_to_run
from .fetching import fetch_and_analyse, obey, rules_of
from .images import image_dirs, mirror_images
from .publishing import after_commit, commit, page_counts, publish
from .seams import SEAMS
from .select import needing_work, remembered, select

log = logging.getLogger("newsmirror")


class Mirror:
    """One mirror (a config, its store and its output tree): the commands run, add, build and publish."""

    def __init__(self, cfg: Config, progress: Progress | None = None) -> None:
        check_engine(cfg.workers.engine)  # a missing extra is said before anything starts
        self.cfg = cfg
        self.out = cfg.output_dir
        self.store = Store(cfg.store_path)
        self.store.adopt_added({s.name for s in cfg.sources})
        renderers = renderers_for(cfg)  # one per format in site.formats and script in site.variants
        self.ctx = Context(cfg, self.store, renderers, images_home(cfg), progress or Progress())
        if cfg.signing_key is not None:  # the home pages show the signing key's fingerprint
            from ..publish.keys import SigningError, fingerprint, public_raw
            from ..publish.manifest import verify_command

            try:
                raw = public_raw(cfg.signing_key)
            except SigningError as exc:
                self.store.close()
                raise ConfigError(str(exc)) from None
            for r in renderers:
                r.key_fingerprint, r.verify_command = fingerprint(raw), verify_command(raw)
        self._lock_fd: int | None = None
        self._whole_tree = True  # commit the whole tree: an earlier run may have left changes nobody knows of
        self._staging = None  # git staging the new images while pages are rendered
        self._image_paths: set[str] = set()  # the images this run wrote into the tree
        self.clock = now  # what time revisits take it to be (tests and `demo --day 2` move it on)

    # -- the runs
    async def run(self, only: Iterable[str] | None = None) -> RunReport:
        """`newsmirror run`: every phase, in order."""
        report = RunReport()
        self._prepare()
        names = set(only) if only is not None else None
        ctx = self.ctx
        with self._warc():
            async with Fetcher(self.cfg.fetch, config_hosts(self.cfg)) as fetcher:
                found = await discover_all(ctx, sources_to_run(self.cfg, names), fetcher, report)
                todo = select(ctx, found + remembered(ctx, found, names))
                del found  # what is not selected is not kept for the rest of the run (memory)
                changed = await fetch_and_analyse(ctx, todo, fetcher, report)  # and store each article
                del todo
                changed |= await revisit(self, fetcher, report)  # articles mirrored before, fetched again
                await self._images(fetcher, report)
        self._finish(report, changed)  # plan the build, write the tree, sign and index, commit, push
        return report

    async def add(self, urls: list[str], category: str) -> RunReport:
        """Mirror the given article URLs now (the editor's-pick path); existing ones are fetched again."""
        report = RunReport()
        self._prepare()
        todo = [Candidate(url=normalise_url(u), source=ADDED_SOURCE, category=category, pick=True) for u in urls]
        self.store.add_pending(todo)
        with self._warc():
            async with Fetcher(self.cfg.fetch, config_hosts(self.cfg, urls)) as fetcher:
                changed = await fetch_and_analyse(self.ctx, todo, fetcher, report)
                await self._images(fetcher, report)
        self._finish(report, changed)
        return report

    def reextract(self) -> RunReport:
        """Extract every article again from the response kept in its WARC record: no network.

        For when the extractor or a source's rules improved. Articles whose text changes are
        updated; the pages are rebuilt and committed. The records are read here and analysed by the run's
        workers (the local pool or the Dask cluster, as `run` does); what they yield is stored here, in order.
        """
        report = RunReport()
        self._prepare()
        changed = asyncio.run(self._reextract_all(report))
        self._finish(report, changed)
        return report
    def rebuild(self) -> tuple[BuildResult, bool]:
        """`newsmirror build`: every page and index from the store, then a commit if anything changed."""
        self._prepare()
        result = self.build(changed=None)
        committed = commit(self.ctx, lambda changes: f"newsmirror build: {sum(s != 'D' for s, _ in changes)} "
                                                     f"files written, {sum(s == 'D' for s, _ in changes)} removed",
                           self._to_stage(result))
        after_commit(self.ctx)
        self.store.mark_clean(result.rendered)
        return result, committed is not None

    def build(self, changed: set[str] | None = None) -> BuildResult:
        """Plan the build and write the tree (see pipeline.build)."""
        SEAMS.before_build()
        return build_phase.build(self.ctx, changed)

    def publish(self, report: RunReport, names: Iterable[str] | None = None) -> None:
        publish(self.ctx, report, names)

    # -- what the revisit phase asks of the run
    @property
    def calls(self) -> Calls:
        return self.ctx.calls

    @property
    def warc(self) -> WarcWriter | None:
        return self.ctx.warc

    def deadline(self) -> float:
        return self.ctx.deadline()

    def obey(self, source_name: str) -> bool | None:
        return obey(self.ctx, source_name)

    def rules(self, source_name: str) -> Rules | None:
        return rules_of(self.ctx, source_name)

    def needing_work(self, cands: list[Candidate]) -> list[Candidate]:
        """Those of `cands` a source's `limit` counts (see select.needing_work)."""
        return needing_work(self.ctx, cands)

    # -- the steps the runs share
    def _prepare(self) -> None:
        """Make the output a git repository and clear what a killed run may have left."""
        clear_stale_git_locks(self.out)  # we hold the run lock: no git of ours is running
        ensure_repo(self.out)  # (after: a killed git init's HEAD.lock would stop the next)
        # a symbolic link where we write: the run stops here, before anything is written (the writer checks
        # all the way down before its first change; this finds one at the top folders of the tree at once)
        refuse_symlinks(self.out, guarded(), unlisted=file_folder)
        state = self.store.state()
        self._whole_tree = state.uncommitted or not state.committed_once
        if state.uncommitted:  # only a run cut while writing leaves temp files in the tree
            remove_stale_temps(self.out)
        tmp_dir = self.ctx.tmp_dir
        if tmp_dir.exists():
            from ..render.search import remove_stale_indexes

            remove_stale_temps(tmp_dir)
            remove_stale_indexes(tmp_dir)

    @contextmanager
    def _warc(self) -> Iterator[None]:
        """The run's WARC file (fetch.warc), closed however the run ends."""
        if self.cfg.fetch.warc:
            self.ctx.warc = WarcWriter(self.ctx.warc_dir, f"{now().strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        try:
            yield
        finally:
            if self.ctx.warc:
                self.ctx.warc.close()

    async def _images(self, fetcher: Fetcher, report: RunReport) -> None:
        arrived = await mirror_images(self.ctx, fetcher, report, build_phase.tree_writer(self.ctx).begin)
        if arrived:  # git hashes and packs them while the pages are rendered
            self._staging = stage_stored(self.out, image_dirs(self.ctx),
                                         None if self._whole_tree else self._new_images(arrived))

    def _new_images(self, urls: list[str]) -> set[str]:
        self._image_paths = {self.ctx.images_home + a for a in self.store.assets_of(urls)}
        return self._image_paths

    def _to_stage(self, result: BuildResult) -> set[str] | None:
        """The paths the commit stages: what this run wrote and removed, or None (the whole tree)."""
        if self._whole_tree:
            return None
        return result.changed | self._image_paths

    def _finish(self, report: RunReport, changed: set[str]) -> None:
        try:
            result = self.build(changed=changed)
        finally:
            if self._staging is not None:  # it holds the index's lock until it is done
                self._staging.wait()
                self._staging = None
        report.removed = result.pages_removed
        report.failed += len(result.failed)
        report.failures.extend(result.failed)
        # commit what the tree holds: this run's pages, or those of a run killed before its commit; the message
        # counts the pages that commit adds, changes and removes, whichever run wrote them
        msg = commit(self.ctx, page_counts(self.ctx), self._to_stage(result))
        report.committed = msg is not None
        if msg is not None:
            log.info("committed: %s", msg)
        after_commit(self.ctx)
        self.store.mark_clean(result.rendered)
        if self.cfg.remotes and self.cfg.publish.on_run:
            self.publish(report)

    async def _reextract_all(self, report: RunReport) -> set[str]:
        from ..errors import PageRejected
        from ..fetch.warc import read_page
        from .analyse import Analysis
        from .ingest import Archive, fail, store_pages

        ctx, changed = self.ctx, set()
        articles = self.store.articles(with_body=False)
        waiting: deque[tuple[Candidate, asyncio.Future]] = deque()  # sent to the workers, stored in this order

        def store(ready: list[tuple[Candidate, Analysis, Archive]]) -> None:
            batch = ready[:]
            ready.clear()
            if batch:
                changed.update(aid for aid in store_pages(ctx, batch, report) if aid)

        async def store_done(keep: int) -> None:
            """Store the analyses at the head of the queue: while it is longer than `keep`, or they are ready; up to
            STORE_BATCH of them at a time (one transaction, their look-ups made together), in order."""
            ready: list[tuple[Candidate, Analysis, Archive]] = []
            try:
                while waiting and (len(waiting) > keep or waiting[0][1].done()):
                    c, analysed = waiting.popleft()
                    try:
                        analysis = await analysed
                    except PageRejected as exc:
                        store(ready)  # (those before it first: in order)
                        fail(ctx, c, exc.reason, report)
                        continue
                    ready.append((c, analysis, _no_new_record))  # (the record it was read from stays its own)
                    if len(ready) >= STORE_BATCH:
                        store(ready)
            finally:  # (the cluster lost meanwhile: what was analysed is kept)
                store(ready)

        with ctx.workers(len(articles)), self.store.grouped(), _settled(waiting):
            ahead = ctx.calls.batch * ctx.calls.width * 2  # records read ahead for the workers (0: done in place)
            warc_dir = ctx.warc_dir  # (resolved once: it resolves the store's path)
            for lite in articles:
                ref = self.store.warc_ref(lite.id)
                if ref is None:
                    report.failed += 1
                    report.failures.append((lite.url, "no WARC record (mirrored with fetch.warc = false?)"))
                    continue
                try:
                    page = read_page(warc_dir, ref)
                except (OSError, ValueError) as exc:
                    report.failed += 1
                    report.failures.append((lite.url, f"WARC record unreadable: {exc}"))
                    log.error("%s: WARC record unreadable: %s", lite.url, exc)
                    continue
                c = Candidate(url=lite.url, source=lite.source, category=lite.category, pick=lite.pick,
                              published=lite.published)
                analysed = ctx.calls(SEAMS.analyse_record, page.text, page.url, rules_of(ctx, c.source))
                waiting.append((c, asyncio.ensure_future(analysed)))
                await store_done(ahead)
            await store_done(0)
        return changed

    # -- locking: one run at a time per store; the OS drops the lock when a process dies
    def lock(self) -> None:
        path = str(self.cfg.store_path) + ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunLocked(f"another newsmirror run is in progress on {self.cfg.store_path}; "
                            f"wait for it to finish") from None
        self._lock_fd = fd
        LOCK_FDS.append(fd)

    def close(self) -> None:
        self.ctx.close_cluster()
        self.store.close()
        if self._lock_fd is not None:
            if self._lock_fd in LOCK_FDS:
                LOCK_FDS.remove(self._lock_fd)
            os.close(self._lock_fd)
            self._lock_fd = None


STORE_BATCH = 32  # analyses re-extracted from the WARCs that are stored in one transaction


def _no_new_record() -> None:
    """What a re-extracted article is archived with: nothing new (save_article keeps the record it came from)."""


@contextmanager
def _settled(waiting: deque[tuple[Candidate, asyncio.Future]]) -> Iterator[None]:
    """However the block ends (a lost cluster, Ctrl-C), what it left waiting is cancelled, or its error taken: none
    is left for asyncio to report as never retrieved."""
    try:
        yield
    finally:
        for _, fut in waiting:
            if fut.done() and not fut.cancelled():
                fut.exception()
            else:
                fut.cancel()
