"""Near-duplicate articles: a 64-bit SimHash of an article's words, compared across sources and URLs.

The exact content hash (pipeline.content_hash) misses the same article served twice with a character
of difference ("评论（0）" against "评论(0)", another related link, a changed counter). SimHash
(Charikar 2002; Manku et al. 2007 for web pages) gives texts that share most of their shingles
fingerprints a few bits apart. Shingles are 4 characters of the whitespace-folded text, so it works
alike for Chinese (no word boundaries) and for spaced languages. It is written here with the standard
library: the packages that offer it either pull in numpy and scipy (datasketch) or are unmaintained
(simhash), for twenty lines of code; blake2b keeps the fingerprints the same in every process and run.
"""

from __future__ import annotations

import hashlib
import re

BITS = 64
SHINGLE = 4
# at most 3 of 64 bits apart: the threshold Manku et al. found right for near-duplicate web pages
MAX_DISTANCE = 3
# shorter texts differ in too few shingles for a fingerprint to tell a variant from another short article
MIN_CHARS = 200
_BLAKE2B_8 = hashlib.blake2b(digest_size=8)  # never fed: copied for each shingle (simhash)


def simhash(text: str) -> int:
    """The 64-bit SimHash of a text's 4-character shingles (whitespace folded first): bit b is set when more than
    half of the distinct shingles' blake2b hashes have it."""
    norm = " ".join(text.split())
    shingles = {norm[i:i + SHINGLE] for i in range(max(1, len(norm) - SHINGLE + 1))}
    # each shingle's hash is a copy of one empty 8-byte blake2b fed the shingle: the same digest as
    # blake2b(shingle, digest_size=8), without parsing the constructor's keywords for each (1.8x as fast)
    new = _BLAKE2B_8.copy
    hashes = []
    for s in shingles:
        h = new()
        h.update(s.encode("utf-8"))
        hashes.append(h.digest())
    digests = b"".join(hashes)
    # the votes are counted a column at a time, not a shingle at a time: byte j of every digest (big-endian, so
    # bits 56-8j to 63-8j) read as one integer, ANDed with a mask holding bit b of each byte, has as many bits set
    # as there are shingles with that bit: 64 operations on long integers, whatever the number of shingles
    n = len(shingles)
    masks = [int.from_bytes(bytes((1 << b,)) * n) for b in range(8)]
    fp = 0
    for j in range(8):
        column = int.from_bytes(digests[j::8])
        for b, mask in enumerate(masks):
            if 2 * (column & mask).bit_count() > n:
                fp |= 1 << (BITS - 8 - 8 * j + b)
    return fp


_NOT_WORD = re.compile(r"[\W_]+")


def same_title(a: str, b: str) -> bool:
    """Whether two titles name the same article: equal once spaces and punctuation are gone, or one holds the
    other (a site's suffix). A series of reports written from one template ("第12号", "第13号"; a daily market
    report) shares most of its text but not its title, and must stay apart."""
    x, y = _NOT_WORD.sub("", a).lower(), _NOT_WORD.sub("", b).lower()
    return bool(x and y) and (x == y or (min(len(x), len(y)) >= 8 and (x in y or y in x)))


def distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def fingerprint(title: str, body_html: str) -> int | None:
    """The fingerprint of an article (title and body text), or None when it is too short to compare."""
    import lxml.html  # (here: the store looks fingerprints up without it)

    return text_fingerprint(title, lxml.html.fragment_fromstring(body_html or "<p></p>",
                                                                 create_parent="div").text_content())


def text_fingerprint(title: str, body_text: str) -> int | None:
    """fingerprint() of an article whose body's text is at hand (the worker that analysed it has it)."""
    text = " ".join(f"{title}\n{body_text}".split())
    return simhash(text) if len(text) >= MIN_CHARS else None


def bands(fp: int) -> tuple[int, int, int, int]:
    """The four 16-bit bands of a fingerprint: two within MAX_DISTANCE (3) bits of each other differ in at most
    3 bands, so they share one (what Store.near_twin looks up by)."""
    return fp & 0xFFFF, fp >> 16 & 0xFFFF, fp >> 32 & 0xFFFF, fp >> 48 & 0xFFFF


def to_signed(fp: int) -> int:
    """A 64-bit fingerprint as SQLite stores integers (signed)."""
    return fp - (1 << BITS) if fp >= 1 << (BITS - 1) else fp


def from_signed(value: int) -> int:
    return value + (1 << BITS) if value < 0 else value
