"""Analyse one fetched page: decode, extract, sanitise, fingerprint; pure, so it runs in worker processes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import lxml.html

from ..config import Rules
from ..dedup import text_fingerprint
from ..errors import PageRejected
from ..fetch import FetchError, decode_response
from ..fetch.fetcher import brief
from ..fetch.warc import WarcRecords, warc_records
from ..models import Article, Response
from ..transform import link_targets, sanitize
from ..transform.images import image_urls

HTML_TYPES = re.compile(r"^(text/html|application/xhtml\+xml|text/plain|application/xml|text/xml)\b", re.I)


@dataclass
class Analysis:
    """What a page yields: the article, the fingerprint of its words (exact: `content_hash`; near: `simhash`,
    dedup.fingerprint, made here in the worker as the store's near-duplicate look-up needs it), what its body
    links to, the images it shows (lead first) and, when the run keeps a WARC, the records of the response it
    came from."""

    article: Article
    content_hash: str
    links: set[str]
    images: list[str]
    records: WarcRecords | None = None
    simhash: int | None = None


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
                            simhash=text_fingerprint(art.title, text))
    except Exception as exc:
        raise PageRejected(f"sanitising crashed ({type(exc).__name__}: {brief(exc)})") from None
    raise PageRejected("no content left after removing scripts, ads and embeds")


def analyse_page(resp: Response, rules: Rules | None, warc: bool, cap: int,
                 clean: Callable[[str, str], str] = sanitize) -> Analysis:
    """Decode a page as received (at most `cap` bytes once decompressed), analyse() it, and make its WARC
    records when it yields an article (and `warc`). The worker processes do all of it: the run only hands
    them the bytes as they came, often gzip-coded, which is a third of the page's size. Raises PageRejected."""
    try:
        resp = decode_response(resp, cap)
    except FetchError as exc:
        raise PageRejected(exc.reason) from None
    except Exception as exc:  # noqa: BLE001 (one page's failure, reported as such)
        raise PageRejected(f"decoding crashed ({type(exc).__name__}: {brief(exc)})") from None
    analysis = analyse(resp.text, resp.final_url, rules, clean)
    if warc:
        try:
            analysis.records = warc_records(resp, body_apart=True)  # the run has the body: it is not sent back
        except Exception as exc:  # noqa: BLE001 (an article is kept only with its provenance)
            raise PageRejected(f"WARC record failed ({type(exc).__name__}: {brief(exc)})") from None
    return analysis


def analyse_record(html: str, url: str, rules: Rules | None) -> Analysis:
    """analyse() a page read back from its WARC record (`build --reextract`): in a worker, as a fetched page is.
    Raises PageRejected."""
    return analyse(html, url, rules)
