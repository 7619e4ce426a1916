"""Analyse one fetched page: decode, extract, sanitise, fingerprint; pure, so it runs in worker processes."""

from __future__ import annotations

import gc
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import lxml.html

from ..config import Rules
from ..dedup import text_fingerprint
from ..errors import PageRejected
from ..fetch import FetchError, decode_response
from ..fetch.fetcher import brief
from ..fetch.warc import WarcRecords, WarcTarget, WarcWriter, warc_records
from ..ids import url_id
from ..memory import keep_heap_for_reuse
from ..models import Article, Response, Shipped, WarcRef
from ..store.schema import pack_body
from ..transform import link_targets, sanitize
from ..transform.images import image_urls

HTML_TYPES = re.compile(r"^(text/html|application/xhtml\+xml|text/plain|application/xml|text/xml)\b", re.I)


@dataclass
class Analysis(Shipped):
    """What a page yields: the article, the fingerprint of its words (exact: `content_hash`; near: `simhash`,
    dedup.fingerprint, made here in the worker as the store's near-duplicate look-up needs it), what its body
    links to, the images it shows (lead first) and, when the run keeps a WARC, the records of the response it
    came from (`records`, for the run to append), or where the worker process archived them itself (`ref`)."""

    article: Article
    content_hash: str
    links: set[str]
    images: list[str]
    records: WarcRecords | None = None
    simhash: int | None = None
    ref: WarcRef | None = None
    # the id the article's canonical URL carries (ids.url_id), made in the worker too: "" when it carries none,
    # None when not made
    own_id: str | None = None
    # the article's body_html as the store keeps it (store.schema.pack_body), when it travels so (packed():
    # article.body_html is then empty)
    body: bytes | None = None

    def packed(self) -> Analysis:
        """This analysis as a worker sends it back to be stored: the body as the store keeps it (`body`: compressed
        UTF-8, store.schema.pack_body), which it writes as it comes, instead of text that pickling encodes, the run
        decodes and SQLite encodes again (a tenth of the run's CPU a page), and that the run would compress. Raises
        PageRejected for a body that is not text."""
        try:
            self.body = pack_body(self.article.body_html)
        except UnicodeEncodeError as exc:
            raise PageRejected(f"the article is not valid text ({brief(exc)})") from None
        self.article.body_html = ""
        return self


def content_hash(title: str, text: str) -> str:
    """The fingerprint of an article's words (title and body text, whitespace folded)."""
    norm = " ".join((title + "\n" + text).split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def analyse(html: str, url: str, rules: Rules | None, clean: Callable[[str, str], str] = sanitize) -> Analysis:
    """Extract and sanitise (`clean`) one page: the article, its content hash and links. Raises PageRejected
    saying why there is none: a page that breaks the parser or the sanitiser must not break the run."""
    from ..extract import MIN_BODY_CHARS, ExtractError, extract  # imported when there is a page: a run with none
    from ..extract.text import text_size  # never needs them

    try:
        art = extract(html, url, rules)
    except ExtractError as exc:
        raise PageRejected(exc.reason) from None
    except Exception as exc:
        raise PageRejected(f"extraction crashed ({type(exc).__name__}: {brief(exc)})") from None
    try:
        art.body_html = clean(art.body_html, url)
        body = lxml.html.fragment_fromstring(art.body_html or "<p></p>", create_parent="div")  # once for all three
        text = body.text_content()
        failed = text_size(text) < MIN_BODY_CHARS  # the extractor's own measure: what it kept, sanitising removed
        if not failed:
            return Analysis(art, content_hash(art.title, text), link_targets(body), image_urls(art.image, body),
                            simhash=text_fingerprint(art.title, text), own_id=url_id(art.canonical_url) or "")
    except Exception as exc:
        raise PageRejected(f"sanitising crashed ({type(exc).__name__}: {brief(exc)})") from None
    raise PageRejected("no content left after removing scripts, ads and embeds")


def analyse_page(resp: Response, rules: Rules | None, warc: bool | WarcTarget, cap: int,
                 clean: Callable[[str, str], str] = sanitize) -> Analysis:
    """Decode a page as received (at most `cap` bytes once decompressed), analyse() it, and make its WARC
    records when it yields an article (and `warc`). The worker processes do all of it: the run only hands
    them the bytes as they came, often gzip-coded, which is a third of the page's size. With a WarcTarget (worker
    processes of this machine), the worker appends the records to a WARC file of its own and returns where
    (`ref`); else they go back without the body, which the run holds (`records`). Raises PageRejected."""
    try:
        resp = decode_response(resp, cap)
    except FetchError as exc:
        raise PageRejected(exc.reason) from None
    except Exception as exc:  # noqa: BLE001 (one page's failure, reported as such)
        raise PageRejected(f"decoding crashed ({type(exc).__name__}: {brief(exc)})") from None
    analysis = analyse(resp.text, resp.final_url, rules, clean)
    if warc:
        try:
            if isinstance(warc, WarcTarget):
                analysis.ref = _own_warc(warc).append(warc_records(resp))  # flushed to the OS before it returns
            else:
                analysis.records = warc_records(resp, body_apart=True)  # the run has the body: not sent back
        except Exception as exc:  # noqa: BLE001 (an article is kept only with its provenance)
            raise PageRejected(f"WARC record failed ({type(exc).__name__}: {brief(exc)})") from None
    return analysis.packed()


_OWN: tuple[WarcTarget, int, WarcWriter] | None = None  # this process's WARC file: (for what, process id, writer)


def _own_warc(target: WarcTarget) -> WarcWriter:
    """The WARC file of this worker process for the run of `target`, opened on its first record: named by the run
    and the process id (newsmirror-<run>-<pid>.warc.gz, created exclusively: see WarcWriter.own_file)."""
    global _OWN
    pid = os.getpid()
    if _OWN is None or _OWN[0] != target or _OWN[1] != pid:
        if _OWN is not None and _OWN[1] == pid:
            _OWN[2].close()  # another run's (a process that outlived it): done with
        _OWN = (target, pid, WarcWriter(target.folder, f"{target.run_id}-{pid}", own_file=True))
    return _OWN[2]


def analyse_record(html: str, url: str, rules: Rules | None) -> Analysis:
    """analyse() a page read back from its WARC record (`build --reextract`): in a worker, as a fetched page is.
    Raises PageRejected."""
    return analyse(html, url, rules).packed()


def dask_setup(worker: object) -> None:
    """Run by a Dask worker started with `--preload newsmirror.pipeline.analyse` (README), once this module is
    imported: the extractor is imported (load_extractor), and what the worker holds by then (Dask's and the
    extractor's modules, hundreds of thousands of objects that live as long as it) is kept out of its garbage
    collections, as the run's is for the local pool's workers (workers.worker_pool). A page makes thousands of
    objects, and the full collections they set off every so often walked all of that heap too: measured
    (benchmarks/cluster.py's pages, a one-thread worker), 0.3 ms of its 4.6 ms a page. And the memory a page frees
    is kept for the next (memory.keep_heap_for_reuse), not handed back as Dask's nannies set glibc to."""
    load_extractor()
    keep_heap_for_reuse()
    gc.collect()
    gc.freeze()


def load_extractor() -> None:
    """Import what analyse() imports with a process's first page (so that a run with none never does): the extractor,
    with what it imports (lxml's CSS selectors among them). Measured (benchmarks/cluster.py's pages), 23 ms of a fresh
    worker's first page, whose modules its garbage collections then walked too."""
    from .. import extract  # noqa: F401
