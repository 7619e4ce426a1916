"""Provenance: every response that produced an article or a picture, raw, in a per-run WARC file (warcio).

The response record keeps the status line, the headers and the body as
received (still gzip-coded if the server sent it so); a request record with
the headers we sent stands beside it, with the same WARC-Date (ISO 28500 §5.4:
one capture, one time) and the server's WARC-IP-Address where it is known. The
redirects that led to a response come before it, each as a response and request
pair of its own, so that a replay (pywb) follows them as the browser did. The
store keeps each article's WARC file, offset, WARC-Record-ID and
WARC-Payload-Digest, so `build --reextract` can read the page again without the
network.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from .. import __version__
from ..models import Response, Shipped, WarcRef
from .decode import decode

# a body we hand over de-chunked must not claim to be chunked
_RENAMED = {"transfer-encoding": "X-Newsmirror-Orig-Transfer-Encoding"}


@dataclass(frozen=True)
class WarcRecords(Shipped):
    """One fetch as WARC bytes: for each redirect that led to it, then for the response, the response record and
    the request record, each its own gzip member."""

    data: bytes
    record_id: str  # the (final) response record's
    payload_digest: str
    offset: int = 0  # where in `data` the final response record starts
    # made with body_apart: where in `data` the final response's body goes (stored deflate blocks the writer
    # makes of the bytes it holds: they need not travel back from a worker process), and its length; else -1
    body_at: int = -1
    body_len: int = 0


def warc_date(when: datetime | None = None) -> str:
    """A WARC-Date (UTC, to the microsecond, as WARC 1.1 allows) for a response received `when` (now)."""
    if when is not None:
        return datetime_to_iso_date(when.replace(tzinfo=None), use_micros=True)
    now = time.time()  # (every response is dated: the date and time written once a second)
    second = int(now)
    if _SECOND[0] != second:
        _SECOND[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    micros = int((now - second) * 1_000_000)
    return f"{_SECOND[1]}.{micros:06d}Z" if micros else f"{_SECOND[1]}Z"  # (as warcio's: none at a whole second)


_SECOND: list = [None, ""]  # (the second warc_date last dated, as text)


def _gzip_member(data: bytes) -> bytes:
    # one gzip member per record, as the WARC standard's .warc.gz asks (level 6: warcio's 9 costs far more
    # time for almost no space here, as most bodies arrive gzip-coded already)
    z = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS + 16)
    return z.compress(data) + z.flush()


# credentials newsmirror sends (a proxy's password from the config) or holds for the run (cookies): the archive
# records that the header was sent, never its value, as the WARC files are kept and may be shared
SECRET_REQUEST_HEADERS = frozenset({"proxy-authorization", "authorization", "cookie"})
REMOVED = "[removed by newsmirror]"


def archived_request_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, REMOVED if k.lower() in SECRET_REQUEST_HEADERS else v) for k, v in headers]


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # what zlib writes: no name, no time, Unix
_STORED_MAX = 0xFFFF


def _member_without(data: bytes, start: int, length: int) -> tuple[bytes, int]:
    """The gzip member of `data` with data[start:start + length] left out, to be put back at the returned position
    as stored deflate blocks (stored_blocks): the text before it is compressed and flushed so that nothing after
    refers back past it (Z_FULL_FLUSH), the text after it compressed apart; the trailer counts all of `data`."""
    z = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = _GZIP_HEADER + z.compress(data[:start]) + z.flush(zlib.Z_FULL_FLUSH)
    tail = z.compress(data[start + length:]) + z.flush() + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return head + tail, len(head)


def stored_blocks(body: bytes) -> Iterator[bytes | memoryview]:
    """`body` as deflate blocks that store it as it is (not the last block of their stream)."""
    view = memoryview(body)
    for i in range(0, len(body), _STORED_MAX):
        chunk = view[i:i + _STORED_MAX]
        yield struct.pack("<BHH", 0, len(chunk), len(chunk) ^ 0xFFFF)
        yield chunk


def _pair(writer: WARCWriter, buf: io.BytesIO, resp: Response, body_apart: bool = False) -> tuple[bytes, str, str, int]:
    """The response and request records of one HTTP exchange (two gzip members), the response record's id and
    payload digest, and (`body_apart`) where its body goes, left out, else -1. Both records carry the one time it
    was received, and the server's address when known."""
    url = resp.final_url or resp.url
    headers = [(_RENAMED.get(k.lower(), k), v) for k, v in resp.header_lines()]
    http = StatusAndHeaders(f"{resp.status} {resp.reason}".strip(), headers, protocol=f"HTTP/{resp.http_version}")
    record = writer.create_warc_record(url, "response", payload=io.BytesIO(resp.raw_body), http_headers=http,
                                       length=len(resp.raw_body))
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    req_http = StatusAndHeaders(f"GET {target} HTTP/1.1", archived_request_headers(resp.request_headers),
                                is_http_request=True)
    request = writer.create_warc_record(url, "request", http_headers=req_http)
    record_id = record.rec_headers.get_header("WARC-Record-ID")
    request.rec_headers.add_header("WARC-Concurrent-To", record_id)
    date = resp.date or warc_date()
    for rec in (record, request):
        rec.rec_headers.replace_header("WARC-Date", date)
        if resp.ip:
            rec.rec_headers.add_header("WARC-IP-Address", resp.ip)
    members = []
    body_at = -1
    for rec in (record, request):
        buf.seek(0)
        buf.truncate()
        writer.write_record(rec)
        raw = buf.getvalue()
        body = resp.raw_body
        start = len(raw) - 4 - len(body)  # warcio writes the payload as it is, then the record's CRLF CRLF
        if body_apart and rec is record and start >= 0 and raw[start:start + len(body)] == body:
            member, body_at = _member_without(raw, start, len(body))
            members.append(member)
        else:
            members.append(_gzip_member(raw))
    return b"".join(members), record_id, record.rec_headers.get_header("WARC-Payload-Digest"), body_at


def warc_records(resp: Response, body_apart: bool = False) -> WarcRecords:
    """The records of one fetch, redirects first, ready to append: pure, so worker processes can make them.
    `body_apart`: without the final response's body, which the writer puts back from the bytes it was given
    (WarcWriter.append): what a worker process returns is then the records' headers, not the page again."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=False, warc_version="1.1")
    hops = b"".join(_pair(writer, buf, hop)[0] for hop in resp.hops)
    data, record_id, digest, body_at = _pair(writer, buf, resp, body_apart)
    return WarcRecords(hops + data, record_id, digest, len(hops), len(hops) + body_at if body_at >= 0 else -1,
                       len(resp.raw_body) if body_at >= 0 else 0)


@dataclass(frozen=True)
class WarcTarget:
    """Where a worker process archives the pages it analyses itself: `<folder>/newsmirror-<run>-<pid>[-k].warc.gz`,
    a file of its own (WarcWriter.own_file), so no two processes ever write to one file."""

    folder: Path
    run_id: str


class WarcWriter:
    """Appends records to `<folder>/newsmirror-<run>.warc.gz`, opened on the first record. `own_file`: a file no
    other writer has opened, `newsmirror-<run>-<k>.warc.gz` with the first k not taken (created exclusively), for a
    worker process: never one that a killed writer left with half a record at its end."""

    def __init__(self, folder: Path, run_id: str, own_file: bool = False) -> None:
        self.folder = folder
        self.run_id = run_id
        self.own_file = own_file
        self.name = f"newsmirror-{run_id}.warc.gz"
        self._fh: io.BufferedWriter | None = None
        self._writer: WARCWriter | None = None
        self._others: set[str] = set()  # files of the run written by worker processes (WarcWriter.adopt)

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def _create(self) -> io.BufferedWriter:
        if not self.own_file:
            return open(self.path, "ab")  # noqa: SIM115 (kept open for the run)
        k = 0
        while True:
            self.name = f"newsmirror-{self.run_id}{f'-{k}' if k else ''}.warc.gz"
            try:
                return open(self.path, "xb")  # noqa: SIM115 (kept open for the process)
            except FileExistsError:
                k += 1

    def _open(self) -> WARCWriter:
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fh = self._create()
            self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
            info = self._writer.create_warcinfo_record(self.name, {"software": f"newsmirror {__version__}",
                                                                   "format": "WARC File Format 1.1"})
            self._writer.write_record(info)
        return self._writer

    def write(self, resp: Response) -> WarcRef:
        """Write the request and response records of one fetch; flushed to the OS before returning."""
        return self.append(warc_records(resp))

    def append(self, records: WarcRecords, body: bytes | None = None, flush: bool = True) -> WarcRef:
        """Append records made by `warc_records()` (perhaps in another process); flushed to the OS (`flush=False`:
        by the caller's `flush()`, before anything refers to them). Records made with `body_apart` need `body`:
        the response's body as received (ValueError if it is not that long)."""
        if records.body_at >= 0 and (body is None or len(body) != records.body_len):
            raise ValueError(f"WARC records of {records.record_id} need the response's body "
                             f"({records.body_len} bytes), got {'none' if body is None else len(body)}")
        self._open()
        assert self._fh is not None
        offset = self._fh.tell() + records.offset
        if records.body_at >= 0:
            assert body is not None
            view = memoryview(records.data)
            self._fh.writelines([view[:records.body_at], *stored_blocks(body), view[records.body_at:]])
        else:
            self._fh.write(records.data)
        if flush:
            self._fh.flush()
        return WarcRef(self.name, offset, records.record_id, records.payload_digest)

    def flush(self) -> None:
        """The records appended so far, handed to the OS."""
        if self._fh is not None:
            self._fh.flush()

    def adopt(self, name: str) -> None:
        """A file of this run that a worker process wrote records to (flushed to the OS, not to the disk): synced
        to the disk when this writer closes, as its own file is."""
        if name != self.name:
            self._others.add(name)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
            self._writer = None
        for name in sorted(self._others):
            try:
                fd = os.open(self.folder / name, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._others.clear()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


@dataclass
class ArchivedPage:
    url: str
    record_id: str
    payload_digest: str
    headers: dict[str, str]
    body: bytes  # content-decoded
    text: str


def read_page(folder: Path, ref: WarcRef) -> ArchivedPage:
    """The response record at a WARC reference, decoded to text. Raises ValueError if it is not there."""
    file, offset, record_id = ref.file, ref.offset, ref.record_id
    path = folder / file
    with open(path, "rb") as fh:
        fh.seek(offset)
        for rec in ArchiveIterator(fh):
            if rec.rec_type != "response":
                break
            rid = rec.rec_headers.get_header("WARC-Record-ID")
            if rid != record_id:
                raise ValueError(f"{path} at {offset}: record {rid}, expected {record_id}")
            headers = {k.lower(): v for k, v in rec.http_headers.headers} if rec.http_headers else {}
            body = rec.content_stream().read()
            text, _ = decode(body, headers.get("content-type"))
            return ArchivedPage(rec.rec_headers.get_header("WARC-Target-URI"), rid,
                                rec.rec_headers.get_header("WARC-Payload-Digest"), headers, body, text)
    raise ValueError(f"{path} at {offset}: no response record {record_id}")
