"""extract.text: how much text a body holds (text_size), the measure of "no content" everywhere."""

from __future__ import annotations

import random
import re

from newsmirror.extract.text import text_size

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


def by_definition(text: str) -> int:
    """Non-space characters, a Han, kana or Hangul character counting twice, counted one by one."""
    return sum(2 if CJK.fullmatch(c) else 1 for c in text if not c.isspace())


def test_a_cjk_character_counts_twice_and_spaces_not_at_all():
    assert text_size("决定任命张三同志为市教育局局长。") == 15 * 2 + 1  # the full stop is not Han
    assert text_size("  a b\u3000c\n") == 3
    assert text_size("ひらがな カタカナ 한국어 Ελληνικά") == 4 * 2 + 4 * 2 + 3 * 2 + 8
    assert text_size("") == 0


def test_text_size_is_its_definition_on_mixed_text():
    rnd = random.Random(3)
    pool = ["新", "闻", "報", "導", "の", "ア", "한", "a", "Z", "7", "，", "。", " ", "\n", "\u3000", "é", "😀",
            "\uf900", "\u33ff", "\ua000"]
    for _ in range(200):
        text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 80)))
        assert text_size(text) == by_definition(text), text
