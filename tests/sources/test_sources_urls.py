"""`urls` sources: a hand-edited text or CSV file of URLs (or one served over HTTP), and discover()'s dedup."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from newsmirror.config import FeedSource, Fetch, UrlsSource
from newsmirror.fetch import Fetcher, FetchError
from newsmirror.models import Candidate
from newsmirror.sources import SourceError
from tests.conftest import SuccessiveRuns, discover, serve_base

FAST = Fetch(retries=0, backoff=0, connect_timeout=2, read_timeout=3, total_timeout=10)



def run(source: UrlsSource, root: Path) -> list[Candidate]:
    async def go() -> list[Candidate]:
        async with Fetcher(FAST) as f:
            return await discover(source, f, root)

    return asyncio.run(go())


def picks(path: str, **kw: object) -> UrlsSource:
    return UrlsSource(name="picks", kind="urls", path=path, category="intl", **kw)


def test_text_file_with_comments_and_blank_lines(tmp_path: Path):
    (tmp_path / "picks.txt").write_text(
        "# editor's picks, newest first\n"
        "\n"
        "https://News.Example/a/1.html\n"
        "   # an indented comment\n"
        "  https://news.example/a/2.html   an old note after the URL\n"
        "\n"
        "news.example/not-a-url.html\n"
        "ftp://news.example/a/3.html\n"
        "http://other.example:80/b/4.html?utm_source=x&id=4#comments\n",
        encoding="utf-8",
    )
    found = run(picks("picks.txt"), tmp_path)
    assert [c.url for c in found] == [
        "https://news.example/a/1.html",
        "https://news.example/a/2.html",
        "http://other.example/b/4.html?id=4",
    ]
    assert all(c.pick for c in found)  # a urls source is editor's picks unless pick = false
    assert all(c.source == "picks" and c.category == "intl" and c.title is None for c in found)


def test_pick_defaults_to_true_for_urls_only(tmp_path: Path):
    (tmp_path / "picks.txt").write_text("https://news.example/a/1.html\n", encoding="utf-8")
    assert picks("picks.txt").is_pick is True
    assert run(picks("picks.txt", pick=False), tmp_path)[0].pick is False
    assert FeedSource(name="f", kind="rss", url="https://x.example/feed", category="intl").is_pick is False


def test_csv_with_url_column(tmp_path: Path):
    (tmp_path / "picks.csv").write_text(
        "\ufefftitle,URL,note\n"  # a BOM, as spreadsheets write it, and a header in any case
        '"新闻, 第一篇",https://news.example/a/1.html,keep\n'
        "# a comment row\n"
        ",https://news.example/a/2.html,\n"
        "no url here,,\n"
        "bad,mailto:someone@example.com,\n",
        encoding="utf-8",
    )
    found = run(picks("picks.csv"), tmp_path)
    assert [(c.url, c.title) for c in found] == [
        ("https://news.example/a/1.html", "新闻, 第一篇"),
        ("https://news.example/a/2.html", None),
    ]
    assert all(c.pick for c in found)


def test_csv_with_quoted_header(tmp_path: Path):
    (tmp_path / "picks.csv").write_text(
        '"url","title"\n"https://news.example/a/1.html","第一篇"\n"https://news.example/a/2.html","第二篇"\n',
        encoding="utf-8",
    )
    found = run(picks("picks.csv"), tmp_path)
    assert [(c.url, c.title) for c in found] == [
        ("https://news.example/a/1.html", "第一篇"), ("https://news.example/a/2.html", "第二篇"),
    ]


def test_missing_file_is_a_source_error_naming_the_path(tmp_path: Path):
    with pytest.raises(SourceError) as ei:
        run(picks("lists/missing-picks.txt"), tmp_path)
    msg = str(ei.value)
    assert str(tmp_path / "lists" / "missing-picks.txt") in msg
    assert "'picks'" in msg and "sources.path" in msg


def test_undecodable_file_is_a_source_error(tmp_path: Path):
    (tmp_path / "picks.txt").write_bytes("https://news.example/a/1.html 新闻\n".encode("gb18030"))
    with pytest.raises(SourceError, match="picks.txt"):
        run(picks("picks.txt"), tmp_path)


def test_empty_file_gives_no_candidates(tmp_path: Path):
    (tmp_path / "picks.txt").write_text("# nothing picked this week\n\n", encoding="utf-8")
    assert run(picks("picks.txt"), tmp_path) == []


def test_duplicates_are_listed_once(tmp_path: Path):
    (tmp_path / "picks.txt").write_text(
        "https://news.example/a/1.html\n"
        "https://news.example/a/2.html\n"
        "https://news.example/a/1.html\n"
        "HTTPS://NEWS.EXAMPLE/a/1.html#top\n"
        "https://news.example/a/1.html?utm_campaign=share\n"
        "https://news.example/a/3.html\n"
        "https://news.example/a/2.html\n",
        encoding="utf-8",
    )
    found = run(picks("picks.txt"), tmp_path)
    assert [c.url for c in found] == [
        "https://news.example/a/1.html", "https://news.example/a/2.html", "https://news.example/a/3.html",
    ]


def test_limit_applies_after_dedup(tmp_path: Path):
    (tmp_path / "picks.txt").write_text(
        "\n".join(["https://news.example/a/1.html"] * 5 + [f"https://news.example/b/{i}.html" for i in range(5)]),
        encoding="utf-8",
    )
    found = run(picks("picks.txt", limit=3), tmp_path)
    assert [c.url for c in found] == [
        "https://news.example/a/1.html", "https://news.example/b/0.html", "https://news.example/b/1.html",
    ]


# -- a URL list served over HTTP


def url_list_app() -> web.Application:
    app = web.Application()

    async def listing(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        text = f"# served list\n{base}/a/1.html\n\n{base}/a/2.html\n{base}/a/1.html\n"
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    app.router.add_get("/picks.txt", listing)
    return app


def test_url_list_served_over_http(tmp_path: Path):
    async def go() -> tuple[list[Candidate], str]:
        async with serve_base(url_list_app()) as base, Fetcher(FAST) as f:
            source = UrlsSource(name="remote-picks", kind="urls", url=f"{base}/picks.txt", category="intl")
            return await discover(source, f, tmp_path), base

    found, base = asyncio.run(go())
    assert [c.url for c in found] == [f"{base}/a/1.html", f"{base}/a/2.html"]
    assert all(c.pick for c in found)


def test_url_list_that_cannot_be_fetched_raises_fetch_error(tmp_path: Path):
    async def go() -> None:
        async with serve_base(url_list_app()) as base, Fetcher(FAST) as f:
            source = UrlsSource(name="remote-picks", kind="urls", url=f"{base}/gone.txt", category="intl")
            await discover(source, f, tmp_path)

    with pytest.raises(FetchError) as ei:
        asyncio.run(go())
    assert ei.value.status == 404


def test_a_growing_list_is_read_past_the_limit_over_runs(tmp_path: Path):
    """`limit` counts the URLs that still need work: lines already mirrored, and a line repeated, do not count,
    so every line of a list that grows past the limit is reached: 7 new with limit = 3 give 3, 3, 1, then
    nothing; then the line added."""
    lines = [f"https://news.example/a/{i}.html" for i in range(1, 9)]
    lines.insert(3, lines[0])  # a line repeated
    (tmp_path / "picks.txt").write_text("# picks\n" + "\n".join(lines) + "\n", encoding="utf-8")

    async def go() -> list[list[str]]:
        async with Fetcher(FAST) as f:
            runs = SuccessiveRuns(picks("picks.txt", limit=3), f, tmp_path)
            runs.mirrored.add("https://news.example/a/2.html")  # mirrored before, by another source
            taken = [[c.url for c in (await runs.next()).candidates] for _ in range(4)]
            with (tmp_path / "picks.txt").open("a", encoding="utf-8") as out:
                out.write("https://news.example/a/9.html\n")
            taken.append([c.url for c in (await runs.next()).candidates])
            return [[u.removeprefix("https://news.example/a/") for u in t] for t in taken]

    assert asyncio.run(go()) == [["1.html", "3.html", "4.html"], ["5.html", "6.html", "7.html"], ["8.html"], [],
                                 ["9.html"]]
