"""Images: an article's lead and in-body pictures, mirrored into the tree and never hotlinked.

- `image_urls()`: the http(s) image URLs of an article, lead image first.
- `process_image()`: the bytes as downloaded → the bytes to publish. Pillow reads them only
  when the header's size is inside the pixel cap (a decompression bomb is refused unread).
  A JPEG that already fits (upright, at most `max_width` wide, colour or grey, at most
  `KEEP_BITS_PER_PIXEL`) is kept as the site made it, as static-site generators and archivers
  keep pictures: its metadata segments are cut out losslessly (`strip_jpeg_metadata()`, which
  also finds a truncated file: no end-of-image marker). Any other image is turned
  upright by its EXIF orientation, scaled down to `max_width` and re-encoded (JPEG; PNG when it
  has transparency), which also drops its metadata. Pure, so worker processes run it.
- `asset_path()`: where those bytes live in the tree, by their SHA-256 (`assets/ab/abcd….jpg`):
  an image shared by many pages is stored once, and a changed image never overwrites another.
- `rewrite_images()`: a body's `<img>` pointed at our copies; one we could not mirror becomes
  its alt text, visible, so the reader knows a picture was there.
- `beyond_cap()`, `cap_note()`: an article shows at most `images.max_per_article` pictures (a page of
  hundreds of noise pictures must not fill the repository); the rest are never downloaded, shown as their
  alt text, and a note says so.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

import lxml.html

from ..htmlfrag import inner_html

ASSETS = "assets"
ORIENTATION = 0x0112  # the EXIF tag
# a JPEG that fits is kept unless it is heavier than this (a photo at quality 90 or so is 2-3 bits per pixel;
# one saved at 95-100 is 4-8, and is re-encoded at images.quality to spare readers on slow lines)
KEEP_BITS_PER_PIXEL = 3.0


class ImageError(Exception):
    """An image that cannot be mirrored; the message is one line for the log and `status`."""


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    ext: str  # "jpg" or "png"
    width: int
    height: int


def image_urls(lead: str | None, body: str | lxml.html.HtmlElement) -> list[str]:
    """The http(s) images of an article: the lead image, then those of the body (as HTML or parsed), each once."""
    urls: list[str] = []
    if lead and lead.startswith(("http://", "https://")):
        urls.append(lead)
    if isinstance(body, str):
        body = lxml.html.fragment_fromstring(body, create_parent="div") if "<img" in body else None
    if body is not None:
        for src in body.xpath("//img/@src"):
            if src.startswith(("http://", "https://")) and src not in urls:
                urls.append(src)
    return urls


def beyond_cap(lead: str | None, body_html: str, cap: int) -> list[str]:
    """The images of an article past the first `cap` (in `image_urls()` order): those that are not mirrored.
    The body is parsed only when it may hold that many."""
    if body_html.count("<img") + (1 if lead else 0) <= cap:
        return []
    return image_urls(lead, body_html)[cap:]


def cap_note(n: int, cap: int) -> str:
    """The line under a body that shows `n` images past images.max_per_article as their alt text."""
    return (f"<p><em>另有 {n} 张图片未镜像（每篇最多 {cap} 张），请看原文 · {n} more images not mirrored "
            f"(at most {cap} per article): see the original</em></p>")


class UnusualJpeg(ValueError):
    """A well-formed JPEG of a kind that is not published as it is: it is decoded and re-encoded instead."""


# start-of-frame markers other than baseline (C0), extended (C1) and progressive (C2) Huffman-coded ones
_UNUSUAL_FRAMES = frozenset((0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))


def strip_jpeg_metadata(data: bytes) -> bytes:
    """A JPEG's bytes without its metadata: EXIF and XMP (APP1: camera, GPS position, software, dates),
    IPTC (APP13), comments and makers' segments are cut out, and whatever follows the end of the picture (a
    second picture or a gain map of multi-picture files, trailing junk) is dropped, and so is a JFIF extension
    (a thumbnail), and so is a thumbnail inside the JFIF header. Kept: the JFIF header, the ICC colour profile
    and the Adobe segment (colours), the tables and every scan, byte for byte, so the picture is the same.
    Raises ValueError when the marker structure is broken (a truncated file, no scan), and UnusualJpeg for a
    kind of JPEG browsers may not show (lossless, hierarchical or arithmetic-coded)."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("no JPEG start-of-image marker")
    out = [b"\xff\xd8"]
    i, n = 2, len(data)
    scans = 0
    while True:
        while i < n and data[i] != 0xFF:  # tolerate junk between segments, as decoders do
            i += 1
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            raise ValueError("the file ends before the end-of-image marker (truncated)")
        marker = data[i]
        i += 1
        if marker == 0xD9:  # end of image
            if not scans:
                raise ValueError("no picture data (the file has no scan)")
            out.append(b"\xff\xd9")
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # standalone markers
            out.append(bytes((0xFF, marker)))
            continue
        if i + 2 > n:
            raise ValueError("the file ends inside a segment header (truncated)")
        end = i + int.from_bytes(data[i:i + 2], "big")
        if end > n or end < i + 2:
            raise ValueError("a segment runs past the end of the file (truncated)")
        segment = data[i - 2:end]
        i = end
        if marker in _UNUSUAL_FRAMES:
            raise UnusualJpeg(f"a JPEG of frame type {marker - 0xC0} (lossless, hierarchical or arithmetic-coded)")
        if 0xE0 <= marker <= 0xEF or marker == 0xFE:  # APPn and COM: metadata, but for what the colours need
            if marker == 0xE0 and segment[4:9] == b"JFIF\x00" and len(segment) > 18:
                segment = b"\xff\xe0\x00\x10" + segment[4:16] + b"\x00\x00"  # no thumbnail in it
            elif not ((marker == 0xE0 and segment[4:9] == b"JFIF\x00") or (marker == 0xEE and segment[4:9] == b"Adobe")
                      or (marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00")):
                continue
        out.append(segment)
        if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker (FF 00 and RSTn are in it)
            scans += 1
            j = i
            while True:
                j = data.find(b"\xff", j)
                if j < 0 or j + 1 >= n:
                    raise ValueError("the file ends inside a scan (truncated)")
                if data[j + 1] == 0x00 or 0xD0 <= data[j + 1] <= 0xD7:
                    j += 2
                    continue
                break
            out.append(data[i:j])
            i = j


def process_image(data: bytes, *, max_width: int = 960, max_pixels: int = 40_000_000,
                  quality: int = 80, reencode: bool = False) -> ProcessedImage:
    """Check one downloaded image, and keep it (a JPEG that fits, metadata stripped) or orient, scale and
    re-encode it; `reencode` re-encodes every image. Raises ImageError."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size  # from the header: nothing is decoded yet
            if width <= 0 or height <= 0:
                raise ImageError(f"an image of {width}×{height} pixels")
            if width * height > max_pixels:
                raise ImageError(f"{width}×{height} pixels is over images.max_pixels ({max_pixels}): "
                                 "a decompression bomb, or raise the cap")
            orientation = img.getexif().get(ORIENTATION, 1)
            turned = orientation in (5, 6, 7, 8)  # shown on its side: width is height
            shown_w, shown_h = (height, width) if turned else (width, height)
            size = (max_width, max(1, round(shown_h * max_width / shown_w))) if shown_w > max_width else None
            if (not reencode and size is None and orientation == 1 and img.format == "JPEG"
                    and img.mode in ("RGB", "L") and len(data) * 8 <= KEEP_BITS_PER_PIXEL * width * height):
                try:
                    return _kept_jpeg(data, width, height)
                except UnusualJpeg:
                    pass  # decoded and re-encoded as a baseline JPEG below
            if size is not None and img.format == "JPEG":
                # a JPEG at least twice too wide is decoded at 1/2, 1/4 or 1/8 of its size (DCT scaling, far
                # cheaper than decoding every pixel), never below the size it is scaled to
                img.draft("RGB", (size[1], size[0]) if turned else size)
            img.load()
            if orientation != 1:
                img = ImageOps.exif_transpose(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"more pixels than Pillow will decode safely, over images.max_pixels ({max_pixels}): "
                         "a decompression bomb") from None
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"a broken image ({type(exc).__name__}: {str(exc)[:120]})") from None
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    mode = "RGBA" if has_alpha else "RGB"
    if img.mode != mode:
        img = img.convert(mode)
    if size is not None:
        img = img.resize(size, Image.LANCZOS, reducing_gap=3.0)
    out = io.BytesIO()
    if has_alpha:
        img.save(out, format="PNG", optimize=True)
        ext = "png"
    else:
        # baseline with optimised Huffman tables: progressive would save about 1% of the bytes and cost
        # three times the CPU (every scan is coded twice)
        img.save(out, format="JPEG", quality=quality, optimize=True)
        ext = "jpg"
    return ProcessedImage(out.getvalue(), ext, img.width, img.height)


def _kept_jpeg(data: bytes, width: int, height: int) -> ProcessedImage:
    """A JPEG published as the site made it, without its metadata. Pillow has read its headers (frame, tables);
    cutting the metadata walks every segment and scan to the end-of-image marker, which a truncated or cut
    file lacks. (Decoding the scans too would catch little more: a decoder shows corrupt scan data rather
    than refuse it, as browsers do.)"""
    return ProcessedImage(strip_jpeg_metadata(data), "jpg", width, height)


def asset_path(image: ProcessedImage) -> str:
    """The content-addressed path of an image in the tree."""
    digest = hashlib.sha256(image.data).hexdigest()
    return f"{ASSETS}/{digest[:2]}/{digest[:32]}.{image.ext}"


def rewrite_images(body_html: str, local: Callable[[str], str | None], link_missing: bool = True) -> str:
    """Point each `<img>` at our copy (`local(url)` gives the relative path, or None when we have none).

    An image without a copy is replaced by its alt text in brackets, linked to the original when
    `link_missing` (the link policy may forbid live links) and it is not inside a link already (a link in a
    link is invalid HTML, and Markdown renderers break it into literal brackets)."""
    if "<img" not in body_html:
        return body_html
    frag = lxml.html.fragment_fromstring(body_html, create_parent="div")
    for img in list(frag.iter("img")):
        src = img.get("src") or ""
        ours = local(src) if src else None
        if ours:
            img.set("src", ours)
            continue
        alt = " ".join((img.get("alt") or img.get("title") or "").split())
        label = f"[图片：{alt}]" if alt else "[图片]"
        inside_link = any(a.tag == "a" for a in img.iterancestors())  # a link holds no link (HTML, Markdown)
        if link_missing and src.startswith(("http://", "https://")) and not inside_link:
            holder = lxml.html.fragment_fromstring(f'<a href="{escape(src)}">{escape(label)}</a>')
        else:
            holder = lxml.html.fragment_fromstring(f"<em>{escape(label)}</em>")
        holder.tail = img.tail
        img.getparent().replace(img, holder)
    return inner_html(frag)
