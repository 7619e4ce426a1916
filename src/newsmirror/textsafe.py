"""Text from outside, made safe to print on a terminal.

A file name, a URL or a field of a document someone else wrote can hold escape sequences: printed as they are,
they move the cursor, erase lines and write their own text, so a copy could make `verify` wipe its warnings and
show a fake "ok". `printable()` shows every such character as a visible escape instead.
"""

from __future__ import annotations


def _escape(ch: str) -> str:
    n = ord(ch)
    if 0xDC80 <= n <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape): show the byte
        return f"\\x{n - 0xDC00:02x}"
    if n <= 0xFF:
        return f"\\x{n:02x}"
    if n <= 0xFFFF:
        return f"\\u{n:04x}"
    return f"\\U{n:08x}"


def printable(text: object) -> str:
    """`text` (made a str) with every control or otherwise non-printable character — C0 and C1 controls (ESC,
    CR, LF, TAB, BEL…), DEL, bidirectional overrides, zero-width and format characters, line separators, lone
    surrogates — written as a visible escape (`\\x1b`, `\\u202e`); the ordinary space and all printable text
    (CJK included) stay as they are."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in s)
