"""XML from a source, made safe to parse: one decoding, the one every parser will see, and no entities.

A feed or sitemap that declares entities is refused (billion laughs, quadratic blow-up, XXE). The check
is only as good as its reading of the bytes: a feed in UTF-32 without a byte order mark, or one that declares
UTF-7 or EBCDIC, hides its `<!ENTITY` from a check that reads it as ASCII while feedparser decodes it and
expands the entity. So the bytes are decoded once here, as the XML specification says a parser detects the
encoding (byte order mark, the first four bytes, the declaration, then the HTTP charset), and what the parsers
get is that text as UTF-8 with a declaration that says so: what was checked is what is parsed.
"""

from __future__ import annotations

import codecs
import re

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# the first four bytes of '<?xm' (or '<' and NULs) when there is no byte order mark (XML 1.0, appendix F)
_NO_BOM = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
           (b"<\x00?\x00", "utf-16-le"), (b"\x4c\x6f\xa7\x94", "cp037"))
_DECL = re.compile(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_DECL_ENCODING = re.compile(r"""(^\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[A-Za-z0-9._:-]{1,40}\2""")
_PROLOG_STOP = re.compile(r"[<\"']")


def http_charset(headers: dict[str, str]) -> str | None:
    """The charset a response's Content-Type names, if any."""
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]{1,40})", headers.get("content-type", ""), re.IGNORECASE)
    return m.group(1) if m else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_xml(body: bytes, charset: str | None = None) -> str:
    """The text of an XML document, decoded as a parser would: byte order mark, the first four bytes, the
    encoding its declaration names, the HTTP charset, then UTF-8, then Windows-1252."""
    for bom, enc in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(enc, "replace")
    for head, enc in _NO_BOM:
        if body.startswith(head):
            text = body.decode(enc, "replace")
            declared = _codec(m.group(1)) if enc == "cp037" and (m := _DECL.match(text)) else None
            return body.decode(declared, "replace") if declared and declared != enc else text
    m = _DECL.match(body[:1024].decode("latin-1"))
    for enc in (_codec(m.group(1) if m else None), _codec(charset), "utf-8"):
        if enc and not enc.startswith(("utf-16", "utf-32")):  # a 16/32-bit label on 8-bit bytes is wrong
            try:
                return body.decode(enc)
            except UnicodeDecodeError:
                continue
    return body.decode("cp1252", "replace")


def canonical_xml(body: bytes, charset: str | None = None) -> bytes:
    """The document as UTF-8, its declaration saying so: what every parser after this reads the same way."""
    text = decode_xml(body, charset)
    text = _DECL_ENCODING.sub(r"\g<1>\g<2>utf-8\g<2>", text, count=1)
    return text.encode("utf-8", "replace")


def _prolog(text: str) -> str:
    """What comes before the root element: the XML declaration, comments, PIs and the DOCTYPE with its DTD.

    One pass; comments, PIs and quoted literals (a SYSTEM id may hold a '<') are skipped whole, so a
    '<x' inside one does not end the prolog early.
    """
    i = 0
    while True:
        m = _PROLOG_STOP.search(text, i)
        if m is None:
            return text
        j = m.start()
        if text[j] != "<":
            end, skip = text.find(text[j], j + 1), 1
        elif text.startswith("<!--", j):
            end, skip = text.find("-->", j + 4), 3
        elif text.startswith("<?", j):
            end, skip = text.find("?>", j + 2), 2
        elif text.startswith("<!", j):  # <!DOCTYPE, and the declarations of its internal subset
            end, skip = j, 2
        else:
            return text[:j]
        if end < 0:
            return text
        i = end + skip


def refuses_entities(canonical: bytes) -> bool:
    """Whether a document (as canonical_xml made it) declares entities in its DTD, which has no business in a
    feed or sitemap. The whole prolog is looked at, however long: a fixed window is bypassed by a long comment
    before the DOCTYPE."""
    text = canonical.decode("utf-8", "replace").lower()
    return "<!entity" in text and "<!entity" in _prolog(text)
