"""When the first answer looks weak (a refusal, nothing, a few lines), a second reading of the page decides.

Each test builds a small page of a shape that made the first answer give up or pick a small wrong
block: an unclosed <nav> around the whole page, an article in wrappers named "widget".
"""

from __future__ import annotations

import pytest

from newsmirror.extract import ExtractError, extract
from newsmirror.extract.text import html_to_text

URL = "https://www.example-times.com/2024/05/12/harbour-bridge-reopens.html"
TITLE = "Harbour Bridge reopens after two years of repairs"
PARAS = [
    "The Harbour Bridge reopened to traffic on Sunday morning, ending two years of closures that forced commuters "
    "onto ferries and a lengthy detour through the industrial district.",
    "City engineers replaced more than four hundred corroded steel cables and resurfaced the entire deck, work that "
    "officials said would extend the life of the 1962 structure by at least half a century.",
    "The project came in roughly eight percent over its original budget, largely because of supply delays for the "
    "specialised cable, which had to be manufactured overseas and shipped in several batches.",
    "Cyclists will also benefit from a new protected lane on the eastern side, separated from car traffic by a "
    "concrete barrier and lit at night by low-glare lamps.",
]
ARTICLE = f"<h1>{TITLE}</h1>" + "".join(f"<p>{p}</p>" for p in PARAS)


def _text(html: str) -> str:
    return html_to_text(extract(html, URL).body_html)


def _page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>{TITLE}</title></head><body>{body}</body></html>"


def test_article_inside_an_unclosed_nav_is_found():
    # the menu's <nav> is never closed, so the parser puts the whole page inside it
    html = _page('<nav class="navbar"><ul><li><a href="/">Home</a></li><li><a href="/world/">World</a></li></ul>'
                 f'<div class="container"><article>{ARTICLE}</article></div>')
    text = _text(html)
    assert all(p in text for p in PARAS)


def test_article_in_wrappers_named_widget_is_kept_whole():
    # page builders name every wrapper "…-widget-…"; the first pass prunes such names as sidebars and
    # kept only the one-line lead
    cells = "".join(f'<div class="builder-widget-wrap"><div class="builder-widget-container"><p>{p}</p></div></div>'
                    for p in PARAS)
    html = _page(f'<div class="page"><h1>{TITLE}</h1><p class="lead">The bridge is open again.</p>{cells}</div>')
    text = _text(html)
    assert all(p in text for p in PARAS)


TEASERS = "".join(
    f'<div class="teaser"><h3><a href="/2024/05/{i:02d}/story.html">Council approves new budget for district {i}'
    f'</a></h3><p>The council voted on the plan for district {i}, which covers roads, schools and parks.</p></div>'
    for i in range(1, 13))


def test_a_teaser_list_alone_is_still_not_an_article():
    # a guard for the second opinion: a listing page stays a refusal, not a teaser passed off as an article
    with pytest.raises(ExtractError, match="list"):
        extract(_page(f'<div class="main"><div class="more-stories">{TEASERS}</div></div>'), URL)



def test_an_article_given_only_to_readers_without_javascript_is_found():
    html = _page(f'<div id="app"></div><noscript><div class="page"><article>{ARTICLE}</article></div></noscript>'
                 "<script>render()</script>")
    body = extract(html, URL).body_html
    assert all(p in html_to_text(body) for p in PARAS)
    assert "<noscript" not in body  # it would be sanitised away with its text


def test_a_please_enable_javascript_line_is_no_article():
    html = _page('<div id="app"></div><noscript>You need to enable JavaScript to run this app, sorry.</noscript>'
                 "<script src='/app.js'></script>")
    with pytest.raises(ExtractError, match="JavaScript shell"):
        extract(html, URL)


def test_the_second_reading_drops_a_comment_form_too():
    """The second reading keeps what the first drops for its class name or tag (an article in a "widget" or an
    unclosed <nav>); a comment form is another thing: its notes are never the article, and it goes in both."""
    import lxml.html

    from newsmirror.extract.density import find_content

    notes = [
        "You are commenting using your WordPress account. Log out or change your account details at any time.",
        "Notify me of new comments by email. Notify me of new posts by email. Your address is never published.",
        "Comments are moderated by hand, so it may take a day or two before yours shows up under the post.",
    ]
    form = '<form action="/comment" class="comment-form">' + "".join(f"<p>{n}</p>" for n in notes) + "</form>"
    html = f"""<!DOCTYPE html><html lang="en"><head><title>{TITLE}</title></head><body>
<div id="content"><div class="entry">{ARTICLE}</div>{form}</div></body></html>"""
    found = find_content(lxml.html.document_fromstring(html), TITLE, lenient=True)
    assert found is not None
    text = " ".join(found.text_content().split())
    assert all(p in text for p in PARAS)
    assert "commenting using" not in text


def test_a_short_post_is_not_replaced_by_the_sidebar_the_first_reading_set_aside():
    """The second reading keeps what the first set aside by tag (an <aside>): a blog's "about" box of a few
    hundred words beside a short post is more text, but no article of another order, and the post stands."""
    post = ["The mill stop is back in use from Monday, the operator says.",
            "The printed notice on the lamp post has been taken down, and the timetable at the shelter is up to date "
            "again."]
    about = [
        "This blog is written by a retired bus driver who spent thirty years on the routes north of the river and "
        "still rides most of them every week, notebook in hand, to see how they are doing.",
        "It began as a list of timetable changes for friends and neighbours, and grew into a record of every stop, "
        "shelter and detour in the district, with photographs going back to the nineteen-nineties.",
        "Corrections and tips are always welcome: most of what is written here started as a note from a reader "
        "who noticed that something had changed before the operator announced it anywhere.",
        "Nothing here is sponsored, and the blog carries no advertising; it is kept going out of curiosity and a "
        "stubborn belief that a good bus network is one of the best things a town can have.",
    ]
    html = f"""<!DOCTYPE html><html lang="en"><head><title>Mill stop back in use</title></head><body>
<div class="entry"><h1>Mill stop back in use</h1>{"".join(f"<p>{p}</p>" for p in post)}</div>
<aside class="blog-info">{"".join(f"<p>{p}</p>" for p in about)}</aside></body></html>"""
    text = _text(html)
    assert all(p in text for p in post)
    assert "retired bus driver" not in text
