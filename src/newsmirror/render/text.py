"""How the pages write text: times in the readers' zone, XML-safe text, and what a template sees of an article."""

from __future__ import annotations

import re
from datetime import datetime
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

from ..models import ADDED_SOURCE, StoredArticle

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def display_time(dt: datetime | None, with_time: bool = True) -> str:
    """A time as the pages show it: Beijing time, to the minute (or the day)."""
    if dt is None:
        return ""
    local = dt.astimezone(DISPLAY_TZ)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml(text: str, entities: dict[str, str] | None = None) -> str:
    """Text escaped for XML, without the characters XML 1.0 does not allow (control characters, U+FFFE…),
    which a hostile title may hold and which make a whole feed unreadable."""
    return xml_escape(_NOT_XML.sub("", text), entities or {})


class ArticleView:
    """What a template sees of an article: the stored fields plus formatted dates."""

    def __init__(self, a: StoredArticle, picks_label: str) -> None:
        self._a = a
        self.source = picks_label if a.source == ADDED_SOURCE else a.source  # `add`'s articles: the editor's picks
        self.published_str = display_time(a.published)
        self.fetched_str = a.fetched_at.strftime("%Y-%m-%d %H:%M UTC")

    def __getattr__(self, name: str) -> object:
        return getattr(self._a, name)
