"""WARC provenance: raw responses written per run, referenced from the store and the page; re-extraction
from them with no network."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from newsmirror.demo.server import SiteServer
from newsmirror.store import Store

from .conftest import FAST_FETCH, NTD, NTD_ORIGINS, NTD_ROUTES, SEED_IMAGE, SEED_PATH, minimal_config
from .test_pipeline import SEED_PAGE, body_paragraphs, cli_run, seed_paragraphs


def test_warc_records_store_refs_and_reextract_offline(tmp_path):
    with SiteServer(NTD, NTD_ORIGINS, routes=NTD_ROUTES) as server:
        cfg = minimal_config(tmp_path, server.base, extra=FAST_FETCH)
        assert cli_run(cfg.path, "run").exit_code == 0
        base = server.base
    warcs = list((tmp_path / "warcs").glob("*.warc.gz"))
    assert len(warcs) == 1 and not (cfg.output_dir / "warcs").exists()  # beside the store, not published
    responses, requests = {}, {}
    with open(warcs[0], "rb") as fh:
        for rec in ArchiveIterator(fh):
            uri = rec.rec_headers.get_header("WARC-Target-URI")
            if rec.rec_type == "response":
                raw = rec.raw_stream.read()
                responses[uri] = (rec.rec_headers, rec.http_headers, raw)
            elif rec.rec_type == "request":
                requests[uri] = rec.http_headers
    url = base + SEED_PATH
    # only responses that produced an article or a picture of it; not the feed, not robots.txt
    assert set(responses) == {url, base + SEED_IMAGE}
    rec_headers, http_headers, raw = responses[url]
    assert http_headers.get_statuscode() == "200"
    assert http_headers.get_header("Content-Type") == "text/html; charset=utf-8"
    digest = "sha1:" + base64.b32encode(hashlib.sha1(raw).digest()).decode()
    assert rec_headers.get_header("WARC-Payload-Digest") == digest
    assert "普京邀习近平访俄" in raw.decode("utf-8")
    assert requests[url].get_header("User-Agent").startswith("newsmirror")

    store = Store(cfg.store_path)
    a = store.article("a103612902")
    assert a.warc_record_id == rec_headers.get_header("WARC-Record-ID") and a.warc_digest == digest
    store.close()
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    meta = json.loads(re.search(r"<!-- newsmirror (\{.*\}) -->", page).group(1))
    assert meta["warc_record_id"] == a.warc_record_id and meta["warc_payload_digest"] == digest

    # the server is gone; new rules drop the last paragraph; re-extract from the WARC
    text = cfg.path.read_text(encoding="utf-8") + '\n[sources.rules]\nbody = "div.post_content"\n' \
        'remove = [".single_ad", "p:last-child"]\n'
    cfg.path.write_text(text, encoding="utf-8")
    res = cli_run(cfg.path, "build", "--reextract")
    assert res.exit_code == 0, res.output
    assert "1 updated" in res.output
    page = (cfg.output_dir / SEED_PAGE).read_text(encoding="utf-8")
    assert body_paragraphs(page) == seed_paragraphs()[:-1]


def test_gzip_responses_are_kept_as_received(tmp_path):
    """A gzip-coded response goes into the WARC still coded; re-extraction decodes it."""
    import asyncio

    from aiohttp import web

    from newsmirror.config import Fetch
    from newsmirror.fetch import Fetcher
    from newsmirror.fetch.warc import WarcWriter, read_page

    from .conftest import serve_app

    html = (NTD / "a103612902.html").read_bytes()

    async def page(_request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(html, mtime=0), headers={"Content-Encoding": "gzip",
                                                              "Content-Type": "text/html; charset=utf-8"})

    async def go():
        app = web.Application()
        app.router.add_get("/a.html", page)
        async with serve_app(app) as server, Fetcher(Fetch(obey_robots=False)) as f:
            return await f.get(str(server.make_url("/a.html")))

    resp = asyncio.run(go())
    assert resp.body == html and resp.raw_body == gzip.compress(html, mtime=0)
    with WarcWriter(tmp_path, "t") as w:
        ref = w.write(resp)
    back = read_page(tmp_path, ref)
    assert back.body == html and "普京邀习近平访俄" in back.text


def test_records_made_apart_and_appended_make_a_valid_warc(tmp_path):
    """Worker processes make the records (warc_records), the run appends them: each record is its own gzip
    member, each reference points at its response record, and warcio verifies every digest."""
    import zlib

    from newsmirror.fetch.warc import WarcWriter, read_page, warc_records
    from newsmirror.models import Response

    def resp(n: int) -> Response:
        body = f"<html><body><p>第{n}篇</p></body></html>".encode()
        return Response(url=f"https://news.example/{n}", final_url=f"https://news.example/{n}", status=200,
                        headers={"content-type": "text/html; charset=utf-8"}, body=body, text=body.decode(),
                        encoding="utf-8", raw_body=body, raw_headers=[("Content-Type", "text/html; charset=utf-8")],
                        request_headers=[("User-Agent", "newsmirror-test")], reason="OK")

    made = [warc_records(resp(n)) for n in range(3)]
    with WarcWriter(tmp_path, "t") as w:
        refs = [w.append(m) for m in made]
    data = (tmp_path / refs[0].file).read_bytes()
    for n, ref in enumerate(refs):
        member = zlib.decompressobj(zlib.MAX_WBITS + 16)
        first = member.decompress(data[ref.offset:])
        assert first.startswith(b"WARC/1.1\r\nWARC-Type: response\r\n") and member.eof  # one record per member
        assert f"第{n}篇" in read_page(tmp_path, ref).text
    with open(tmp_path / refs[0].file, "rb") as fh:
        kinds = [(r.rec_type, r.content_stream().read() and r.rec_headers.get_header("WARC-Record-ID"))
                 for r in ArchiveIterator(fh, check_digests="raise")]
    assert [k for k, _ in kinds] == ["warcinfo"] + ["response", "request"] * 3
    assert [rid for k, rid in kinds if k == "response"] == [m.record_id for m in made]


def test_records_made_without_the_body_get_it_back_from_the_writer(tmp_path):
    """A worker makes the records without the page's body (the run holds it: it need not travel back); the writer
    puts it back as stored deflate blocks. The file is a valid WARC, record for record what it would be otherwise,
    for bodies of every size (none, one block, several), gzip-coded or not."""
    import gzip
    import os
    import random
    import zlib

    import pytest

    from newsmirror.fetch.warc import WarcWriter, read_page, warc_records
    from newsmirror.models import Response

    def resp(n: int, body: bytes, coded: bool) -> Response:
        raw = gzip.compress(body, mtime=0) if coded else body
        headers = [("Content-Type", "text/html; charset=utf-8")] + ([("Content-Encoding", "gzip")] if coded else [])
        return Response(url=f"https://news.example/{n}", final_url=f"https://news.example/{n}", status=200,
                        headers={k.lower(): v for k, v in headers}, body=body, text=body.decode("latin-1"),
                        encoding="latin-1",
                        raw_body=raw, raw_headers=headers, request_headers=[("User-Agent", "t")], reason="OK",
                        date="2024-06-30T12:00:00.000000Z")

    r = random.Random(5)
    text = "".join(chr(r.randint(0x4E00, 0x9FFF)) for _ in range(60_000))
    bodies = [b"", "<html><body><p>第1篇</p></body></html>".encode(), f"<p>{text}</p>".encode(),
              os.urandom(200_000)]  # (incompressible: stored blocks as large as they come)
    pages = [resp(n, b, coded=n % 2 == 1) for n, b in enumerate(bodies)]
    apart = [warc_records(p, body_apart=True) for p in pages]
    whole = [warc_records(p) for p in pages]
    for a, w, p in zip(apart, whole, pages, strict=True):
        assert a.body_at >= 0 and len(a.data) < len(w.data) - len(p.raw_body) // 2 + 64  # the body is not in it
    with WarcWriter(tmp_path, "t") as writer:
        refs = [writer.append(a, p.raw_body) for a, p in zip(apart, pages, strict=True)]
        with pytest.raises(ValueError, match="need the response's body"):
            writer.append(apart[0])
    data = (tmp_path / refs[0].file).read_bytes()
    for ref, a, p in zip(refs, apart, pages, strict=True):
        member = zlib.decompressobj(zlib.MAX_WBITS + 16)
        record = member.decompress(data[ref.offset:])
        assert member.eof and record.startswith(b"WARC/1.1\r\nWARC-Type: response\r\n") and p.raw_body in record
        assert ref.record_id == a.record_id
        assert read_page(tmp_path, ref).body == p.body  # (decoded from gzip where it was coded)
    with open(tmp_path / refs[0].file, "rb") as fh:  # every digest checked: the whole record is as it was made
        kinds = [rec.rec_type for rec in ArchiveIterator(fh, check_digests="raise") if rec.content_stream().read()
                 is not None]
    assert kinds == ["warcinfo"] + ["response", "request"] * 4


def analyse_record_here_or_there(html: str, url: str, rules: object) -> object:
    """SEAMS.analyse_record, leaving behind which process ran it (module-level: it travels to the workers)."""
    from newsmirror.pipeline.analyse import analyse_record

    with open(Path(os.environ["NEWSMIRROR_TEST_PIDS"]) / str(os.getpid()), "a", encoding="utf-8") as f:
        f.write(url + "\n")
    return analyse_record(html, url, rules)


def test_reextract_sends_the_records_to_the_run_s_worker_processes(tmp_path, monkeypatch):
    from newsmirror import workers
    from newsmirror.pipeline.seams import SEAMS

    with SiteServer(NTD, NTD_ORIGINS, routes=NTD_ROUTES) as server:
        cfg = minimal_config(tmp_path, server.base, extra=FAST_FETCH)
        assert cli_run(cfg.path, "run").exit_code == 0
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("NEWSMIRROR_TEST_PIDS", str(pids))
    monkeypatch.setattr(SEAMS, "analyse_record", analyse_record_here_or_there)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)  # the one article goes to a worker process, as many would
    res = cli_run(cfg.path, "build", "--reextract")
    assert res.exit_code == 0, res.output
    assert "1 unchanged" in res.output
    ran = {int(p.name) for p in pids.iterdir()}
    assert len(ran) == 1 and os.getpid() not in ran  # analysed in a worker process, stored here
