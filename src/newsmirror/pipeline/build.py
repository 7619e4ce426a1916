"""Carry out a BuildPlan: render the due pages, the indexes, remove what the tree should no longer hold,
index the HTML site for search and sign the tree; every change goes through the one TreeWriter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .. import __version__
from ..models import Listed, StoredArticle
from ..publish import ensure_repo
from ..render import HOME, HTML, MARKDOWN
from ..render.search import INDEX_DIR
from ..revisit.render import revision_files
from ..store import batched
from ..variants import VARIANTS
from ..workers import worker_pool
from .context import Context
from .images import forget_lost_images
from .plan import BuildPlan, plan_build
from .seams import SEAMS
from .writer import PageWriter, TreeWriter, render_page, set_page_writer

log = logging.getLogger("newsmirror")

MANAGED_DIRS = ("pages", "indexes", "assets", "site", *VARIANTS)  # a script variant's pages are in a folder of its name


@dataclass
class BuildResult:
    writer: TreeWriter | None = None
    rendered: set[str] = field(default_factory=set)  # ids whose pages are now up to date in the tree
    failed: list[tuple[str, str]] = field(default_factory=list)  # (URL, why) of articles whose page failed

    @property
    def written(self) -> list[str]:
        return self.writer.written if self.writer else []

    @property
    def removed(self) -> list[str]:
        return self.writer.removed if self.writer else []

    @property
    def changed(self) -> set[str]:
        return self.writer.changed if self.writer else set()

    @property
    def pages_removed(self) -> int:
        return sum(1 for p in self.removed if MARKDOWN.page_of(p) is not None)


def guarded() -> tuple[str, ...]:
    """The folders and files of the tree newsmirror writes and sweeps: no symbolic link may be among them."""
    from ..publish.manifest import MANIFEST, SIGNATURE

    return (*MANAGED_DIRS, HOME, MANIFEST, SIGNATURE)


def file_folder(rel: str) -> bool:
    """A folder of the tree that holds one file per page or image (pages/<category>/, assets/ab/) or the search
    index's: many files and no folder of ours. The quick symbolic-link check looks at it, not into it."""
    parts = rel.split("/")
    return (len(parts) >= 2 and parts[-2] in ("pages", "assets")) or "pagefind" in parts[:-1]


def tree_writer(ctx: Context) -> TreeWriter:
    return TreeWriter(ctx.out, ctx.tmp_dir, guarded(), lambda: ctx.store.set_state(uncommitted=True))


def ours(exts: tuple[str, ...]) -> Callable[[str, str], bool]:
    """Which files under a managed folder are ours to sweep: every file under assets/ and site/, else pages and
    QR codes (the Markdown layout's page extension, and .png)."""
    def owned(top: str, name: str) -> bool:
        return top in ("assets", "site") or name.endswith(exts)
    return owned


def build(ctx: Context, changed: set[str] | None = None) -> BuildResult:
    """Render pages and indexes from the store (see plan_build) and bring the tree to what they say."""
    ensure_repo(ctx.out)
    state = ctx.store.state()
    if not ctx.cfg.images.download and state.images_download is not False:
        ctx.store.set_state(images_download=False)  # before the pictures leave the tree (see mirror_images)
    forget_lost_images(ctx)  # (a build may show more of them than the last: images.max_per_article)
    plan = plan_build(ctx.store, state, ctx.cfg, ctx.renderers, ctx.images_home, changed)
    if plan.full:
        with ctx.store.tx():  # every page is due; remembered before any is written
            ctx.store.mark_all_dirty()
            ctx.store.set_state(render_fingerprint=plan.fingerprint)
    if plan.up_to_date:
        return BuildResult()
    result = BuildResult(tree_writer(ctx))
    for at, place in plan.moves:
        result.writer.move(at, place)
    _render_due(ctx, plan, result)
    if plan.flipped:  # only now are the pages that link to them written
        with ctx.store.tx():
            ctx.store.set_in_tree(plan.flipped & plan.kept_ids, True)
            ctx.store.set_in_tree(plan.flipped - plan.kept_ids, False)
    if not plan.same:
        _write_indexes(ctx, plan, result.writer)
    finish_tree(ctx, result.writer, state.uncommitted)
    _save_state(ctx, plan)
    return result


def _render_due(ctx: Context, plan: BuildPlan, result: BuildResult) -> None:
    """The due pages; one whose rendering fails is left out of the indexes (when the tree has no copy), and the
    pages just made that link to it are made again to link to the original, until it works."""
    kept_ids = plan.kept_ids
    if plan.todo:
        result.writer.begin()  # pages are written by worker processes, which do not touch the store
    unrendered = render_pages(ctx, plan.todo, kept_ids, plan.all_qr, result)
    if unrendered:
        missing = {x.id for x in plan.kept if x.id in unrendered and not all(
            (ctx.out / r.layout.page(x.category, x.id)).exists() for r in ctx.renderers)}
        with ctx.store.tx():  # it stays dirty: the next build tries it again; once it works, the pages
            ctx.store.mark_dirty(unrendered)  # that link to it are made again (`flipped`)
            ctx.store.set_in_tree(missing, False)
        if missing:
            plan.kept = [x for x in plan.kept if x.id not in missing]
            kept_ids -= missing
            plan.same = False
            plan.digest = ""  # not what the indexes show: the next build makes them again
            linking = ctx.store.linking_to(ctx.store.urls_of(missing)) & result.rendered & kept_ids
            render_pages(ctx, [x for x in plan.kept if x.id in linking], kept_ids, False, result)
    result.rendered |= plan.due - kept_ids - unrendered  # not in the tree (retention): nothing to render


def _write_indexes(ctx: Context, plan: BuildPlan, writer: TreeWriter) -> None:
    """The indexes of every format, then the sweep of what the tree should no longer hold."""
    files: dict[str, bytes] = {}
    for r in ctx.renderers:
        files.update(revision_files(r, ctx.store, plan.kept_ids))  # before the home page, which links to them
        files.update(r.indexes(plan.kept, plan.counts, plan.label))
    for rel_path, data in files.items():
        plan.expected.add(rel_path)
        writer.write(rel_path, data)
    plan.index_files = sorted(files)
    # the search index, which Pagefind rewrites whole, while the HTML site is made
    keep = {HTML.root + "pagefind"} if "html" in ctx.cfg.site.formats else set()
    writer.sweep(MANAGED_DIRS, plan.expected, ours((MARKDOWN.ext, ".png")), keep)


def finish_tree(ctx: Context, writer: TreeWriter, stale: bool) -> None:
    """What is made from the whole tree: the search index, the digests and the signed manifest. `stale`: the
    tree changed since the last commit (a run killed after writing, before its commit), so they are made again
    even if this build itself wrote nothing, as the files it would write are there already."""
    search_index(ctx, writer, stale)
    digests(ctx, writer)
    SEAMS.before_sign()
    sign(ctx, writer, stale)


def _save_state(ctx: Context, plan: BuildPlan) -> None:
    if plan.same:
        ctx.store.set_state(index_key=plan.quick)
    else:
        with ctx.store.tx():  # only now is the tree what the digest says
            ctx.store.set_state(index_digest=plan.digest, index_files=plan.index_files,
                                index_key=plan.quick if plan.digest else "")
    if not plan.same:
        ctx.store.set_state(qr_base_url=plan.qr_base)


def render_pages(ctx: Context, todo: list[Listed], kept_ids: set[str], all_qr: bool, result: BuildResult) -> set[str]:
    """Render the pages of these articles in worker processes, linking to the articles in `kept_ids`; the
    paths written go into `result`. Returns the ids whose rendering failed (nothing of them written)."""
    set_page_writer(PageWriter(ctx.renderers, ctx.cfg.images.download, ctx.out, ctx.tmp_dir))  # workers fork it
    unrendered: set[str] = set()

    def collect(arts: list[StoredArticle], done: Iterable[list[str] | str]) -> None:
        for a, written in zip(arts, done, strict=True):
            if isinstance(written, str):
                log.error("%s: %s; its page is left as it was", a.url, written)
                result.failed.append((a.url, written))
                unrendered.add(a.id)
                continue
            result.writer.written_elsewhere(written)
            result.rendered.add(a.id)

    try:
        with worker_pool(len(todo)) as pool:
            # 128 articles at a time (bounded memory), the next batch sent before the last one's
            # pages are collected, so that the workers never wait for the store
            previous: tuple[list[StoredArticle], Iterable[list[str] | str]] | None = None
            for batch in batched(todo, 128):
                jobs, arts = _jobs(ctx, batch, kept_ids, all_qr)
                done = pool.map(render_page, jobs, chunksize=16) if pool else map(render_page, jobs)
                if previous is not None:
                    collect(*previous)
                previous = (arts, done)
            if previous is not None:
                collect(*previous)
    finally:
        set_page_writer(None)
    return unrendered


def _jobs(ctx: Context, batch: list[Listed], kept_ids: set[str], all_qr: bool) -> tuple[list, list[StoredArticle]]:
    """What each page's worker needs: the article, whether its QR code is made, its links and images."""
    arts = ctx.store.articles_by_id([x.id for x in batch])
    ids = [a.id for a in arts]
    links = ctx.store.page_links(ids)
    images = ctx.store.page_images(ids, ctx.cfg.images.max_per_article)
    # a page's QR code only changes with its share URL (base_url: a full build)
    jobs = [(a, all_qr or not all((ctx.out / r.layout.qr(a.category, a.id)).exists()
                                  for r in ctx.renderers if r.qr_url(a)),
             {url: ref for url, ref in links[a.id].items() if ref.id in kept_ids},
             images[a.id]) for a in arts]
    return jobs, arts


def digests(ctx: Context, writer: TreeWriter) -> None:
    """The daily digests in digests/ ([digest]), before the manifest is signed so that it covers them."""
    from ..digest.tree import write_digests

    write_digests(ctx.cfg, ctx.store, ctx.out, writer.write, writer.remove)


def sign(ctx: Context, writer: TreeWriter, stale: bool = False) -> None:
    """With signing.key: manifest.json (SHA-256 of every file) and its Ed25519 signature, when the tree
    changed or has none. Without it, none: a manifest left from when signing was on would no longer match
    the pages, and readers would take that for tampering."""
    from ..publish.manifest import MANIFEST, SIGNATURE, manifest_record, manifest_serial, write_manifest

    key = ctx.cfg.signing_key
    if key is None:
        for rel_path in (MANIFEST, SIGNATURE):
            writer.remove_if_present(rel_path)
        return
    if stale or writer.written or writer.removed or not (ctx.out / MANIFEST).is_file():
        # the serial also lives in the store, so that it keeps growing when the tree is made afresh
        state = ctx.store.state()
        index = HTML.root + INDEX_DIR if "html" in ctx.cfg.site.formats else None  # signed whole, see manifest
        files = write_manifest(ctx.out, key, f"newsmirror {__version__}", state.manifest_serial, state.manifest_last,
                               index)
        ctx.store.set_state(manifest_serial=max(state.manifest_serial, manifest_serial(files[MANIFEST]) or 0),
                            manifest_last=manifest_record(files[MANIFEST]))
        for rel_path, data in files.items():
            writer.write(rel_path, data)


def search_index(ctx: Context, writer: TreeWriter, stale: bool = False) -> None:
    """Index the HTML site for search when any of its pages changed (or it has no index yet)."""
    if "html" not in ctx.cfg.site.formats:
        return
    site = ctx.out / HTML.root.rstrip("/")
    changed = stale or any(p.startswith(HTML.root) for p in writer.written + writer.removed)
    if site.is_dir() and (changed or not (site / "pagefind" / "pagefind.js").is_file()):
        from ..render.search import build_search_index

        writer.begin()
        writer.rebuilt_elsewhere(HTML.root + "pagefind")
        build_search_index(site, ctx.tmp_dir)
