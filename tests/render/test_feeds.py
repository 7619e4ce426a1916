"""The HTML site's feeds, read as feed readers read them: the Atom feed against the elements RFC 4287 requires, and
the JSON Feed against the JSON Feed 1.1 schema (`jsonschema`), in both scripts. Every link in them is absolute (a
reader resolves no relative one), each script's feed has its own identity and its own address, and without an
address to point at (`site.html_url`, `site.base_url`) the feeds are left out with one warning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import lxml.etree
import lxml.html
import pytest

from tests.conftest import FIXTURES
from tests.test_pipeline import cli_run, demo_config

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = json.loads((FIXTURES / "feeds/jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
BASE = "https://github.com/example/news/blob/main"
HTML_URL = "https://example.github.io/news"
VARIANTS = 'formats = ["markdown", "html"]\nvariants = ["zh-Hans", "zh-Hant"]\n'


def atom_errors(path: Path) -> list[str]:
    """What RFC 4287 (section 4) requires of a feed and its entries that this document lacks."""
    feed = lxml.etree.parse(str(path)).getroot()
    errors: list[str] = []
    if feed.tag != ATOM + "feed":
        return [f"root is {feed.tag}"]

    def one(el, name: str, where: str) -> lxml.etree._Element | None:
        found = el.findall(ATOM + name)
        if len(found) != 1:
            errors.append(f"{where}: {len(found)} atom:{name} (exactly one required)")
        return found[0] if found else None

    def date(el, where: str) -> None:
        if el is not None and not RFC3339.match(el.text or ""):
            errors.append(f"{where}: {el.text!r} is no RFC 3339 date")

    for name in ("id", "title"):
        one(feed, name, "feed")
    date(one(feed, "updated", "feed"), "feed updated")
    fid = feed.find(ATOM + "id")
    if fid is not None and not ABSOLUTE.match(fid.text or ""):
        errors.append(f"feed id {fid.text!r} is no absolute IRI")
    feed_author = feed.find(ATOM + "author") is not None
    if feed_author and not (feed.findtext(f"{ATOM}author/{ATOM}name") or "").strip():
        errors.append("feed author without a name")
    for link in feed.iter(ATOM + "link"):
        if not ABSOLUTE.match(link.get("href") or ""):
            errors.append(f"link {link.get('href')!r} is relative")
    alternates = [(x.get("type"), x.get("hreflang")) for x in feed.findall(ATOM + "link")
                  if x.get("rel", "alternate") == "alternate"]
    if len(alternates) != len(set(alternates)):
        errors.append("feed: two alternate links of one type and language")
    for i, entry in enumerate(feed.findall(ATOM + "entry")):
        where = f"entry {i}"
        for name in ("id", "title"):
            one(entry, name, where)
        date(one(entry, "updated", where), where + " updated")
        date(entry.find(ATOM + "published"), where + " published")
        if not feed_author and entry.find(ATOM + "author") is None:
            errors.append(f"{where}: no atom:author, and the feed has none")
        if entry.find(ATOM + "content") is None and not [
                x for x in entry.findall(ATOM + "link") if x.get("rel", "alternate") == "alternate"]:
            errors.append(f"{where}: neither content nor an alternate link")
        eid = entry.find(ATOM + "id")
        if eid is not None and not ABSOLUTE.match(eid.text or ""):
            errors.append(f"{where}: id {eid.text!r} is no absolute IRI")
    return errors


def build(demo_server, tmp_path: Path, site_extra: str) -> tuple[Path, str]:
    cfg = demo_config(tmp_path, demo_server.base, site_extra=site_extra)
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    return tmp_path / "out", res.output


@pytest.mark.parametrize("where", ["html_url", "base_url"])
def test_both_scripts_feeds_are_valid_atom_and_json_feed_with_their_own_identity(demo_server, tmp_path, where):
    extra = VARIANTS + f'base_url = "{BASE}"\n' + (f'html_url = "{HTML_URL}"\n' if where == "html_url" else "")
    out, _ = build(demo_server, tmp_path, extra)
    ids, feed_urls, homes = set(), set(), set()
    for folder, lang in (("site/", "zh-Hans"), ("site/zh-Hant/", "zh-Hant")):
        atom_path = out / folder / "feed.xml"
        assert atom_errors(atom_path) == []
        atom = lxml.etree.parse(str(atom_path)).getroot()
        assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
        ids.add(atom.findtext(ATOM + "id"))
        feed = json.loads((out / folder / "feed.json").read_text(encoding="utf-8"))
        jsonschema.validate(feed, SCHEMA, format_checker=jsonschema.FormatChecker())
        assert feed["language"] == lang and len(feed["items"]) == 6
        homes.add(feed["home_page_url"])
        feed_urls.add(feed.get("feed_url"))
        hrefs = [e.find(ATOM + "link").get("href") for e in atom.iter(ATOM + "entry")]
        assert sorted(hrefs) == sorted(i["url"] for i in feed["items"])
        for url in hrefs:  # each points at this script's own copy of the article, which is in the tree
            if where == "html_url":
                local = out / "site" / url.removeprefix(HTML_URL + "/")
            else:
                local = out / url.removeprefix(BASE + "/")
                assert local.suffix == ".md"  # the code host shows a Markdown page; a site file it shows as source
            assert local.is_file(), url
            assert ("/zh-Hant/" in url) == (lang == "zh-Hant"), url
    assert len(ids) == 2 and len(homes) == 2  # the Traditional feed is not the Simplified one
    assert not any("%E6%BC%94" in i or "演示" in i or "urn:newsmirror" in i for i in ids)  # not made of the title
    if where == "html_url":
        assert feed_urls == {f"{HTML_URL}/feed.json", f"{HTML_URL}/zh-Hant/feed.json"}
        assert ids == {f"{HTML_URL}/feed.xml", f"{HTML_URL}/zh-Hant/feed.xml"}
    else:
        assert feed_urls == {None}  # the code host serves no feed: no address of its own to give


def test_renaming_the_site_keeps_the_feeds_identity(demo_server, tmp_path):
    out, _ = build(demo_server, tmp_path, VARIANTS + f'base_url = "{BASE}"\n')
    before = lxml.etree.parse(str(out / "site/feed.xml")).getroot().findtext(ATOM + "id")
    cfg = tmp_path / "newsmirror.toml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r'(?m)^title = ".*"$', 'title = "另一个名字"', text, count=1), encoding="utf-8")
    assert cli_run(cfg, "build").exit_code == 0
    after = lxml.etree.parse(str(out / "site/feed.xml")).getroot()
    assert after.findtext(ATOM + "title") == "另一个名字" and after.findtext(ATOM + "id") == before


def test_without_an_address_the_feeds_are_left_out_with_one_warning(demo_server, tmp_path):
    cfg = demo_config(tmp_path, demo_server.base, site_extra=VARIANTS)
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r'(?m)^base_url = .*$', "", text), encoding="utf-8")
    res = cli_run(cfg, "run")
    assert res.exit_code == 0, res.output
    site = tmp_path / "out/site"
    assert (site / "index.html").is_file()
    assert not list(site.rglob("feed.xml")) and not list(site.rglob("feed.json"))
    warned = [line for line in res.output.splitlines() if "site.html_url" in line]
    assert len(warned) == 1 and "feeds" in warned[0], res.output
    home = lxml.html.document_fromstring((site / "index.html").read_text(encoding="utf-8"))
    assert not [x for x in home.iter("a", "link") if "feed." in (x.get("href") or "")]  # no link to what is not there
