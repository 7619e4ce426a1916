"""Worker processes archive the pages they analyse themselves, each in a WARC file of its own: the run gets back
the article and where its records are, never the page again; every record the store refers to can be read back,
`build --reextract` reads them, and no two writers ever share a file, not even after one was killed mid-write."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from newsmirror.fetch.warc import WarcWriter, read_page, warc_records
from newsmirror.models import Response, WarcRef
from newsmirror.pipeline import ingest
from newsmirror.pipeline.ingest import store_pages
from newsmirror.store import Store

from .test_pipeline import cli_run

PAGES = 240  # over PARALLEL_FROM: the run analyses them in worker processes


def _records(path: Path) -> list[tuple[str, str]]:
    """(type, record id) of every record of a WARC file, read whole."""
    with open(path, "rb") as fh:
        return [(r.rec_type, r.rec_headers.get_header("WARC-Record-ID")) for r in ArchiveIterator(fh)]


def test_a_run_with_worker_processes_archives_each_page_in_its_workers_own_file(tmp_path, monkeypatch):
    from benchmarks.mirror import Server, write_config

    server = Server(PAGES, pictures=False)  # (text mode: the pictures are never fetched)
    try:
        cfg = write_config(tmp_path, server.base, PAGES, "rules-text")
        res = cli_run(cfg, "-q", "run")
        assert res.exit_code == 0, res.output
        assert f"{PAGES} new" in res.output, res.output
    finally:
        server.stop()
    files = sorted((tmp_path / "warcs").glob("*.warc.gz"))
    # newsmirror-<run>-<process id>.warc.gz: one for each worker process that analysed pages, none of the run's own
    # (nothing was archived by the run itself: no picture was downloaded)
    names = [f.name for f in files]
    assert files and all(re.fullmatch(r"newsmirror-\d{8}-\d{6}-\d+-\d+\.warc\.gz", n) for n in names), names
    assert len({n.rsplit("-", 1)[1] for n in names}) == len(names)  # a process id each
    responses = {}
    for f in files:  # each file is whole: a warcinfo record, then request and response records
        records = _records(f)
        assert records[0][0] == "warcinfo"
        responses.update({rid: f.name for kind, rid in records if kind == "response"})

    store = Store(tmp_path / "newsmirror.db")
    try:
        refs = {lite.id: store.warc_ref(lite.id) for lite in store.articles(with_body=False)}
    finally:
        store.close()
    assert len(refs) == PAGES and all(refs.values())
    assert len({(r.file, r.offset) for r in refs.values()}) == PAGES  # one record each
    for ref in refs.values():
        assert responses[ref.record_id] == ref.file
        page = read_page(tmp_path / "warcs", ref)  # found at its offset
        assert page.record_id == ref.record_id and page.text

    stored: list[int] = []  # the size of each batch re-extraction stores at once

    def counted(ctx, pages, *args):  # noqa: ANN001, ANN202
        stored.append(len(pages))
        return store_pages(ctx, pages, *args)

    monkeypatch.setattr(ingest, "store_pages", counted)
    res = cli_run(cfg, "-q", "build", "--reextract")  # read back from the workers' files, nothing changed
    assert res.exit_code == 0, res.output
    assert sum(stored) == PAGES and len(stored) < PAGES / 4, stored  # stored a batch at a time, not one by one
    assert f"0 updated, {PAGES} unchanged" in res.output and " 0 failed" in res.output, res.output


def _page(i: int) -> Response:
    body = ("<html><body><article>" + f"<p>第{i}段新闻内容。</p>" * 2000 + "</article></body></html>").encode()
    return Response(url=f"http://127.0.0.1/a{i}.html", final_url=f"http://127.0.0.1/a{i}.html", status=200,
                    headers={"content-type": "text/html; charset=utf-8"}, body=body, text="", encoding="",
                    raw_body=body, raw_headers=[("Content-Type", "text/html; charset=utf-8")],
                    request_headers=[("User-Agent", "newsmirror test")], reason="OK", ip="127.0.0.1",
                    date="2026-01-01T00:00:00.000000Z")


def test_writers_of_one_run_and_process_id_never_share_a_file(tmp_path):
    first, second = (WarcWriter(tmp_path, "20260101-000000-1-7", own_file=True) for _ in range(2))
    a, b = first.append(warc_records(_page(1))), second.append(warc_records(_page(2)))
    first.close()
    second.close()
    assert a.file != b.file  # the second found the first's name taken, and took the next
    assert read_page(tmp_path, a).url.endswith("a1.html") and read_page(tmp_path, b).url.endswith("a2.html")


def _write_until_killed(folder: str, run_id: str, conn: multiprocessing.connection.Connection) -> None:
    """In a forked process: archive pages one after another, telling the parent where each went once it is
    written (as a worker returns its ref), until the parent kills it."""
    writer = WarcWriter(Path(folder), run_id, own_file=True)
    i = 0
    while True:
        ref = writer.append(warc_records(_page(i)))
        conn.send((ref.file, ref.offset, ref.record_id, ref.payload_digest))
        i += 1


def test_a_worker_killed_mid_write_leaves_every_record_it_returned_readable(tmp_path):
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_write_until_killed, args=(str(tmp_path), "20260101-000000-1-9", child))
    proc.start()
    refs = [WarcRef(*parent.recv()) for _ in range(20)]  # it goes on writing meanwhile: killed mid-write or near
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    while parent.poll():  # what it said before it died is in the file too
        refs.append(WarcRef(*parent.recv()))
    assert len({r.file for r in refs}) == 1
    for i, ref in enumerate(refs):
        page = read_page(tmp_path, ref)
        assert page.record_id == ref.record_id and page.url.endswith(f"/a{i}.html")
    # the next writer of that run and process id (a new worker given the dead one's id) starts a file of its own,
    # not one with half a record at its end
    again = WarcWriter(tmp_path, "20260101-000000-1-9", own_file=True)
    ref = again.append(warc_records(_page(0)))
    again.close()
    assert ref.file != refs[0].file and _records(tmp_path / ref.file)[0][0] == "warcinfo"
