"""Boilerplate named in other languages than English and Chinese: related posts, share prompts, comments."""

from __future__ import annotations

from newsmirror.extract import extract
from newsmirror.extract.text import html_to_text

URL = "https://www.beispiel-zeitung.de/2024/05/12/hafenbruecke.html"
TITLE = "Hafenbrücke nach zwei Jahren wieder offen"


def _page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{TITLE}</title></head><body>{body}</body></html>"


def _text(html: str) -> str:
    return html_to_text(extract(html, URL).body_html)


DE_PARAS = [
    "Die Hafenbrücke ist seit Sonntagmorgen wieder für den Verkehr geöffnet, nach zwei Jahren Sperrung, in denen "
    "Pendler auf Fähren und einen langen Umweg durch das Industriegebiet ausweichen mussten.",
    "Die Ingenieure der Stadt ersetzten mehr als vierhundert korrodierte Stahlseile und erneuerten die gesamte "
    "Fahrbahn, was die Lebensdauer des Bauwerks um mindestens ein halbes Jahrhundert verlängern soll.",
    "Das Projekt kostete rund acht Prozent mehr als geplant, vor allem wegen Lieferverzögerungen bei den "
    "Spezialseilen.",
]


def test_related_and_share_blocks_in_german_are_not_kept():
    related = "".join(f'<li><a href="/2024/05/{i}.html">Neue Radwege in der Innenstadt, Teil {i}</a></li>'
                      for i in range(1, 5))
    html = _page(f'<div class="entry"><h1>{TITLE}</h1>' + "".join(f"<p>{p}</p>" for p in DE_PARAS)
                 + f'<p>Diesen Artikel teilen</p><h3>Ähnliche Beiträge</h3><ul>{related}</ul></div>')
    text = _text(html)
    assert all(p in text for p in DE_PARAS)
    assert "Ähnliche Beiträge" not in text and "Radwege" not in text and "teilen" not in text
