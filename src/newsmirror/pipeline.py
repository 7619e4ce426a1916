"""The run: sources → fetch → extract → transform → store → render → publish.

Each stage is a small module; this one only wires them together and keeps
the books (what is new, updated, failed, removed) for the log, the commit
message and the exit code.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import subprocess
import time
from collections.abc import Awaitable, Callable, Container, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from . import __version__
from .config import Config, ConfigError, Rules
from .config import Images as ImagesConfig
from .fetch import Fetcher, FetchError, decode_response
from .fetch.fetcher import brief
from .fetch.warc import WarcRecords, WarcRef, WarcWriter, read_page, warc_records
from .fsutil import remove_stale_temps, write_if_changed
from .ids import article_id, normalise_url
from .models import Article, Candidate, Listed, Response, RunReport, StoredArticle
from .publish import commit_all, ensure_repo
from .publish.git import Changes, clear_stale_git_locks, git_folder, stage_stored
from .render import HTML, Renderer, heavy_work, page_path, renderers_for
from .sources import SourceError, discover_source
from .store import Store, batched, now
from .transform import link_targets, sanitize
from .transform.images import ASSETS, ImageError, asset_path, image_urls, process_image
from .transform.script import VARIANTS
from .workers import LOCK_FDS, Calls, pool_size, worker_pool

log = logging.getLogger("newsmirror")

WORKER_DIED = "a worker process died while working on it (killed for lack of memory?)"
MANAGED_DIRS = ("pages", "indexes", "assets", "site", *VARIANTS)  # a script variant's pages are in a folder of its name
HTML_TYPES = re.compile(r"^(text/html|application/xhtml\+xml|text/plain|application/xml|text/xml)\b", re.I)


class RunLocked(Exception):
    pass


class Progress:
    """What the pipeline tells whoever watches: override to show bars; the default says nothing."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def stop(self) -> None: ...


# the article, its content hash, the URLs its body links to, the images it shows (lead first)
Analysed = tuple[Article, str, set[str], list[str]]


def analyse(html: str, url: str, rules: Rules | None) -> Analysed | str:
    """Extract and sanitise one page: the article, its content hash and links; or why it failed.

    Pure and picklable, so it runs in worker processes when there are many pages.
    """
    from .extract import ExtractError, extract  # imported when there is a page: a run with none never needs it

    try:
        art = extract(html, url, rules)
    except ExtractError as exc:
        return exc.reason
    except Exception as exc:  # a page that breaks the parser must not break the run
        return f"extraction crashed ({type(exc).__name__}: {brief(exc)})"
    try:
        art.body_html = sanitize(art.body_html, url)
        body = lxml.html.fragment_fromstring(art.body_html or "<p></p>", create_parent="div")  # once for all three
        text = body.text_content()
        if len(text.strip()) < 20:
            return "no content left after removing scripts, ads and embeds"
        return art, content_hash(art.title, text), link_targets(body), image_urls(art.image, body)
    except Exception as exc:  # nor one that breaks sanitising: that page fails, the run goes on
        return f"sanitising crashed ({type(exc).__name__}: {brief(exc)})"


def analyse_page(resp: Response, rules: Rules | None, warc: bool,
                 cap: int) -> tuple[Analysed | str, WarcRecords | None]:
    """Decode a page as received (at most `cap` bytes once decompressed), analyse() it, and make its WARC
    records when it yields an article (and `warc`). The worker processes do all of it: the run only hands
    them the bytes as they came, often gzip-coded, which is a third of the page's size."""
    try:
        resp = decode_response(resp, cap)
    except FetchError as exc:
        return exc.reason, None
    except Exception as exc:  # noqa: BLE001 (one page's failure, reported as such)
        return f"decoding crashed ({type(exc).__name__}: {brief(exc)})", None
    analysed = analyse(resp.text, resp.final_url, rules)
    if not warc or isinstance(analysed, str):
        return analysed, None
    try:
        return analysed, warc_records(resp)
    except Exception as exc:  # noqa: BLE001 (an article is kept only with its provenance)
        return f"WARC record failed ({type(exc).__name__}: {brief(exc)})", None


def mirror_image(data: bytes, cfg: ImagesConfig, out: Path, bases: list[str],
                 tmp_dir: Path) -> tuple[str, int, int, int]:
    """Check (and perhaps scale and re-encode) one downloaded image and write it into the tree under each
    format's `assets/` (bases: "", "site/"), whole or not at all: its asset path, width, height and bytes.
    Done in a worker process, so only the small answer travels back. Raises ImageError."""
    image = process_image(data, max_width=cfg.max_width, max_pixels=cfg.max_pixels, quality=cfg.quality,
                          reencode=cfg.reencode)
    asset = asset_path(image)
    for base in bases:
        write_if_changed(out / (base + asset), image.data, tmp_dir)
    return asset, image.width, image.height, len(image.data)


def content_hash(title: str, text: str) -> str:
    """The fingerprint of an article's words (title and body text, whitespace folded)."""
    norm = " ".join((title + "\n" + text).split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def _device(path: Path) -> int:
    """The file system `path` is on (or will be on, when it does not exist yet)."""
    for p in (path, *path.parents):
        try:
            return os.stat(p).st_dev
        except FileNotFoundError:
            continue
    return -1


def _stale_files(out: Path, top: str, expected: set[str], keep: Container[str] = ()) -> list[str]:
    """Files under `out/top` the tree should no longer hold (pages and QR codes; under assets/, any file), as
    paths relative to `out`; folders in `keep` are left alone. (os.scandir and strings: at 10,000 pages, a
    Path per file costs tens of MB.)"""
    stale: list[str] = []
    stack = [top]
    while stack:
        rel_dir = stack.pop()
        try:
            entries = list(os.scandir(out / rel_dir))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for e in entries:
            rel_path = f"{rel_dir}/{e.name}"
            if rel_path in keep:
                continue
            if e.is_dir(follow_symlinks=False):
                stack.append(rel_path)
            elif (top in ("assets", "site") or e.name.endswith((".md", ".png"))) and rel_path not in expected:
                stale.append(rel_path)
    return sorted(stale)


def _remove_empty_dirs(root: Path) -> None:
    """Remove the empty folders below `root` (deepest first), not `root` itself."""
    if not root.is_dir():
        return
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        if not files and dirpath != str(root):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass  # not empty: a subfolder is left


@dataclass
class PageWriter:
    """What rendering one article's page into the tree needs; forked worker processes inherit it."""

    renderers: list[Renderer]  # one per output format
    images: bool  # whether images are mirrored (else they are linked where they are)
    out: Path
    tmp_dir: Path

    def __call__(self, a: StoredArticle, with_qr: bool, links: dict[str, tuple[str, str]],
                 images: dict[str, str]) -> list[str] | str:
        """`links`: the URLs the body links to that are kept articles → (category, id); `images`: the article's
        image URLs → the paths of our copies. Both are the article's own, sent with it (small).

        The paths written; or, when rendering failed (a bug: the body is sanitised), why, and nothing is
        written, so that one article cannot stop every build nor leave half of its files."""
        files: dict[str, bytes] = {}
        qr_codes: dict[str, bytes | None] = {}
        assets = images if self.images else None
        try:
            for r in self.renderers:
                body, qr_url = r.prepare(a, links.get, with_qr, assets)
                known = qr_url in qr_codes  # the same code for both formats is made once
                body, qr_bytes = heavy_work((body, None if known else qr_url), r.layout.format)
                if qr_url and known:
                    qr_bytes = qr_codes[qr_url]
                elif qr_url:
                    qr_codes[qr_url] = qr_bytes
                files.update(r.compose(a, body, qr_bytes, assets))
        except Exception as exc:
            return f"rendering its page crashed ({type(exc).__name__}: {brief(exc)})"
        return [rel_path for rel_path, data in files.items()
                if write_if_changed(self.out / rel_path, data, self.tmp_dir)]


_PAGES: PageWriter | None = None  # set by build() before its worker pool forks


def render_page(job: tuple[StoredArticle, bool, dict[str, tuple[str, str]], dict[str, str]]) -> list[str] | str:
    """One article's page (and QR code) rendered and written if changed: the paths written, or why rendering
    failed. Runs in workers."""
    assert _PAGES is not None, "render_page() outside build()"
    return _PAGES(*job)


@dataclass
class BuildResult:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rendered: set[str] = field(default_factory=set)  # ids whose pages are now up to date in the tree
    failed: list[tuple[str, str]] = field(default_factory=list)  # (URL, why) of articles whose page failed

    @property
    def pages_removed(self) -> int:
        return sum(1 for p in self.removed if p.startswith("pages/") and p.endswith(".md"))


class Mirror:
    def __init__(self, cfg: Config, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.progress = progress or Progress()
        self.out = cfg.output_dir
        self.store = Store(cfg.store_path)
        self.renderers = renderers_for(cfg)  # one per format in site.formats and script in site.variants
        self.renderer = self.renderers[0]  # the Markdown pages (of the first variant)
        if cfg.signing_key is not None:  # the home pages show the signing key's fingerprint
            from .publish.manifest import SigningError, public_fingerprint

            try:
                key_fp = public_fingerprint(cfg.signing_key)
            except SigningError as exc:
                self.store.close()
                raise ConfigError(str(exc)) from None
            for r in self.renderers:
                r.key_fingerprint = key_fp
        self._lock_fd: int | None = None
        self.warc: WarcWriter | None = None
        self._started = time.monotonic()
        self.calls = Calls(None)  # the worker processes of the stage at work, if it has any
        self._staging: subprocess.Popen | None = None  # git staging the new images while pages are rendered

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
        self.store.close()
        if self._lock_fd is not None:
            if self._lock_fd in LOCK_FDS:
                LOCK_FDS.remove(self._lock_fd)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- run
    @contextmanager
    def _workers(self, n_items: int) -> Iterator[None]:
        """Worker processes (when `n_items` is worth them) that `self.calls` hands work to, for a stage."""
        with worker_pool(n_items) as pool:
            self.calls = Calls(pool)
            try:
                yield
            finally:
                self.calls = Calls(None)

    @functools.cached_property
    def tmp_dir(self) -> Path:
        """Where files are written before they are renamed into the output tree (never inside the tree): beside
        the store, or in the tree's .git folder when the store is on another file system, as a rename cannot
        cross from one to the other. (store_path resolves symlinks: asked once.)"""
        store_dir = self.cfg.store_path.parent
        if _device(store_dir) != _device(self.out):
            git_dir = git_folder(self.out)
            if _device(git_dir) == _device(self.out):
                return git_dir / "newsmirror-tmp"
        return store_dir / ".newsmirror-tmp"

    @property
    def warc_dir(self) -> Path:
        return self.cfg.store_path.parent / "warcs"

    def _prepare(self) -> None:
        """Make the output a git repository and clear what a killed run may have left."""
        clear_stale_git_locks(self.out)  # we hold the run lock: no git of ours is running
        ensure_repo(self.out)  # (after: a killed git init's HEAD.lock would stop the next)
        remove_stale_temps(self.out)
        if self.tmp_dir.exists():
            from .render.search import remove_stale_indexes

            remove_stale_temps(self.tmp_dir)
            remove_stale_indexes(self.tmp_dir)

    def _warc_writer(self) -> WarcWriter | None:
        if not self.cfg.fetch.warc:
            return None
        stamp = now().strftime("%Y%m%d-%H%M%S")
        return WarcWriter(self.warc_dir, f"{stamp}-{os.getpid()}")

    async def run(self, only: Iterable[str] | None = None) -> RunReport:
        report = RunReport()
        self._prepare()
        names = set(only) if only is not None else None
        sources = [s for s in self.cfg.sources if names is None or s.name in names]
        for s in sources:
            if s.obey_robots is False and self.cfg.fetch.obey_robots:
                log.warning("source %s ignores robots.txt (obey_robots = false): be sure the site allows it", s.name)
        self.warc = self._warc_writer()
        try:
            async with Fetcher(self.cfg.fetch) as fetcher:
                found = [c for cands in await asyncio.gather(*(self._discover(s, fetcher, report)
                                                               for s in sources)) for c in cands]
                left = [c for c in self.store.unfinished(self.cfg.fetch.max_attempts, {c.url for c in found})
                        if (names is None or c.source in names) and self._known(c)]
                todo = self._select(found + left)
                del found, left  # what is not selected is not kept for the rest of the run (memory)
                changed = await self._fetch_all(todo, fetcher, report)
                del todo
                await self._mirror_images(fetcher, report)
        finally:
            if self.warc:
                self.warc.close()
        self._finish(report, changed)
        return report

    def _known(self, c: Candidate) -> bool:
        """A remembered URL whose source and category still exist in the config."""
        if c.category not in self.cfg.categories:
            return False
        return c.source == "picks" or any(s.name == c.source for s in self.cfg.sources)

    async def add(self, urls: list[str], category: str) -> RunReport:
        """Mirror the given article URLs now (the editor's-pick path); existing ones are fetched again."""
        report = RunReport()
        self._prepare()
        todo = [Candidate(url=normalise_url(u), source="picks", category=category, pick=True) for u in urls]
        self.store.add_pending(todo)
        self.warc = self._warc_writer()
        try:
            async with Fetcher(self.cfg.fetch) as fetcher:
                changed = await self._fetch_all(todo, fetcher, report)
                await self._mirror_images(fetcher, report)
        finally:
            if self.warc:
                self.warc.close()
        self._finish(report, changed)
        return report

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
        msg = self._commit(self._page_counts)
        report.committed = msg is not None
        if msg is not None:
            log.info("committed: %s", msg)
        self.store.mark_clean(result.rendered)
        if self.cfg.remotes and self.cfg.publish.on_run:
            self.publish(report)

    def publish(self, report: RunReport, names: Iterable[str] | None = None) -> None:
        """Push the output repository to every remote (or those named), each independently; record each outcome."""
        from .publish.remotes import PushTarget, push_all

        wanted = set(names) if names is not None else None
        known = self.store.remotes()
        targets = [PushTarget(r.name, r.url, r.branch or "main", r.squash, r.force,
                              known[r.name]["pushed_commit"] if r.name in known else None)
                   for r in self.cfg.remotes if wanted is None or r.name in wanted]
        p = self.cfg.publish
        squash_msg = f"{self.cfg.site.title}: the mirror as of {now():%Y-%m-%d %H:%M} UTC (one commit, replaced " \
                     f"by the next publish)"
        results = push_all(self.out, targets, message=squash_msg, retries=p.retries, backoff=p.backoff,
                           timeout=p.timeout)
        for res in results:
            if res.ok and res.commit:
                self.store.remote_pushed(res.name, res.commit)
                report.pushed.append(res.name)
                log.info("remote %s (%s): %s", res.name, res.url, res.detail)
            else:
                self.store.remote_failed(res.name, res.detail)
                report.push_failures.append((res.name, res.detail))
                log.warning("remote %s (%s): push failed: %s; the next run or `newsmirror publish` tries again",
                            res.name, res.url, res.detail)

    def _commit(self, describe: Callable[[Changes], str]) -> str | None:
        """git commit when this or an earlier (killed) build changed the tree; git is not asked otherwise.
        `describe` makes the message from the staged changes. Returns the message, or None: no commit."""
        if self.store.get_meta("uncommitted") != "1" and (git_folder(self.out) / "HEAD").exists() and \
                self.store.get_meta("committed_once") == "1":
            return None
        said: list[str] = []

        def message(changes: Changes) -> str:
            said.append(describe(changes))
            return said[0]

        committed = commit_all(self.out, message, stored=self._image_dirs())
        with self.store.tx():
            self.store.set_meta("uncommitted", "0")
            self.store.set_meta("committed_once", "1")
        return said[0] if committed else None

    def _page_counts(self, changes: Changes) -> str:
        """A run's commit message: the articles whose page (the first script's Markdown) the commit adds,
        changes and removes."""
        pages = self.renderer.layout.root + "pages/"
        ext = self.renderer.layout.ext
        new = updated = removed = 0
        for status, path in changes:
            if path.startswith(pages) and path.endswith(ext) and path.count("/", len(pages)) == 1:
                new += status == "A"
                removed += status == "D"
                updated += status not in ("A", "D")
        return f"newsmirror: {new} new, {updated} updated, {removed} removed"

    def _deadline(self) -> float:
        """When the run stops starting work (time.monotonic()): fetch.max_run_seconds after it began."""
        return self._started + self.cfg.fetch.max_run_seconds

    async def _discover(self, source, fetcher: Fetcher, report: RunReport) -> list[Candidate]:
        try:
            found = await discover_source(source, fetcher, self.cfg.root, self.store.validators, self._deadline())
        except Exception as exc:  # noqa: BLE001 (one source's failure, whatever it is, is that source's alone)
            reason = exc.reason if isinstance(exc, FetchError) else str(exc) if isinstance(exc, SourceError) \
                else f"reading it crashed ({type(exc).__name__}: {brief(exc)})"
            log.error("source %s: %s", source.name, reason)
            self.store.source_ran(source.name, source.kind, reason)
            report.source_errors += 1
            report.failures.append((source.name, reason))
            return []
        with self.store.tx():
            # the URLs first, then the validators that would let the next run skip the page that listed them
            self.store.add_pending(found.candidates)
            for url, (etag, last_modified) in found.validators.items():
                self.store.set_validators(url, etag, last_modified)
            self.store.source_ran(source.name, source.kind, None)
        if found.not_modified and not found.candidates:
            log.info("source %s: not modified since the last run", source.name)
        else:
            log.info("source %s: %d article links", source.name, len(found.candidates))
        return found.candidates

    def _select(self, cands: list[Candidate]) -> list[Candidate]:
        """Only URLs not mirrored yet (or updated since we fetched them, or failed but worth a retry)."""
        todo: list[Candidate] = []
        seen: set[str] = set()
        for c in cands:
            if c.url in seen:
                continue
            seen.add(c.url)
            row = self.store.url_row(c.url)
            # a URL that led to an article is marked ok (or duplicate); pending and failed ones led to none
            have = None if row is not None and row["status"] in ("pending", "failed", "gave_up") \
                else self.store.article_by_url(c.url)
            if have is not None:
                if c.updated and c.updated > max(have.fetched_at, have.last_seen):  # since we last read it
                    # due until it is fetched again: a run that stops first leaves it to the next, which may
                    # find the feed unchanged (304) and so not see this item again
                    self.store.mark_url(c.url, c.source, "pending", article_id=have.id)
                    todo.append(c)
                continue
            if row is not None and row["status"] == "gave_up":
                continue
            if row is not None and row["status"] == "failed" and row["attempts"] >= self.cfg.fetch.max_attempts:
                self.store.mark_url(c.url, c.source, "gave_up", reason=row["reason"])
                log.warning("giving up on %s after %d failures: %s", c.url, row["attempts"], row["reason"])
                continue
            todo.append(c)
        return todo

    async def _fetch_all(self, todo: list[Candidate], fetcher: Fetcher, report: RunReport) -> set[str]:
        changed: set[str] = set()
        if not todo:
            return changed
        self.progress.start("fetching", len(todo))
        with self._workers(len(todo)), self.store.grouped():
            await self._fetch_each(todo, fetcher, report, changed)
        self.progress.stop()
        # pages that link to an article we just got now point at our copy
        if self.cfg.site.link_policy == "mirror" and changed:
            urls = self.store.urls_of(changed)
            urls.update(c.url for c in todo)
            changed |= self._due(self.store.linking_to(urls))
        return changed

    async def _fetch_each(self, todo: list[Candidate], fetcher: Fetcher, report: RunReport,
                          changed: set[str]) -> None:
        deadline = self._deadline()
        deferred: list[str] = []
        inflight = self._inflight()

        async def one(c: Candidate) -> None:
            try:
                if time.monotonic() > deadline:  # bounded runs: what is left stays pending for the next one
                    deferred.append(c.url)
                    return
                async with inflight:
                    aid = await self._mirror_one(c, fetcher, report)
                if aid:
                    changed.add(aid)
            finally:
                self.progress.advance()

        await self._by_host_lanes(todo, lambda c: c.url, one)
        if deferred:
            report.deferred = len(deferred)
            log.warning("fetch.max_run_seconds (%s s) reached: %d URLs left for the next run",
                        self.cfg.fetch.max_run_seconds, len(deferred))

    def _inflight(self) -> asyncio.Semaphore:
        """Bounded memory: a page or picture fetched waits for its worker holding its bytes (a picture up to
        images.max_bytes), so only a few more than are fetched at once may wait; the lanes are more than that."""
        return asyncio.Semaphore(self.cfg.fetch.concurrency + 8)

    async def _by_host_lanes(self, items: list, url_of: Callable[[Any], str],
                             one: Callable[[Any], Awaitable[None]]) -> None:
        """`one(item)` for every item, by a few lanes per host, each taking that host's next item: tasks stay
        few however many URLs there are (bounded memory), and a slow or rate-limited host holds up only its own.
        Per host: as many lanes as may fetch from it at once, and as many again whose pages are being analysed."""
        by_host: dict[str, list] = {}
        for item in items:
            by_host.setdefault(urlsplit(url_of(item)).hostname or "", []).append(item)

        async def drain(queue: Iterator) -> None:
            for item in queue:
                await one(item)

        lanes = self.cfg.fetch.per_host + (self.calls.batch * pool_size() if self.calls.pool is not None else 0) + 2
        await asyncio.gather(*(drain(q) for group in by_host.values() for q in [iter(group)] * min(len(group), lanes)))

    async def _mirror_images(self, fetcher: Fetcher, report: RunReport) -> None:
        """Download the images articles show (new ones, and failed ones with tries left), check and re-encode
        them, and store them content-addressed in the tree; the pages showing one that arrived are re-rendered."""
        cfg = self.cfg.images
        if cfg.download and self.store.get_meta("images_download") != "1":
            # turned on again (or a store from before this was noted): the pictures the tree lost while it was
            # off are fetched again
            gone = [url for url, asset in self.store.image_assets().items() if not (self.out / asset).is_file()]
            with self.store.tx():
                self.store.forget_images(gone)
                self.store.set_meta("images_download", "1")
        due = self.store.images_due(cfg.max_attempts) if cfg.download else []
        if not due:
            return
        arrived: list[str] = []
        self.progress.start("images", len(due))
        bases = list(dict.fromkeys(r.layout.asset("") for r in self.renderers))  # site/ holds its own copy
        self.store.set_meta("uncommitted", "1")  # before the tree changes: the next run commits it

        inflight = self._inflight()
        deadline = self._deadline()

        async def one(url: str) -> None:
            try:
                if time.monotonic() > deadline:  # bounded runs: it stays due for the next one
                    report.images_deferred += 1
                    return
                async with inflight:
                    resp = await fetcher.get(url, as_text=False, max_bytes=cfg.max_bytes)
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if ctype.startswith(("text/", "application/json", "application/xhtml")):
                        raise ImageError(f"not an image (Content-Type: {ctype})")
                    args = (resp.body, cfg, self.out, bases, self.tmp_dir)
                    try:
                        asset, width, height, size = await self.calls(mirror_image, *args)
                    except BrokenProcessPool:  # as for a page: a failed attempt, then the run ends
                        self.store.image_failed(url, WORKER_DIED)
                        raise
                with self.store.tx():  # the pages that show it are due with it: a kill after this leaves them dirty
                    self.store.image_done(url, asset, width, height, size)
                    self.store.mark_dirty(self.store.articles_showing([url]))
                arrived.append(url)
            except (FetchError, ImageError) as exc:
                reason = exc.reason if isinstance(exc, FetchError) else str(exc)
                log.warning("image %s: %s (its alt text is shown instead; tried again next run)", url, reason)
                self.store.image_failed(url, reason)
                report.images_failed += 1
            finally:
                self.progress.advance()

        with self._workers(len(due)), self.store.grouped():
            await self._by_host_lanes(due, lambda u: u, one)
        self.progress.stop()
        if report.images_deferred:
            log.warning("fetch.max_run_seconds (%s s) reached: %d images left for the next run",
                        self.cfg.fetch.max_run_seconds, report.images_deferred)
        report.images = len(arrived)  # (the pages showing them were marked due with each: build renders them)
        if arrived:
            self._staging = stage_stored(self.out, self._image_dirs())

    def _due(self, ids: set[str]) -> set[str]:
        """Pages that must be rendered again, remembered in the store before the build does it: a run killed
        first leaves them to the next, which knows nothing of what this one found."""
        with self.store.tx():
            self.store.mark_dirty(ids)
        return ids

    def _image_dirs(self) -> list[str]:
        """The image folders of the tree: assets/, and site/assets/ when the HTML site is on."""
        return list(dict.fromkeys(r.layout.asset(ASSETS) for r in self.renderers))

    def _fail(self, c: Candidate, reason: str, report: RunReport) -> None:
        log.error("failed %s: %s", c.url, reason)
        self.store.mark_url(c.url, c.source, "failed", reason=reason, failed=True)
        report.failed += 1
        report.failures.append((c.url, reason))

    def _obey(self, source_name: str) -> bool | None:
        try:
            return self.cfg.source(source_name).obey_robots
        except KeyError:
            return None

    async def _mirror_one(self, c: Candidate, fetcher: Fetcher, report: RunReport) -> str | None:
        try:
            resp = await fetcher.get(c.url, obey_robots=self._obey(c.source), decoded=False)
        except FetchError as exc:
            self._fail(c, exc.reason, report)
            return None
        ctype = resp.headers.get("content-type", "text/html")
        if not HTML_TYPES.match(ctype.strip()):
            self._fail(c, f"not an HTML page (Content-Type: {ctype.split(';')[0]})", report)
            return None

        args = (resp, self._rules(c.source), bool(self.warc), self.cfg.fetch.max_bytes)
        try:
            analysed, records = await self.calls(analyse_page, *args)
        except BrokenProcessPool:  # the run ends; this page counts a failed attempt, so one that kills its
            self._fail(c, WORKER_DIED, report)  # worker every time is given up after fetch.max_attempts
            raise

        def archive() -> WarcRef | None:
            return self.warc.append(records) if self.warc and records else None

        return self._process(c, analysed, archive, report)

    def _process(self, c: Candidate, analysed: Analysed | str, archive: Callable[[], WarcRef | None],
                 report: RunReport) -> str | None:
        """Deduplicate and store one analysed page; the article's id when it is new or changed.

        `analysed` is what analyse() made of the page, or why it failed. `archive()` writes the
        response to the WARC (before the store refers to it) and returns where.
        """
        if isinstance(analysed, str):
            self._fail(c, analysed, report)
            return None
        art, h, targets, images = analysed
        art.source, art.category = c.source, c.category
        art.published = art.published or c.published
        existing = self.store.article_by_url(art.canonical_url)
        if existing is None and c.url != art.canonical_url:
            existing = self.store.article_by_url(c.url)
        if existing is None:
            twin = self.store.article_by_hash(h)
            if twin is not None:
                log.info("duplicate %s: same content as %s", c.url, twin.id)
                self.store.mark_url(c.url, c.source, "duplicate", article_id=twin.id,
                                    reason=f"same content as {twin.canonical_url}")
                report.duplicates += 1
                return None
        note = "; ".join(art.notes) or None
        if note:
            log.warning("%s: %s (used %s extraction)", c.url, note, art.extracted_by)
        if existing is not None:
            art.id = existing.id
            if existing.canonical_url != art.canonical_url and self.store.article_by_url(art.canonical_url) is None:
                art.canonical_url = existing.canonical_url
            art.category = existing.category if c.source != "picks" else c.category
            # unchanged, and not just made a pick (`add`) nor moved to another category by one
            if existing.content_hash == h and not (c.pick and (not existing.pick or existing.category != art.category)):
                self.store.touch_article(existing.id)
                self.store.mark_url(c.url, c.source, "ok", article_id=existing.id, reason=note)
                report.unchanged += 1
                return None
            report.updated += 1
        else:
            art.id = article_id(art.canonical_url, lambda i: self.store.id_taken(i, art.canonical_url))
            report.new += 1
        ref = archive()
        with self.store.tx():
            warc = (ref.file, ref.offset, ref.record_id, ref.payload_digest) if ref is not None else None
            self.store.save_article(art, h, c.pick, warc)
            self.store.set_links(art.id, targets, new=existing is None)
            self.store.set_article_images(art.id, images, new=existing is None)
            self.store.mark_url(c.url, c.source, "ok", article_id=art.id, reason=note)
            if art.canonical_url != c.url:
                self.store.mark_url(art.canonical_url, c.source, "ok", article_id=art.id)
            if self.cfg.site.link_policy == "mirror":  # the pages that link to it, due with it (a kill after
                # this commit leaves them dirty: the next run does not fetch this article again)
                self.store.mark_dirty(self.store.linking_to({c.url, art.url, art.canonical_url}) - {art.id})
        log.info("%s %s → %s", "updated" if existing else "new", c.url, page_path(art.category, art.id))
        return art.id

    def _rules(self, source_name: str):
        try:
            return self.cfg.source(source_name).rules
        except KeyError:
            return None

    # -- build
    def kept(self) -> list[Listed]:
        """The articles that have a page in the tree: all, or the newest N per category."""
        out: list[Listed] = []
        n = self.cfg.site.retention
        for key in self.cfg.categories:
            arts = self.store.listing(key)
            out.extend(arts[:n] if n else arts)
        return sorted(out, key=lambda a: (a.sort_date, a.id), reverse=True)

    def counts(self) -> tuple[dict[str, int] | None, str]:
        """Views per page for the hot list, and a label saying where they come from (which days)."""
        site = self.cfg.site
        if site.counter_stats:
            from .counter.db import tree_pages
            from .counter.views import ViewsError, read_views

            held = tree_pages(self.out)  # read once: the counter may list many made-up pages
            try:  # finished days (up to yesterday, UTC): the published list says nothing of today's readers
                views, span = read_views(site.counter_stats, self.cfg.root, site.hot_days,
                                         now().date() - timedelta(days=1), held.__contains__)
            except ViewsError as exc:
                log.error("site.counter_stats: %s; the hot list falls back to recency", exc)
                return None, ""
            return views, f"最近 {site.hot_days} 天：{span} UTC · last {site.hot_days} days"
        if not site.counts:
            return None, ""
        p = self.cfg.root / self.cfg.site.counts
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            counts = {str(k): int(v) for k, v in data.items()}
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            log.error("site.counts %s: cannot read view counts (%s); the hot list falls back to recency", p, exc)
            return None, ""
        return counts, p.name

    def build(self, changed: set[str] | None = None) -> BuildResult:
        """Render pages and indexes from the store: the pages of `changed` articles and of those not yet
        committed (dirty), or every page when `changed` is None or the config or templates changed."""
        ensure_repo(self.out)
        # the tree changed since the last commit (a run killed after writing pages, before its commit):
        # what is made from the whole tree (search index, signed manifest) is made again even if this build
        # itself writes nothing, as the files it would write are there already
        stale = self.store.get_meta("uncommitted") == "1"
        if not self.cfg.images.download and self.store.get_meta("images_download") != "0":
            self.store.set_meta("images_download", "0")  # before the pictures leave the tree (see _mirror_images)
        fp = self.renderer.fingerprint()
        full = changed is None or self.store.get_meta("render_fingerprint") != fp
        qr_base = self.cfg.site.base_url or ""
        all_qr = full or self.store.get_meta("qr_base_url") != qr_base  # a killed rebuild did not finish them
        if full:
            with self.store.tx():  # every page is due; remembered before any is written
                self.store.db.execute("UPDATE articles SET dirty=1")
                self.store.set_meta("render_fingerprint", fp)
        due = set(changed or ()) | self.store.dirty_ids()
        counts, label = self.counts()
        # nothing saved since the last build, same config, templates and counts: the tree is up to date
        # (the usual cron run that found nothing new ends here, without reading every article)
        quick = json.dumps([fp, self.store.articles_version(), counts, label], sort_keys=True)
        listed = json.loads(self.store.get_meta("index_files") or "[]")
        indexes_present = bool(listed) and all((self.out / p).exists() for p in listed)
        if not full and not due and not stale and quick == self.store.get_meta("index_key") and indexes_present:
            return BuildResult()
        kept = self.kept()
        kept_ids = {a.id for a in kept}
        # the indexes, and which files belong in the tree, depend only on the kept articles' listing
        # fields (and counts): when that digest is unchanged, only the due pages need work
        h = hashlib.sha256(json.dumps([fp, counts, label], sort_keys=True).encode())
        for a in kept:  # one article at a time: no copy of the whole listing as one string
            h.update(f"{a.id}\x1f{a.category}\x1f{a.title}\x1f{a.sort_date.isoformat()}\x1f{a.pick:d}\x1f"
                     f"{a.fetched_at.isoformat()}\x1e".encode())
        digest = h.hexdigest()
        same = not full and digest == self.store.get_meta("index_digest") and indexes_present
        # pages that came into the tree or left it since the last build (site.retention): the pages that link
        # to them must link to the copy, or to the original again
        if self.cfg.site.retention:
            flipped = self.store.tree_ids() ^ kept_ids
        else:
            flipped = self.store.tree_ids(in_tree=False)
        if flipped and self.cfg.site.link_policy == "mirror":
            due |= self.store.linking_to(self.store.urls_of(flipped)) & kept_ids

        def will_change_tree() -> None:
            if not result.written and not result.removed:
                self.store.set_meta("uncommitted", "1")  # before the tree changes: the next run commits it

        def write(rel_path: str, data: bytes) -> None:
            will_change_tree()
            if write_if_changed(self.out / rel_path, data, self.tmp_dir):
                result.written.append(rel_path)

        result = BuildResult()
        expected: set[str] = set()
        todo: list[Listed] = []
        # the images the kept pages show (the HTML site has its own copies)
        shown = {x for aid, x in self.store.shown_assets() if aid in kept_ids} if self.cfg.images.download else None
        if shown:
            for r in self.renderers:
                expected.update(r.layout.asset(x) for x in shown)
            for x in sorted(shown):  # a site made after the images were mirrored gets its copies now
                for r in self.renderers[1:]:
                    if not (self.out / r.layout.asset(x)).exists() and (self.out / x).is_file():
                        write(r.layout.asset(x), (self.out / x).read_bytes())
        for lite in kept:
            pages = [r.layout.page(lite.category, lite.id) for r in self.renderers]
            expected.update(pages)
            expected.update(r.layout.qr(lite.category, lite.id) for r in self.renderers if r.qr_url(lite))
            if lite.id in due or (not same and not all((self.out / p).exists() for p in pages)):
                todo.append(lite)
        if todo:
            will_change_tree()  # pages are written by worker processes, which do not touch the store
        unrendered = self._render_pages(todo, kept_ids, all_qr, result)
        if unrendered:
            # one that is not in the tree is left out of the indexes, and the pages just made that link to it
            # are made again to link to the original, until it works
            missing = {x.id for x in kept if x.id in unrendered and not all(
                (self.out / r.layout.page(x.category, x.id)).exists() for r in self.renderers)}
            with self.store.tx():  # it stays dirty: the next build tries it again; once it works, the pages
                self.store.mark_dirty(unrendered)  # that link to it are made again (`flipped`)
                self.store.set_in_tree(missing, False)
            if missing:
                kept = [x for x in kept if x.id not in missing]
                kept_ids -= missing
                same = False
                digest = ""  # not what the indexes show: the next build makes them again
                linking = self.store.linking_to(self.store.urls_of(missing)) & result.rendered & kept_ids
                self._render_pages([x for x in kept if x.id in linking], kept_ids, False, result)
        result.rendered |= due - kept_ids - unrendered  # not in the tree (retention): nothing to render
        if flipped:  # only now are the pages that link to them written
            with self.store.tx():
                self.store.set_in_tree(flipped & kept_ids, True)
                self.store.set_in_tree(flipped - kept_ids, False)
        if same:
            self._search_index(result, will_change_tree, stale)
            self._sign(result, write, stale)
            self.store.set_meta("index_key", quick)
            return result
        files: dict[str, bytes] = {}
        for r in self.renderers:
            files.update(r.indexes(kept, counts, label))
        for rel_path, data in files.items():
            expected.add(rel_path)
            write(rel_path, data)
        # the search index, which Pagefind rewrites whole, while the HTML site is made
        keep = {HTML.root + "pagefind"} if "html" in self.cfg.site.formats else set()
        for d in MANAGED_DIRS:
            for rel_path in _stale_files(self.out, d, expected, keep):
                will_change_tree()
                (self.out / rel_path).unlink()
                result.removed.append(rel_path)
            _remove_empty_dirs(self.out / d)
        self._search_index(result, will_change_tree, stale)
        self._sign(result, write, stale)
        with self.store.tx():  # only now is the tree what the digest says
            self.store.set_meta("index_digest", digest)
            self.store.set_meta("index_files", json.dumps(sorted(files)))
            self.store.set_meta("index_key", quick if digest else "")
        self.store.set_meta("qr_base_url", qr_base)
        return result

    def _render_pages(self, todo: list[Listed], kept_ids: set[str], all_qr: bool, result: BuildResult) -> set[str]:
        """Render the pages of these articles in worker processes, linking to the articles in `kept_ids`; the
        paths written go into `result`. Returns the ids whose rendering failed (nothing of them written)."""
        global _PAGES
        _PAGES = PageWriter(self.renderers, self.cfg.images.download, self.out, self.tmp_dir)  # forked workers use it
        unrendered: set[str] = set()
        try:
            def collect(arts: list[StoredArticle], done: Iterable[list[str] | str]) -> None:
                for a, written in zip(arts, done, strict=True):
                    if isinstance(written, str):
                        log.error("%s: %s; its page is left as it was", a.url, written)
                        result.failed.append((a.url, written))
                        unrendered.add(a.id)
                        continue
                    result.written.extend(written)
                    result.rendered.add(a.id)

            with worker_pool(len(todo)) as pool:
                # 128 articles at a time (bounded memory), the next batch sent before the last one's
                # pages are collected, so that the workers never wait for the store
                previous: tuple[list[StoredArticle], Iterable[list[str] | str]] | None = None
                for batch in batched(todo, 128):
                    arts = self.store.articles_by_id([x.id for x in batch])
                    ids = [a.id for a in arts]
                    links, images = self.store.page_links(ids), self.store.page_images(ids)
                    # a page's QR code only changes with its share URL (base_url: a full build)
                    jobs = [(a, all_qr or not all((self.out / r.layout.qr(a.category, a.id)).exists()
                                                  for r in self.renderers if r.qr_url(a)),
                             {url: (cat, aid) for url, (aid, cat) in links[a.id].items() if aid in kept_ids},
                             images[a.id]) for a in arts]
                    done = pool.map(render_page, jobs, chunksize=16) if pool else map(render_page, jobs)
                    if previous is not None:
                        collect(*previous)
                    previous = (arts, done)
                if previous is not None:
                    collect(*previous)
        finally:
            _PAGES = None
        return unrendered

    def _sign(self, result: BuildResult, write: Callable[[str, bytes], None], stale: bool = False) -> None:
        """With signing.key: manifest.json (SHA-256 of every file) and its Ed25519 signature, when the tree
        changed or has none. Without it, none: a manifest left from when signing was on would no longer match
        the pages, and readers would take that for tampering."""
        from .publish.manifest import MANIFEST, SIGNATURE, write_manifest

        key = self.cfg.signing_key
        if key is None:
            for rel_path in (MANIFEST, SIGNATURE):
                if (self.out / rel_path).is_file():
                    if not result.written and not result.removed:
                        self.store.set_meta("uncommitted", "1")  # before the tree changes: the next run commits
                    (self.out / rel_path).unlink()
                    result.removed.append(rel_path)
            return

        if stale or result.written or result.removed or not (self.out / MANIFEST).is_file():
            for rel_path, data in write_manifest(self.out, key, f"newsmirror {__version__}").items():
                write(rel_path, data)

    def _search_index(self, result: BuildResult, will_change_tree: Callable[[], None], stale: bool = False) -> None:
        """Index the HTML site for search when any of its pages changed (or it has no index yet)."""
        if "html" not in self.cfg.site.formats:
            return
        site = self.out / HTML.root.rstrip("/")
        changed = stale or any(p.startswith(HTML.root) for p in result.written + result.removed)
        if site.is_dir() and (changed or not (site / "pagefind" / "pagefind.js").is_file()):
            from .render.search import build_search_index

            will_change_tree()
            build_search_index(site, self.tmp_dir)

    def reextract(self) -> RunReport:
        """Extract every article again from the response kept in its WARC record: no network.

        For when the extractor or a source's rules improved. Articles whose text changes are
        updated; the pages are rebuilt and committed.
        """
        report = RunReport()
        self._prepare()
        changed: set[str] = set()
        with self.store.grouped():
            self._reextract_each(report, changed)
        self._finish(report, changed)
        return report

    def _reextract_each(self, report: RunReport, changed: set[str]) -> None:
        for lite in self.store.articles(with_body=False):
            ref = self.store.warc_ref(lite.id)
            if ref is None:
                report.failed += 1
                report.failures.append((lite.url, "no WARC record (mirrored with fetch.warc = false?)"))
                continue
            try:
                page = read_page(self.warc_dir, ref)
            except (OSError, ValueError) as exc:
                report.failed += 1
                report.failures.append((lite.url, f"WARC record unreadable: {exc}"))
                log.error("%s: WARC record unreadable: %s", lite.url, exc)
                continue
            c = Candidate(url=lite.url, source=lite.source, category=lite.category, pick=lite.pick,
                          published=lite.published)
            aid = self._process(c, analyse(page.text, page.url, self._rules(c.source)), lambda: None, report)
            if aid:
                changed.add(aid)

    def rebuild(self) -> tuple[BuildResult, bool]:
        """`newsmirror build`: every page and index from the store, then a commit if anything changed."""
        self._prepare()
        result = self.build(changed=None)
        committed = self._commit(lambda changes: f"newsmirror build: {sum(s != 'D' for s, _ in changes)} files "
                                                 f"written, {sum(s == 'D' for s, _ in changes)} removed")
        self.store.mark_clean(result.rendered)
        return result, committed is not None

