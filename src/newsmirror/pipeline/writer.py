"""The one owner of every write and delete in the output tree (on the pattern of Pelican's writers.py).

Files are written whole or not at all (a temp file, then a rename); the store is told the tree is about to
change before the first change (so that a run killed after it commits what it left); no write or delete goes
through a symbolic link; and the writer knows every path it changed, which is all that `git add` needs."""

from __future__ import annotations

import os
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..config import Images as ImagesConfig
from ..fetch.fetcher import brief
from ..fsutil import refuse_symlinks, write_if_changed
from ..models import ArticleRef, StoredArticle
from ..render import Renderer, heavy_work
from ..transform.images import asset_path, process_image


def put(out: Path, tmp_dir: Path, rel_path: str, data: bytes) -> bool:
    """Write one file of the tree unless it holds exactly that already; True when written. (Also what worker
    processes call: the main process has begun the TreeWriter before it hands them work.)"""
    return write_if_changed(out / rel_path, data, tmp_dir)


def mirror_image(data: bytes, cfg: ImagesConfig, out: Path, home: str, tmp_dir: Path) -> tuple[str, int, int, int]:
    """Check (and perhaps scale and re-encode) one downloaded image and write it into the tree, once, under
    `home` + `assets/` (see images_home), whole or not at all: its asset path, width, height and bytes.
    Done in a worker process, so only the small answer travels back. Raises ImageError."""
    image = process_image(data, max_width=cfg.max_width, max_pixels=cfg.max_pixels, quality=cfg.quality,
                          reencode=cfg.reencode)
    asset = asset_path(image)
    put(out, tmp_dir, home + asset, image.data)
    return asset, image.width, image.height, len(image.data)


def stale_files(out: Path, top: str, expected: set[str], owned: Callable[[str, str], bool],
                keep: Container[str] = ()) -> list[str]:
    """Files under `out/top` the tree should no longer hold (those `owned(top, name)` says are ours, not in
    `expected`), as paths relative to `out`; folders in `keep` are left alone. (os.scandir and strings: at
    10,000 pages, a Path per file costs tens of MB.)"""
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
            elif owned(top, e.name) and rel_path not in expected:
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


class TreeWriter:
    """Every write, move and delete of one run or build in the output tree, and the list of what changed."""

    def __init__(self, out: Path, tmp_dir: Path, guarded: Iterable[str], on_first_change: Callable[[], None]) -> None:
        self.out = out
        self.tmp_dir = tmp_dir
        self.guarded = tuple(guarded)  # the folders and files of the tree that newsmirror writes and sweeps
        self._on_first_change = on_first_change
        self._begun = False
        self.written: list[str] = []
        self.removed: list[str] = []
        self.moved_from: list[str] = []  # where moved files were (not counted as removed: they live on)
        self.rebuilt: list[str] = []  # folders another program rewrote whole (the search index)

    def begin(self) -> None:
        """Before the first change: no symbolic link in what is written or swept (checked all the way down),
        and the store told that the tree changes (the next run commits it, should this one be killed)."""
        if not self._begun:
            refuse_symlinks(self.out, self.guarded)
            self._on_first_change()
            self._begun = True

    @property
    def changed(self) -> set[str]:
        """The paths written, moved or removed: what the commit stages."""
        return {*self.written, *self.removed, *self.moved_from, *self.rebuilt}

    def write(self, rel_path: str, data: bytes) -> None:
        self.begin()
        if put(self.out, self.tmp_dir, rel_path, data):
            self.written.append(rel_path)

    def written_elsewhere(self, paths: Iterable[str]) -> None:
        """Paths worker processes wrote (begin() was called before they were handed the work)."""
        self.written.extend(paths)

    def rebuilt_elsewhere(self, folder: str) -> None:
        """A folder another program writes whole (begin() was called before it ran)."""
        self.rebuilt.append(folder)

    def move(self, src: str, dst: str) -> None:
        self.begin()
        (self.out / dst).parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.out / src, self.out / dst)
        self.written.append(dst)
        self.moved_from.append(src)

    def remove(self, rel_path: str) -> None:
        self.begin()
        (self.out / rel_path).unlink()
        self.removed.append(rel_path)

    def remove_if_present(self, rel_path: str) -> None:
        if (self.out / rel_path).is_file():
            self.remove(rel_path)

    def sweep(self, tops: Iterable[str], expected: set[str], owned: Callable[[str, str], bool],
              keep: Container[str] = ()) -> None:
        """Remove the files of ours under `tops` that are not `expected`, then the folders left empty."""
        for top in tops:
            for rel_path in stale_files(self.out, top, expected, owned, keep):
                self.remove(rel_path)
            _remove_empty_dirs(self.out / top)


@dataclass
class PageWriter:
    """What rendering one article's page into the tree needs; forked worker processes inherit it."""

    renderers: list[Renderer]  # one per output format
    images: bool  # whether images are mirrored (else they are linked where they are)
    out: Path
    tmp_dir: Path

    def __call__(self, a: StoredArticle, with_qr: bool, links: dict[str, ArticleRef],
                 images: dict[str, str]) -> list[str] | str:
        """`links`: the URLs the body links to that are kept articles → those articles; `images`: the article's
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
        return [rel_path for rel_path, data in files.items() if put(self.out, self.tmp_dir, rel_path, data)]


_PAGES: PageWriter | None = None  # set by the build before its worker pool forks


def render_page(job: tuple[StoredArticle, bool, dict[str, tuple[str, str]], dict[str, str]]) -> list[str] | str:
    """One article's page (and QR code) rendered and written if changed: the paths written, or why rendering
    failed. Runs in workers."""
    assert _PAGES is not None, "render_page() outside a build"
    return _PAGES(*job)


def set_page_writer(pages: PageWriter | None) -> None:
    """The PageWriter forked workers use (None once the build is done)."""
    global _PAGES
    _PAGES = pages
