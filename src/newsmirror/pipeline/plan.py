"""Plan the build: from the store's state and the config, what to render, what the tree should hold, and
whether there is anything to do at all. It reads; it writes nothing (the build carries the plan out)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ..config import Config
from ..models import Listed, RunState
from ..render import HTML, MARKDOWN, Renderer
from ..store import Store, now
from .seams import SEAMS

log = logging.getLogger("newsmirror")


@dataclass
class BuildPlan:
    """What one build does."""

    fingerprint: str  # of the config and templates the pages are rendered with
    full: bool  # every page is due (first build, `newsmirror build`, or the config or templates changed)
    all_qr: bool  # every QR code is made again (site.base_url changed, or a full build)
    qr_base: str
    due: set[str]  # articles whose pages must be rendered (changed, dirty, or every one when full)
    counts: dict[str, int] | None  # views per page for the hot list
    label: str  # where the counts come from
    quick: str  # the key that says "nothing changed since the last build"
    up_to_date: bool = False  # nothing to do: the usual cron run that found nothing new
    kept: list[Listed] = field(default_factory=list)  # the articles that have a page in the tree, newest first
    digest: str = ""  # of what the indexes show: unchanged means the indexes and the tree's file list are
    same: bool = False  # the indexes (and the set of files) are as the last build left them
    flipped: set[str] = field(default_factory=set)  # pages that came into the tree or left it (site.retention)
    moves: list[tuple[str, str]] = field(default_factory=list)  # images to move to their one place (from, to)
    expected: set[str] = field(default_factory=set)  # the pages, QR codes and images the tree should hold
    todo: list[Listed] = field(default_factory=list)  # the pages to render, in `kept` order
    index_files: list[str] = field(default_factory=list)  # the index files written (set by the build)

    @property
    def kept_ids(self) -> set[str]:
        return {a.id for a in self.kept}


def view_counts(cfg: Config, out: Path) -> tuple[dict[str, int] | None, str]:
    """Views per page for the hot list, and a label saying where they come from (which days)."""
    site = cfg.site
    if site.counter_stats:
        from ..counter.db import tree_pages
        from ..counter.views import ViewsError, read_views

        held = tree_pages(out)  # read once: the counter may list many made-up pages
        try:  # finished days (up to yesterday, UTC): the published list says nothing of today's readers
            views, span = read_views(site.counter_stats, cfg.root, site.hot_days,
                                     now().date() - timedelta(days=1), held.__contains__)
        except ViewsError as exc:
            log.error("site.counter_stats: %s; the hot list falls back to recency", exc)
            return None, ""
        return views, f"最近 {site.hot_days} 天：{span} UTC · last {site.hot_days} days"
    if not site.counts:
        return None, ""
    p = cfg.root / site.counts
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        counts = {str(k): int(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        log.error("site.counts %s: cannot read view counts (%s); the hot list falls back to recency", p, exc)
        return None, ""
    return counts, p.name


def kept_articles(store: Store, cfg: Config) -> list[Listed]:
    """The articles that have a page in the tree: all, or the newest N per category."""
    SEAMS.on_listing()
    out: list[Listed] = []
    n = cfg.site.retention
    deleted = store.deleted_ids() if n else set()  # what the source deleted stays, whatever its age
    for key in cfg.categories:
        arts = store.listing(key)
        out.extend(arts[:n] + [a for a in arts[n:] if a.id in deleted] if n else arts)
    return sorted(out, key=lambda a: (a.sort_date, a.id), reverse=True)


def listing_digest(fp: str, counts: dict[str, int] | None, label: str, kept: list[Listed], revisions: int) -> str:
    """The indexes, and which files belong in the tree, depend only on the kept articles' listing fields (and
    counts): when this digest is unchanged, only the due pages need work."""
    h = hashlib.sha256(json.dumps([fp, counts, label, revisions], sort_keys=True).encode())
    for a in kept:  # one article at a time: no copy of the whole listing as one string
        h.update(f"{a.id}\x1f{a.category}\x1f{a.title}\x1f{a.sort_date.isoformat()}\x1f{a.pick:d}\x1f"
                 f"{a.fetched_at.isoformat()}\x1e".encode())
    return h.hexdigest()


def asset_at(out: Path, images_home: str, asset: str) -> str | None:
    """Where the tree holds an image (`assets/ab/….jpg`) now: at its place (images_home), or where another
    site.formats or an older version put it (the build moves it); None when the tree holds none."""
    for home in dict.fromkeys((images_home, MARKDOWN.base, HTML.base)):
        if (out / (home + asset)).is_file():
            return home + asset
    return None


def _indexes_present(out: Path, state: RunState) -> bool:
    """The index files the last build wrote are all there (none was deleted by hand)."""
    return bool(state.index_files) and all((out / p).exists() for p in state.index_files)


def plan_build(store: Store, state: RunState, cfg: Config, renderers: list[Renderer], images_home: str,
               changed: set[str] | None) -> BuildPlan:
    """What the build must do: the pages of `changed` articles and of those not yet committed (dirty), or
    every page when `changed` is None or the config or templates changed."""
    out = cfg.output_dir
    fp = renderers[0].fingerprint()
    full = changed is None or state.render_fingerprint != fp
    qr_base = cfg.site.base_url or ""
    due = set(changed or ()) | (store.article_ids() if full else store.dirty_ids())
    counts, label = view_counts(cfg, out)
    # nothing saved since the last build, same config, templates and counts: the tree is up to date
    # (the usual cron run that found nothing new ends here, without reading every article)
    quick = json.dumps([fp, store.articles_version(), counts, label, cfg.digest.model_dump(),
                        store.revisions_version()], sort_keys=True)
    indexes_present = _indexes_present(out, state)
    plan = BuildPlan(fp, full, full or state.qr_base_url != qr_base, qr_base, due, counts, label, quick)
    if not (full or due or state.uncommitted) and quick == state.index_key and indexes_present:
        plan.up_to_date = True
        return plan
    plan.kept = kept_articles(store, cfg)
    kept_ids = plan.kept_ids
    plan.digest = listing_digest(fp, counts, label, plan.kept, store.revisions_version())
    plan.same = not full and plan.digest == state.index_digest and indexes_present
    _plan_flipped(plan, store, cfg, kept_ids)
    _plan_images(plan, store, cfg, images_home, kept_ids)
    _plan_pages(plan, renderers, out)
    return plan


def _plan_flipped(plan: BuildPlan, store: Store, cfg: Config, kept_ids: set[str]) -> None:
    """Pages that came into the tree or left it since the last build (site.retention): the pages that link
    to them must link to the copy, or to the original again."""
    plan.flipped = store.tree_ids() ^ kept_ids if cfg.site.retention else store.tree_ids(in_tree=False)
    if plan.flipped and cfg.site.link_policy == "mirror":
        plan.due |= store.linking_to(store.urls_of(plan.flipped)) & kept_ids


def _plan_images(plan: BuildPlan, store: Store, cfg: Config, images_home: str, kept_ids: set[str]) -> None:
    """The images the kept pages show, each in one place for every format (images_home)."""
    if not cfg.images.download:
        return
    shown = {x for aid, x in store.shown_assets(cfg.images.max_per_article) if aid in kept_ids}
    for x in sorted(shown):
        place = images_home + x
        plan.expected.add(place)
        at = asset_at(cfg.output_dir, images_home, x)
        if at is not None and at != place:  # kept elsewhere when site.formats changed, or in both places by
            plan.moves.append((at, place))  # older versions (the copy left behind goes with the stale files)


def _plan_pages(plan: BuildPlan, renderers: list[Renderer], out: Path) -> None:
    """The pages (and QR codes) the tree should hold, and those to render: due, or missing."""
    for lite in plan.kept:
        pages = [r.layout.page(lite.category, lite.id) for r in renderers]
        plan.expected.update(pages)
        plan.expected.update(r.layout.qr(lite.category, lite.id) for r in renderers if r.qr_url(lite))
        if lite.id in plan.due or (not plan.same and not all((out / p).exists() for p in pages)):
            plan.todo.append(lite)
