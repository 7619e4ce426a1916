"""The run: sources → fetch → extract → transform → store → render → publish.

Each stage is a small module; this one only wires them together and keeps
the books (what is new, updated, failed, removed) for the log, the commit
message and the exit code.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import lxml.html

from .config import Config
from .extract import ExtractError, extract
from .fetch import Fetcher, FetchError
from .fsutil import remove_stale_temps, write_if_changed
from .ids import article_id, normalise_url
from .models import Candidate, RunReport, StoredArticle
from .publish import commit_all, ensure_repo
from .render import Renderer, page_path, qr_path
from .sources import SourceError, discover
from .store import Store
from .transform import link_targets, sanitize

log = logging.getLogger("newsmirror")

MANAGED_DIRS = ("pages", "indexes")
HTML_TYPES = re.compile(r"^(text/html|application/xhtml\+xml|text/plain|application/xml|text/xml)\b", re.I)


class RunLocked(Exception):
    pass


class Progress:
    """What the pipeline tells whoever watches: override to show bars; the default says nothing."""

    def start(self, label: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def stop(self) -> None: ...


def content_hash(title: str, body_html: str) -> str:
    text = lxml.html.fragment_fromstring(body_html, create_parent="div").text_content() if body_html else ""
    norm = " ".join((title + "\n" + text).split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


@dataclass
class BuildResult:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def pages_removed(self) -> int:
        return sum(1 for p in self.removed if p.startswith("pages/") and p.endswith(".md"))


class Mirror:
    def __init__(self, cfg: Config, progress: Progress | None = None) -> None:
        self.cfg = cfg
        self.progress = progress or Progress()
        self.out = cfg.output_dir
        self.store = Store(cfg.store_path)
        self.renderer = Renderer(cfg)
        self._lock_fd: int | None = None

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

    def close(self) -> None:
        self.store.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- run
    async def run(self, only: Iterable[str] | None = None) -> RunReport:
        report = RunReport()
        ensure_repo(self.out)
        remove_stale_temps(self.out)
        sources = [s for s in self.cfg.sources if only is None or s.name in set(only)]
        async with Fetcher(self.cfg.fetch) as fetcher:
            found = await asyncio.gather(*(self._discover(s, fetcher, report) for s in sources))
            todo = self._select([c for cands in found for c in cands])
            changed = await self._fetch_all(todo, fetcher, report)
        self._finish(report, changed)
        return report

    async def add(self, urls: list[str], category: str) -> RunReport:
        """Mirror the given article URLs now (the editor's-pick path); existing ones are fetched again."""
        report = RunReport()
        ensure_repo(self.out)
        remove_stale_temps(self.out)
        todo = [Candidate(url=normalise_url(u), source="picks", category=category, pick=True) for u in urls]
        async with Fetcher(self.cfg.fetch) as fetcher:
            changed = await self._fetch_all(todo, fetcher, report)
        self._finish(report, changed)
        return report

    def _finish(self, report: RunReport, changed: set[str]) -> None:
        result = self.build(changed=changed)
        report.removed = result.pages_removed
        if result.written or result.removed:
            msg = f"newsmirror: {report.new} new, {report.updated} updated, {report.removed} removed"
            report.committed = commit_all(self.out, msg)
            if report.committed:
                log.info("committed: %s", msg)

    async def _discover(self, source, fetcher: Fetcher, report: RunReport) -> list[Candidate]:
        try:
            cands = await discover(source, fetcher, self.cfg.root)
        except (FetchError, SourceError) as exc:
            reason = exc.reason if isinstance(exc, FetchError) else str(exc)
            log.error("source %s: %s", source.name, reason)
            self.store.source_ran(source.name, source.kind, reason)
            report.source_errors += 1
            report.failures.append((source.name, reason))
            return []
        self.store.source_ran(source.name, source.kind, None)
        log.info("source %s: %d article links", source.name, len(cands))
        return cands

    def _select(self, cands: list[Candidate]) -> list[Candidate]:
        """Only URLs not mirrored yet (or updated since we fetched them, or failed but worth a retry)."""
        todo: list[Candidate] = []
        seen: set[str] = set()
        for c in cands:
            if c.url in seen:
                continue
            seen.add(c.url)
            row = self.store.url_row(c.url)
            have = self.store.article_by_url(c.url)
            if have is not None:
                if c.updated and c.updated > have.fetched_at:
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

        async def one(c: Candidate) -> None:
            try:
                aid = await self._mirror_one(c, fetcher, report)
                if aid:
                    changed.add(aid)
            finally:
                self.progress.advance()

        await asyncio.gather(*(one(c) for c in todo))
        self.progress.stop()
        # pages that link to an article we just got now point at our copy
        if self.cfg.site.link_policy == "mirror" and changed:
            urls: set[str] = set()
            for aid in changed:
                a = self.store.article(aid)
                if a:
                    urls.update({a.url, a.canonical_url})
            urls.update(c.url for c in todo)
            changed |= self.store.linking_to(urls)
        return changed

    def _fail(self, c: Candidate, reason: str, report: RunReport) -> None:
        log.error("failed %s: %s", c.url, reason)
        self.store.mark_url(c.url, c.source, "failed", reason=reason, failed=True)
        report.failed += 1
        report.failures.append((c.url, reason))

    async def _mirror_one(self, c: Candidate, fetcher: Fetcher, report: RunReport) -> str | None:
        try:
            resp = await fetcher.get(c.url)
        except FetchError as exc:
            self._fail(c, exc.reason, report)
            return None
        ctype = resp.headers.get("content-type", "text/html")
        if not HTML_TYPES.match(ctype.strip()):
            self._fail(c, f"not an HTML page (Content-Type: {ctype.split(';')[0]})", report)
            return None
        rules = self._rules(c.source)
        try:
            art = extract(resp.text, resp.final_url, rules)
        except ExtractError as exc:
            self._fail(c, exc.reason, report)
            return None
        except Exception as exc:  # a page that breaks the parser must not break the run
            self._fail(c, f"extraction crashed ({type(exc).__name__}: {exc})", report)
            return None
        art.body_html = sanitize(art.body_html, resp.final_url)
        body = lxml.html.fragment_fromstring(art.body_html or "<p></p>", create_parent="div")
        if len(body.text_content().strip()) < 20:
            self._fail(c, "no content left after removing scripts, ads and embeds", report)
            return None
        art.source, art.category = c.source, c.category
        art.published = art.published or c.published
        if not art.title and c.title:
            art.title = c.title
        h = content_hash(art.title, art.body_html)
        existing = self.store.article_by_url(art.canonical_url) or self.store.article_by_url(c.url)
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
            if existing.content_hash == h:
                self.store.touch_article(existing.id)
                self.store.mark_url(c.url, c.source, "ok", article_id=existing.id, reason=note)
                report.unchanged += 1
                return None
            report.updated += 1
        else:
            art.id = article_id(art.canonical_url, lambda i: self.store.id_taken(i, art.canonical_url))
            report.new += 1
        with self.store.tx():
            self.store.save_article(art, h, c.pick)
            self.store.set_links(art.id, link_targets(art.body_html))
            self.store.mark_url(c.url, c.source, "ok", article_id=art.id, reason=note)
            if art.canonical_url != c.url:
                self.store.mark_url(art.canonical_url, c.source, "ok", article_id=art.id)
        log.info("%s %s → %s", "updated" if existing else "new", c.url, page_path(art.category, art.id))
        return art.id

    def _rules(self, source_name: str):
        try:
            return self.cfg.source(source_name).rules
        except KeyError:
            return None

    # -- build
    def kept(self) -> list[StoredArticle]:
        """The articles that have a page in the tree: all, or the newest N per category."""
        out: list[StoredArticle] = []
        n = self.cfg.site.retention
        for key in self.cfg.categories:
            arts = self.store.articles(key)
            out.extend(arts[:n] if n else arts)
        return sorted(out, key=lambda a: (a.sort_date, a.id), reverse=True)

    def counts(self) -> tuple[dict[str, int] | None, str]:
        if not self.cfg.site.counts:
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
        """Render pages and indexes from the store. `changed=None` renders every page."""
        ensure_repo(self.out)
        fp = self.renderer.fingerprint()
        if self.store.get_meta("render_fingerprint") != fp:
            changed = None
        kept = self.kept()
        url_map = self.store.url_index()
        kept_ids = {a.id for a in kept}

        def mirrored(url: str) -> str | None:
            hit = url_map.get(url)
            return page_path(hit[1], hit[0]) if hit and hit[0] in kept_ids else None

        result = BuildResult()
        expected: set[str] = set()
        for a in kept:
            expected.add(page_path(a.category, a.id))
            if self.cfg.site.base_url:
                expected.add(qr_path(a.category, a.id))
            if changed is not None and a.id not in changed and (self.out / page_path(a.category, a.id)).exists():
                continue
            for rel_path, data in self.renderer.article(a, mirrored).items():
                if write_if_changed(self.out / rel_path, data):
                    result.written.append(rel_path)
        counts, label = self.counts()
        for rel_path, data in self.renderer.indexes(kept, counts, label).items():
            expected.add(rel_path)
            if write_if_changed(self.out / rel_path, data):
                result.written.append(rel_path)
        for d in MANAGED_DIRS:
            root = self.out / d
            if not root.exists():
                continue
            for p in sorted(root.rglob("*")):
                rel_path = p.relative_to(self.out).as_posix()
                if p.is_file() and p.suffix in (".md", ".png") and rel_path not in expected:
                    p.unlink()
                    result.removed.append(rel_path)
            for sub in sorted((q for q in root.rglob("*") if q.is_dir()), reverse=True):
                if not any(sub.iterdir()):
                    sub.rmdir()
        self.store.set_meta("render_fingerprint", fp)
        return result

    def rebuild(self) -> tuple[BuildResult, bool]:
        """`newsmirror build`: every page and index from the store, then a commit if anything changed."""
        result = self.build(changed=None)
        committed = False
        if result.written or result.removed:
            committed = commit_all(self.out, f"newsmirror build: {len(result.written)} files written, "
                                             f"{len(result.removed)} removed")
        return result, committed

