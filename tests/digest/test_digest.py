"""Digests: the articles of a day or a range as an EPUB 3 book and one self-contained HTML file, from the store,
with no network. epubcheck checks a book of each kind; the size cap, an empty range, a category filter and a bad
date each have their test; two digests of one store are byte for byte the same; the daily digests in the tree are
signed with it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import lxml.html
import pytest

from newsmirror.config import load_config
from newsmirror.models import Article
from newsmirror.store import Store
from tests.conftest import FAST_FETCH, minimal_config
from tests.test_pipeline import cli_run, demo_config

ALL = ("--from", "2000-01-01", "--to", "2030-12-31")
VARIANTS = 'variants = ["zh-Hans", "zh-Hant"]\nformats = ["markdown", "html"]\nbase_url = "https://example.org/m"'
EPUBCHECK_JAR = Path("/usr/share/java/epubcheck.jar")
FAST_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto")


def epubcheck(*books: Path) -> None:
    """epubcheck on books; it fails the test on any error or warning in any of them. With a JDK, the books are
    checked in one JVM (EpubCheckAll.java, beside this file): a JVM's start and the schemas are paid once."""
    if EPUBCHECK_JAR.is_file() and shutil.which("javac"):
        cmd = ["java", *FAST_JVM, "-cp", str(EPUBCHECK_JAR), str(Path(__file__).with_name("EpubCheckAll.java"))]
        res = subprocess.run([*cmd, *map(str, books)], capture_output=True, text=True, timeout=300)
        report = res.stdout + res.stderr
        for b in books:
            assert f"== {b}: 0 fatal, 0 errors, 0 warnings" in report, report
        assert res.returncode == 0, report
        return
    if EPUBCHECK_JAR.is_file():  # a JVM that starts fast: a check is short, it never warms up
        cmd = ["java", *FAST_JVM, "-jar", str(EPUBCHECK_JAR)]
    elif shutil.which("epubcheck"):
        cmd = ["epubcheck"]
    else:
        pytest.fail("epubcheck is not installed: apt-get install epubcheck (.ci/run does)")
    for b in books:
        res = subprocess.run([*cmd, str(b)], capture_output=True, text=True, timeout=300)
        report = res.stdout + res.stderr
        assert res.returncode == 0 and "No errors or warnings detected" in report, report


def demo_mirror(demo_server, tmp_path: Path, extra: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    cfg = demo_config(tmp_path, demo_server.base, site_extra=VARIANTS)
    if extra:
        cfg.write_text(cfg.read_text(encoding="utf-8") + extra, encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    return cfg


def book(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def chapter_titles(files: dict[str, bytes]) -> list[str]:
    nav = lxml.html.fromstring(files["EPUB/nav.xhtml"])
    return [a.text_content().strip() for a in nav.iter("a")]


def test_epubcheck_passes_on_every_kind_of_book(demo_server, ntd_server, tmp_path):
    """One book of each kind, checked together: from the demo's store and from the shared page's, in each script;
    a daily digest the mirror keeps in its tree; a book with articles past its size cap."""
    cfg = demo_mirror(demo_server, tmp_path / "demo", extra="\n[digest]\nenabled = true\ndays = 2\n")
    (tmp_path / "ntd").mkdir()
    ntd = minimal_config(tmp_path / "ntd", ntd_server.base, extra=FAST_FETCH,
                         extra_site='variants = ["zh-Hans", "zh-Hant"]')
    assert cli_run(ntd.path, "run").exit_code == 0
    checked = [tmp_path / "demo" / "out" / "digests" / "2024-05-06.zh-Hant.epub"]
    for config, n, script in ((cfg, 6, "zh-Hans"), (ntd.path, 1, "zh-Hant")):
        for variant in ("zh-Hans", "zh-Hant"):
            out = config.parent / f"{variant}.epub"
            res = cli_run(config, "digest", *ALL, "--variant", variant, "-o", str(out))
            assert res.exit_code == 0, res.output
            assert f"{n} articles" in res.output
            if variant == script:  # (the other script's book is the same shape)
                checked.append(out)
            files = book(out)
            assert list(files)[0] == "mimetype" and files["mimetype"] == b"application/epub+zip"
            chapters = [f for f in files if re.fullmatch(r"EPUB/a\d{4}\.xhtml", f)]
            assert len(chapters) == n
            text = b"".join(files[c] for c in chapters).decode()
            if variant == "zh-Hant":
                assert "國" in text or "為" in text or "與" in text
    (tmp_path / "capped").mkdir()
    capped = synthetic(tmp_path / "capped", 5, 6000)
    res = cli_run(capped, "digest", "--from", "2026-12-04", "-o", str(tmp_path / "capped" / "d.epub"))
    assert res.exit_code == 0 and "3 past the size cap" in res.output, res.output
    epubcheck(*checked, tmp_path / "capped" / "d.epub")
    hant = book(ntd.path.parent / "zh-Hant.epub")["EPUB/a0001.xhtml"].decode()
    hans = book(ntd.path.parent / "zh-Hans.epub")["EPUB/a0001.xhtml"].decode()
    assert "国事访问" in hans and "國事訪問" in hant  # the seed's third paragraph, in each script
    # the chapter ends with the original URL and the share link, as text and as a QR image
    assert "a103612902" in hans and "https://github.com/example/news/blob/main/pages/intl/a103612902.md" in hans
    assert re.search(r'<img class="qr" src="images/qr-[0-9a-f]+\.png"', hans)


def test_the_table_of_contents_is_by_category_and_a_category_filter_keeps_only_it(demo_server, tmp_path):
    cfg = demo_mirror(demo_server, tmp_path)
    whole = tmp_path / "all.epub"
    assert cli_run(cfg, "digest", *ALL, "-o", str(whole)).exit_code == 0
    titles = chapter_titles(book(whole))
    assert titles.index("国际") < titles.index("文化")  # the config's order
    assert len(titles) == 1 + 2 + 6  # the title page, two categories, six articles
    culture = tmp_path / "culture.html"
    res = cli_run(cfg, "digest", *ALL, "--category", "culture", "-o", str(culture))
    assert res.exit_code == 0 and "3 articles" in res.output, res.output
    doc = lxml.html.fromstring(culture.read_bytes())
    assert [h.text_content() for h in doc.iter("h2") if h.get("class") == "category"] == ["文化"]
    assert len(doc.findall(".//article")) == 3
    bad = cli_run(cfg, "digest", *ALL, "--category", "sport", "-o", str(tmp_path / "x.epub"))
    assert bad.exit_code == 2 and "--category 'sport'" in bad.output and "culture" in bad.output
    assert not (tmp_path / "x.epub").exists()


def test_an_empty_range_writes_nothing_and_a_bad_date_is_named(demo_server, tmp_path):
    cfg = demo_mirror(demo_server, tmp_path)
    out = tmp_path / "d.epub"
    res = cli_run(cfg, "digest", "--from", "2001-01-01", "--to", "2001-01-31", "-o", str(out))
    assert res.exit_code == 0 and "no articles between 2001-01-01 and 2001-01-31" in res.output
    assert not out.exists()
    for args, name in ((("--from", "2024-13-01"), "--from '2024-13-01'"), (("--to", "May 5"), "--to 'May 5'"),
                       (("--since", "yesterday"), "--since 'yesterday'")):
        res = cli_run(cfg, "digest", *args, "-o", str(out))
        assert res.exit_code == 2, res.output
        assert name in res.output and ("YYYY-MM-DD" in res.output or "1d" in res.output)
        assert len(res.output.strip().splitlines()) == 1
        assert not out.exists()


def test_two_digests_of_one_store_are_byte_identical(demo_server, tmp_path, monkeypatch):
    cfg = demo_mirror(demo_server, tmp_path)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")
    for fmt in ("epub", "html"):
        a, b = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        assert cli_run(cfg, "digest", *ALL, "-o", str(a)).exit_code == 0
        assert cli_run(cfg, "digest", *ALL, "-o", str(b)).exit_code == 0
        assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(tmp_path / "a.epub") as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 5, 28, 20, 26, 40)}  # the epoch, in every entry
        assert z.infolist()[0].compress_type == zipfile.ZIP_STORED
    opf = book(tmp_path / "a.epub")["EPUB/content.opf"].decode()
    assert "2026-05-28T20:26:40Z" in opf and "urn:uuid:" in opf


def synthetic(tmp_path: Path, n: int, chars: int) -> Path:
    """A config and a store of `n` articles of `chars` characters each, on one day."""
    from datetime import UTC, datetime, timedelta

    cfg = tmp_path / "newsmirror.toml"
    cfg.write_text('[site]\ntitle = "大小"\noutput = "out"\n[categories.intl]\ntitle = "国际"\n'
                   "[digest]\nmax_bytes = 100_000\n", encoding="utf-8")
    store = Store(tmp_path / "newsmirror.db")
    day = datetime(2026, 12, 4, 2, tzinfo=UTC)
    with store.tx():
        for i in range(n):
            body = "<p>" + "新闻" * (chars // 2) + "</p>"
            store.save_article(Article(url=f"https://news.example/a/{i}.html", canonical_url=f"https://news.example/a/"
                                       f"{i}.html", title=f"文章{i}", body_html=body, id=f"a{i}", category="intl",
                                       source="s", published=day + timedelta(minutes=i)), f"h{i}", False)
    store.close()
    return cfg


def test_articles_past_the_size_cap_are_listed_by_title_with_their_links(tmp_path):
    cfg = synthetic(tmp_path, 5, 6000)  # 18 KB of UTF-8 each: two fit under a cap of 100 KB (less the front matter)
    for fmt in ("epub", "html"):
        out = tmp_path / f"d.{fmt}"
        res = cli_run(cfg, "digest", "--from", "2026-12-04", "-o", str(out))
        assert res.exit_code == 0, res.output
        assert "2 articles" in res.output and "3 past the size cap" in res.output, res.output
        assert out.stat().st_size < 100_000
        text = (book(out)["EPUB/left-out.xhtml"] if fmt == "epub" else out.read_bytes()).decode()
        listed = text.split("未收入本期的文章")[-1]
        for i in (0, 1, 2):  # newest first: the last three are past the cap, each with its link
            assert f"文章{i}" in listed and f"https://news.example/a/{i}.html" in listed
        for i in (3, 4):
            assert f"文章{i}" not in listed


def test_the_mirror_keeps_daily_digests_signed_with_it(demo_server, tmp_path):
    key = tmp_path / "keys" / "mirror.key"
    assert cli_run(tmp_path / "none.toml", "keygen", str(key)).exit_code == 0
    cfg = demo_mirror(demo_server, tmp_path, extra='\n[digest]\nenabled = true\ndays = 2\n'
                      '\n[signing]\nkey = "keys/mirror.key"\n')
    out = tmp_path / "out"
    digests = sorted(p.name for p in (out / "digests").iterdir())
    assert digests == ["2024-05-05.epub", "2024-05-05.html", "2024-05-05.zh-Hant.epub", "2024-05-05.zh-Hant.html",
                       "2024-05-06.epub", "2024-05-06.html", "2024-05-06.zh-Hant.epub", "2024-05-06.zh-Hant.html",
                       "README.md", "feed.xml", "index.html"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert "digests/2024-05-06.epub" in manifest and "digests/feed.xml" in manifest
    feed = lxml.etree.fromstring((out / "digests" / "feed.xml").read_bytes())
    enclosures = feed.findall(".//{http://www.w3.org/2005/Atom}link[@rel='enclosure']")
    assert {e.get("href") for e in enclosures} == {d for d in digests if d[0].isdigit()}
    assert all(int(e.get("length")) == (out / "digests" / e.get("href")).stat().st_size for e in enclosures)
    assert cli_run(cfg, "verify", str(out), "--pubkey", str(key) + ".pub").exit_code == 0
    # a build that changes nothing leaves them as they are: nothing to commit
    again = cli_run(cfg, "build")
    assert again.exit_code == 0 and "nothing to commit" in again.output, again.output
    # one changed byte in a digest is caught
    (out / "digests" / "2024-05-06.html").write_bytes((out / "digests" / "2024-05-06.html").read_bytes() + b" ")
    bad = cli_run(cfg, "verify", str(out), "--pubkey", str(key) + ".pub")
    assert bad.exit_code == 1 and "digests/2024-05-06.html" in bad.output
    # turned off: its files leave the tree, and the manifest with them
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("enabled = true", "enabled = false"), encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    assert not any((out / "digests").glob("*")) if (out / "digests").exists() else True
    assert not any(k.startswith("digests/") for k in json.loads((out / "manifest.json").read_text())["files"])


def test_digest_config_errors_name_the_key(tmp_path):
    base = '[site]\ntitle = "t"\n[categories.intl]\ntitle = "国际"\n'
    for extra, words in (('[digest]\nenable = true\n', "unknown key 'digest.enable'"),
                         ('[digest]\ncategories = ["sport"]\n', "digest.categories[0]: 'sport'"),
                         ('[digest]\nformats = ["pdf"]\n', "digest.formats")):
        p = tmp_path / "newsmirror.toml"
        p.write_text(base + extra, encoding="utf-8")
        res = cli_run(p, "digest", "-o", str(tmp_path / "x.epub"))
        assert res.exit_code == 2 and words in res.output, res.output
    p.write_text(base, encoding="utf-8")
    assert load_config(p).digest.enabled is False  # off by default
