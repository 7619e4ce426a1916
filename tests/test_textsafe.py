"""printable(): text from outside shown with its control characters as visible escapes."""

from __future__ import annotations

import os

from newsmirror.textsafe import printable


def test_controls_and_invisible_characters_become_visible_escapes():
    assert printable("a\x1b[2K\rok\n") == "a\\x1b[2K\\x0dok\\x0a"  # C0: ESC, CR, LF
    assert printable("\x9b31m\x85\x7f\t\x00") == "\\x9b31m\\x85\\x7f\\x09\\x00"  # C1, DEL, TAB, NUL
    assert printable("n9\u202edm.exe\u200b\u2028") == "n9\\u202edm.exe\\u200b\\u2028"  # bidi, zero width, LS
    assert printable(os.fsdecode(b"caf\xe9.md")) == "caf\\xe9.md"  # a byte that was not UTF-8: the byte


def test_ordinary_text_is_left_alone():
    for text in ("pages/intl/n2001.md", "新闻 镜像 · 繁體", "abcd:ef01:2345", "C:\\path with spaces", "🙂"):
        assert printable(text) == text
    assert printable(42) == "42"
