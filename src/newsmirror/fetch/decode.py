"""Bytes → text, the way browsers do it for Chinese pages.

Order: the Content-Type charset, a BOM, a `<meta charset>` (or http-equiv)
in the first 4 KiB, then detection. Legacy labels are widened to the
encoding that browsers really use for them: gb2312/gbk → gb18030,
big5 → big5hkscs.
"""

from __future__ import annotations

import codecs
import re

_WIDER = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cp950": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
}

_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]

_META_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""",
    re.IGNORECASE,
)
_XML_RE = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""", re.IGNORECASE)


def normalise_label(label: str | None) -> str | None:
    """A charset label as Python knows it, widened as browsers widen it; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WIDER.get(label, label)
    try:
        name = codecs.lookup(label).name
        b"\xff".decode(name, errors="replace")  # not a text codec (base64, zlib, idna…): unknown
    except (LookupError, UnicodeError):
        return None
    return name


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.IGNORECASE)
    return normalise_label(m.group(1)) if m else None


def sniff_charset(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    head = body[:4096]
    m = _XML_RE.match(head) or _META_RE.search(head)
    if m:
        label = normalise_label(m.group(1).decode("ascii", "replace"))
        # a declaration read as ASCII cannot be in UTF-16: such a label means UTF-8 (as the HTML standard says)
        return "utf-8" if label and label.replace("_", "-").startswith("utf-16") else label
    return None


def _is_utf8(body: bytes) -> bool:
    """Whether the bytes are valid UTF-8 with enough multi-byte characters to be sure of it."""
    sample = body[:200_000]
    if sum(1 for b in sample[:20000] if b >= 0xC0) < 8:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 4  # cut in the middle of a character by the sample
    return True


def _detect(body: bytes):  # -> charset_normalizer.CharsetMatch | None
    from charset_normalizer import from_bytes  # only for pages that say nothing true about their charset

    return from_bytes(body[:200_000]).best()


def decode(body: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used). Never raises: undecodable bytes become U+FFFD."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace").replace("\x00", ""), name
    enc = header_charset(content_type) or sniff_charset(body)
    if enc is not None and enc != "utf-8" and _is_utf8(body):
        # a page re-saved as UTF-8 that still declares its old charset: valid multi-byte UTF-8 is
        # almost never an accident of another encoding, so trust the bytes over the label
        enc = "utf-8"
    if enc is None:
        try:
            return body.decode("utf-8").replace("\x00", ""), "utf-8"
        except UnicodeDecodeError:
            best = _detect(body)
            enc = normalise_label(best.encoding) if best else None
            enc = enc or "utf-8"
    text = body.decode(enc, errors="replace")
    bad = text.count("\ufffd")
    if bad > 8 and bad > len(text) // 200:
        # the label is wrong (a GBK page served as UTF-8): if detection finds an encoding that reads
        # the bytes cleanly, use it rather than publish replacement characters
        best = _detect(body)
        other = normalise_label(best.encoding) if best else None
        if other and other != enc:
            try:
                return body.decode(other).replace("\x00", ""), other
            except (UnicodeDecodeError, LookupError):
                pass
    return text.replace("\x00", ""), enc
