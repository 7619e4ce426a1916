"""The script variants a mirror can publish (Simplified, Traditional…): what they are, with no converter.

The config checks site.variants against this list and the counter knows their folders; neither needs OpenCC,
lxml or nh3, so the list lives here rather than in transform.script, which converts pages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Variant:
    code: str  # the BCP 47 tag, also the page's lang and the folder of a non-primary variant
    opencc: str  # the OpenCC config that converts into it
    label: str  # its name, in its own script, on the links between versions


VARIANTS: dict[str, Variant] = {v.code: v for v in (
    Variant("zh-Hans", "t2s", "简体"),
    Variant("zh-Hant", "s2tw", "繁體"),  # OpenCC's s2t would write 爲 and 裏 where readers expect 為 and 裡
    Variant("zh-Hant-TW", "s2twp", "臺灣正體"),
    Variant("zh-Hant-HK", "s2hk", "香港繁體"),
)}
