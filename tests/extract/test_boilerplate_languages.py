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


def test_closing_appeals_and_log_in_prompts_are_not_kept():
    """What a site puts after the article to ask for something (a donation, a log-in to comment, its app, a
    cookie consent) goes, in German as in English; a last paragraph that merely says "suspended" stays."""
    last = ("Der Fährbetrieb bleibt bis Ende Mai bestehen und wird danach ausgesetzt; die Stadt prüft, ob er im "
            "Sommer für Ausflügler wieder aufgenommen wird. Die Buslinie 12 fährt ab Montag wieder über die Brücke.")
    appeals = [
        "Unterstützen Sie unsere Arbeit mit einer Spende – schon fünf Euro helfen.",
        "Sie müssen sich einloggen, um sich an einer Diskussion beteiligen zu können.",
        "Get the latest news straight to your phone with the Beispiel-Zeitung app.",
        "Wir verwenden Cookies, um Ihnen ein besseres Nutzererlebnis zu bieten.",
    ]
    html = _page(f'<div class="entry"><h1>{TITLE}</h1>' + "".join(f"<p>{p}</p>" for p in [*DE_PARAS, last])
                 + "".join(f"<p>{a}</p>" for a in appeals) + "</div>")
    text = _text(html)
    assert all(p in text for p in [*DE_PARAS, last])
    assert not any(a in text for a in appeals)


def test_a_last_paragraph_about_a_suspension_is_kept():
    """Words of appeals are matched as words: "suspended" holds no "Spende"."""
    last = "The bus service was suspended for the day."
    html = _page(f'<div class="entry"><h1>{TITLE}</h1>' + "".join(f"<p>{p}</p>" for p in [*DE_PARAS, last]) + "</div>")
    assert last in _text(html)
